// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title PlatformTerms
/// @notice Each platform's share of the revenue it reports, by date: the first step of every
/// royalty split. On chain so that a holder or an auditor checking a statement needs nothing
/// from the ledger's operator to know which share applied. Entries are never changed: a new
/// share applies from a later date. `address(0)` holds the default share, for platforms without
/// an entry of their own in force; the constructor records the first default.
/// @dev The share in force for a report is the platform's own latest entry from on or before the
/// report's first day, else the default's; readers rebuild the history from the events.
contract PlatformTerms is RelayedAccessControl {
    bytes32 public constant TERMS_ROLE = keccak256("TERMS_ROLE");
    uint16 public constant TOTAL_BPS = 10_000;

    /// @dev shareBps + 1 (0: no entry), per platform and first day.
    mapping(address platform => mapping(uint64 effectiveFrom => uint256)) private _shares;

    /// @notice `platform` (address(0): the default) keeps `shareBps` of the revenue it reports for
    /// periods starting on or after `effectiveFrom` (unix seconds, a UTC day's start).
    event PlatformShareSet(address indexed platform, uint64 effectiveFrom, uint16 shareBps, address indexed setBy);

    error ShareTooLarge(uint16 shareBps);
    error NotADayStart(uint64 effectiveFrom);
    error ShareAlreadySet(address platform, uint64 effectiveFrom, uint16 shareBps);

    constructor(address admin, address forwarder, uint16 defaultShareBps) RelayedAccessControl(admin, forwarder) {
        _grantRole(TERMS_ROLE, admin);
        _set(address(0), 0, defaultShareBps, admin);
    }

    /// @notice Records a share from a date on; recording the same entry again changes nothing.
    function setShare(address platform, uint64 effectiveFrom, uint16 shareBps) external {
        address setter = _senderWithRole(TERMS_ROLE);
        uint256 existing = _shares[platform][effectiveFrom];
        if (existing != 0) {
            if (existing - 1 != shareBps) revert ShareAlreadySet(platform, effectiveFrom, uint16(existing - 1));
            return;
        }
        _set(platform, effectiveFrom, shareBps, setter);
    }

    /// @notice The share recorded for `platform` from exactly `effectiveFrom`, if any.
    function shareFrom(address platform, uint64 effectiveFrom) external view returns (bool set, uint16 shareBps) {
        uint256 v = _shares[platform][effectiveFrom];
        return (v != 0, v == 0 ? 0 : uint16(v - 1));
    }

    function _set(address platform, uint64 effectiveFrom, uint16 shareBps, address setter) private {
        if (shareBps > TOTAL_BPS) revert ShareTooLarge(shareBps);
        if (effectiveFrom % 1 days != 0) revert NotADayStart(effectiveFrom);
        _shares[platform][effectiveFrom] = uint256(shareBps) + 1;
        emit PlatformShareSet(platform, effectiveFrom, shareBps, setter);
    }
}
