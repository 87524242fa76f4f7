// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title EvidenceAnchor
/// @notice Anchors the ledger's own evidence (reliance reports, registration checks) in batches:
/// one Merkle root per batch, whatever its size, so "the ledger saw this when the file was
/// registered" can later be proven with the report, its proof and this contract alone.
/// @dev Leaves are OpenZeppelin StandardMerkleTree leaves over `bytes32` (the keccak256 of each
/// report's RFC 8785 canonical JSON): keccak256(bytes.concat(keccak256(abi.encode(hash)))).
/// One storage word per batch; the list of report hashes lives in the content store under the
/// CID the event names, so anyone can rebuild the tree.
contract EvidenceAnchor is RelayedAccessControl {
    // ---------------------------------------------------------------- errors
    /// @notice A batch needs a non-zero root.
    error ZeroRoot();
    /// @notice A batch holds at least one report.
    error EmptyBatch();

    // ---------------------------------------------------------------- events
    /// @notice Batch `batchId` of `count` reports, listed in the document at `reportsCid`, has `root`.
    event EvidenceAnchored(uint64 indexed batchId, bytes32 indexed root, uint32 count, string reportsCid);

    // ---------------------------------------------------------------- constants
    /// @notice Who may anchor: the ledger's operator (granted to the admin at deployment).
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    // ---------------------------------------------------------------- storage
    /// @notice Number of batches anchored; batch ids are 1..batchCount.
    uint64 public batchCount;

    mapping(uint64 batchId => bytes32 root) private _roots;

    // ---------------------------------------------------------------- constructor
    constructor(address admin, address forwarder) RelayedAccessControl(admin, forwarder) {
        _grantRole(ANCHOR_ROLE, admin);
    }

    // ---------------------------------------------------------------- external
    /// @notice Anchors one batch of evidence reports.
    /// @return batchId the new batch's id.
    function anchor(bytes32 root, uint32 count, string calldata reportsCid) external returns (uint64 batchId) {
        _senderWithRole(ANCHOR_ROLE);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        batchId = ++batchCount;
        _roots[batchId] = root;
        emit EvidenceAnchored(batchId, root, count, reportsCid);
    }

    /// @notice The root of batch `batchId` (zero if there is no such batch).
    function rootOf(uint64 batchId) external view returns (bytes32) {
        return _roots[batchId];
    }

    /// @notice Whether the report with keccak256 `reportHash` is in batch `batchId`.
    function contains(uint64 batchId, bytes32 reportHash, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _roots[batchId];
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leaf(reportHash));
    }

    // ---------------------------------------------------------------- internal
    function _leaf(bytes32 reportHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(reportHash))));
    }
}
