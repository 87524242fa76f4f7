// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";
import {WorkRegistry} from "./WorkRegistry.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @title OutputRegistry
/// @notice Generated outputs and their attribution links (output -> works, with weights). The
/// links live only in events, which is what the ledger's backend (and anyone) rebuilds them from;
/// storage keeps one word per output so each output hash is registered once.
/// @dev Weights are basis points summing to exactly 10000, the unit of owner shares: finer than
/// any attribution method's precision, and a uint16 keeps calldata and logs small. Links are
/// sorted by work id, strictly ascending, so a work appears at most once per output. Every linked
/// work must be registered and, at the block the output is registered in, licensed for the link's
/// kind (training, or reference use); later revocations do not touch outputs already on record.
contract OutputRegistry is RelayedAccessControl {
    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    /// @notice Carries out upheld attribution disputes: corrects an output's links.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    uint16 public constant TOTAL_WEIGHT = 10_000;
    uint256 public constant MAX_LINKS = 64;
    uint8 private constant REFERENCE = 4; // WorkRegistry.USE_REFERENCE

    /// @notice How an output relies on a work. Training: the work is in the model's training set
    /// (provable with the set's Merkle proof; the ledger refuses a training link outside it).
    /// Reference: the work was an input of the generation (image-to-image, style reference,
    /// retrieval), which its terms must allow (WorkRegistry.USE_REFERENCE).
    enum LinkKind {
        Training,
        Reference
    }

    struct Link {
        uint64 workId;
        uint16 weightBps;
        LinkKind kind;
    }

    struct OutputInput {
        bytes32 outputHash;
        uint64 modelId;
        Link[] links;
    }

    WorkRegistry public immutable works;
    ModelRegistry public immutable models;

    /// @notice Number of outputs registered; output ids are 1..outputCount.
    uint64 public outputCount;

    mapping(bytes32 outputHash => uint64 outputId) private _ids;

    /// @notice An output was registered by its model's platform, with its attribution links.
    event OutputRegistered(uint64 indexed outputId, bytes32 indexed outputHash, uint64 indexed modelId, Link[] links);

    /// @notice An arbiter corrected an output's links, carrying out dispute `disputeId`. The
    /// links registered with the output stay on record; from this block on these replace them.
    event LinksCorrected(uint64 indexed outputId, bytes32 indexed outputHash, uint64 indexed disputeId, Link[] links);

    error EmptyBatch();
    error UnknownOutput(bytes32 outputHash);
    error UnknownWork(uint64 workId);
    error ZeroOutputHash(uint256 index);
    error OutputAlreadyRegistered(bytes32 outputHash, uint64 outputId);
    error UnknownModel(uint64 modelId);
    error NotModelPlatform(uint64 modelId, address caller);
    error BadLinkCount(uint256 index, uint256 count);
    error LinksNotSorted(uint256 index, uint256 link);
    error ZeroWeight(uint256 index, uint256 link);
    error WeightsDoNotSum(uint256 index, uint256 total);
    error WorkNotLicensed(uint256 index, uint64 workId, WorkRegistry.License license);
    error ReferenceNotAllowed(uint256 index, uint64 workId);

    constructor(address admin, address forwarder, WorkRegistry works_, ModelRegistry models_)
        RelayedAccessControl(admin, forwarder)
    {
        works = works_;
        models = models_;
    }

    /// @notice Registers a batch of outputs, all or nothing.
    /// @return firstId id of the first output; the batch has consecutive ids.
    function registerOutputs(OutputInput[] calldata outputs) external returns (uint64 firstId) {
        address platform = _senderWithRole(PLATFORM_ROLE);
        uint256 n = outputs.length;
        if (n == 0) revert EmptyBatch();
        uint64 id = outputCount;
        firstId = id + 1;
        uint64 checkedModel;
        for (uint256 i; i < n; ++i) {
            OutputInput calldata o = outputs[i];
            if (o.outputHash == bytes32(0)) revert ZeroOutputHash(i);
            uint64 existing = _ids[o.outputHash];
            if (existing != 0) revert OutputAlreadyRegistered(o.outputHash, existing);
            if (o.modelId != checkedModel) {
                address owner = models.platformOf(o.modelId);
                if (owner == address(0)) revert UnknownModel(o.modelId);
                if (owner != platform) revert NotModelPlatform(o.modelId, platform);
                checkedModel = o.modelId;
            }
            _checkLinks(i, o.links);
            unchecked {
                ++id;
            }
            _ids[o.outputHash] = id;
            emit OutputRegistered(id, o.outputHash, o.modelId, o.links);
        }
        outputCount = id;
    }

    /// @notice Replaces an output's links by the ones an upheld attribution dispute found.
    /// @dev Structure is checked as at registration (sorted, non-zero weights summing to 10000,
    /// at most MAX_LINKS), and every work must exist; licences are not: the arbiter found the
    /// output relies on the work, licensed for it or not, and the work's holders are owed their
    /// share either way. Like WorkRegistry.reassign, the role is trusted to name a dispute it
    /// upheld; the ledger sends this only after DisputeRegistry records the decision.
    function correctLinks(bytes32 outputHash, uint64 disputeId, Link[] calldata links) external {
        _senderWithRole(ARBITER_ROLE);
        uint64 id = _ids[outputHash];
        if (id == 0) revert UnknownOutput(outputHash);
        uint256 m = links.length;
        if (m == 0 || m > MAX_LINKS) revert BadLinkCount(0, m);
        uint256 total;
        uint64 previous;
        for (uint256 j; j < m; ++j) {
            Link calldata l = links[j];
            if (l.workId <= previous) revert LinksNotSorted(0, j);
            if (l.weightBps == 0) revert ZeroWeight(0, j);
            if (works.licenseOf(l.workId) == WorkRegistry.License.Unknown) revert UnknownWork(l.workId);
            total += l.weightBps;
            previous = l.workId;
        }
        if (total != TOTAL_WEIGHT) revert WeightsDoNotSum(0, total);
        emit LinksCorrected(id, outputHash, disputeId, links);
    }

    /// @notice The id of the output with this hash, or 0.
    function outputIdOf(bytes32 outputHash) external view returns (uint64) {
        return _ids[outputHash];
    }

    /// @dev An output may be registered without links: the platform cannot attribute it (a
    /// text-to-image generation with no reference), and the ledger pays its usage through its
    /// model's training-set split instead. With links, they must be well formed and sum to 10000.
    function _checkLinks(uint256 index, Link[] calldata links) private view {
        uint256 m = links.length;
        if (m == 0) return;
        if (m > MAX_LINKS) revert BadLinkCount(index, m);
        uint256 total;
        uint64 previous;
        for (uint256 j; j < m; ++j) {
            Link calldata l = links[j];
            if (l.workId <= previous) revert LinksNotSorted(index, j);
            if (l.weightBps == 0) revert ZeroWeight(index, j);
            if (l.kind == LinkKind.Training) {
                WorkRegistry.License license = works.licenseOf(l.workId);
                // Constrained: the ledger checks the platform's acceptance of the constraints (off
                // chain, like the training set's lineage); the chain refuses only what no one may do.
                if (license != WorkRegistry.License.Trainable && license != WorkRegistry.License.Constrained) {
                    revert WorkNotLicensed(index, l.workId, license);
                }
            } else if (!works.allows(l.workId, REFERENCE)) {
                revert ReferenceNotAllowed(index, l.workId);
            }
            total += l.weightBps;
            previous = l.workId;
        }
        if (total != TOTAL_WEIGHT) revert WeightsDoNotSum(index, total);
    }

}
