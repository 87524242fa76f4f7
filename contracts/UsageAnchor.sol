// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title UsageAnchor
/// @notice Platforms anchor the hash of every usage report the ledger accepts, one transaction per
/// report, so a platform cannot later deny what it reported: the ledger keeps the lines, the chain
/// keeps their hash, who anchored it and when.
contract UsageAnchor is RelayedAccessControl {
    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");

    /// @notice What a platform declares about one report; the lines themselves stay off chain.
    struct Report {
        string reportId;
        uint64 periodStart; // unix seconds, inclusive
        uint64 periodEnd; // unix seconds, inclusive
        string currency; // ISO 4217
        uint32 lineCount;
        uint256 totalRevenue; // minor units
    }

    /// @dev One word per anchored hash: who anchored it and when.
    struct AnchorRecord {
        address platform;
        uint64 anchoredAt;
    }

    mapping(bytes32 batchHash => AnchorRecord) private _anchors;

    /// @notice A usage report's hash was anchored by `platform`.
    event UsageAnchored(bytes32 indexed batchHash, address indexed platform, Report report);

    error ZeroHash();
    error BadPeriod(uint64 periodStart, uint64 periodEnd);
    error AlreadyAnchored(bytes32 batchHash, address platform);

    constructor(address admin, address forwarder) RelayedAccessControl(admin, forwarder) {}

    /// @notice Anchors the hash of a usage report on behalf of the calling platform.
    function anchor(bytes32 batchHash, Report calldata report) external {
        address platform = _senderWithRole(PLATFORM_ROLE);
        if (batchHash == bytes32(0)) revert ZeroHash();
        if (report.periodEnd < report.periodStart) revert BadPeriod(report.periodStart, report.periodEnd);
        AnchorRecord storage existing = _anchors[batchHash];
        if (existing.platform != address(0)) revert AlreadyAnchored(batchHash, existing.platform);
        _anchors[batchHash] = AnchorRecord(platform, uint64(block.timestamp));
        emit UsageAnchored(batchHash, platform, report);
    }

    /// @notice Who anchored `batchHash` and when (zero values if nobody did).
    function anchorOf(bytes32 batchHash) external view returns (AnchorRecord memory) {
        return _anchors[batchHash];
    }

}
