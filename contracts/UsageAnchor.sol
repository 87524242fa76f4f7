// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

/// @title UsageAnchor
/// @notice Platforms anchor the hash of every usage report the ledger accepts, one transaction per
/// report, so a platform cannot later deny what it reported: the ledger keeps the lines, the chain
/// keeps their hash, who anchored it and when.
contract UsageAnchor is AccessControl, ERC2771Context {
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

    error MissingRole(address account, bytes32 role);
    error ZeroHash();
    error BadPeriod(uint64 periodStart, uint64 periodEnd);
    error AlreadyAnchored(bytes32 batchHash, address platform);

    constructor(address admin, address forwarder) ERC2771Context(forwarder) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Anchors the hash of a usage report on behalf of the calling platform.
    function anchor(bytes32 batchHash, Report calldata report) external {
        address platform = _msgSender();
        if (!hasRole(PLATFORM_ROLE, platform)) revert MissingRole(platform, PLATFORM_ROLE);
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

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
