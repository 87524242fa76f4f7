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
    uint256 private constant ALLOWED = 1; // WorkRegistry.ALLOWED
    uint256 private constant CONSTRAINED = 2; // WorkRegistry.CONSTRAINED
    uint256 private constant NIBBLE_TRAINING = 3; // WorkRegistry.NIBBLE_*
    uint256 private constant NIBBLE_REFERENCE = 4;
    uint256 private constant NIBBLE_EXPIRES = 8;
    uint256 private constant CACHE_WORDS = 32; // licence words a batch keeps (LicenseCache)

    /// @notice How an output relies on a work. Training: the work is in the model's training set
    /// (provable with the set's Merkle proof; the ledger refuses a training link outside it).
    /// Reference: the work was an input of the generation (image-to-image, style reference,
    /// retrieval), which its terms must allow (WorkRegistry.USE_REFERENCE).
    enum LinkKind {
        Training,
        Reference
    }

    /// @notice An attribution link is one word: `workId << 24 | weightBps << 8 | kind` (bits 88
    /// and up zero). One word instead of a three-word struct keeps a link's calldata, its event
    /// data and the forwarder's copy of the request a third of the size: in batches of a thousand
    /// outputs those, not the checks, are most of a link's gas. `linkOf` and `unpackLink` convert.
    struct OutputInput {
        bytes32 outputHash;
        uint64 modelId;
        uint256[] links;
    }

    WorkRegistry public immutable works;
    ModelRegistry public immutable models;

    /// @notice Number of outputs registered; output ids are 1..outputCount.
    uint64 public outputCount;

    mapping(bytes32 outputHash => uint64 outputId) private _ids;

    /// @notice An output was registered by its model's platform, with its attribution links.
    event OutputRegistered(uint64 indexed outputId, bytes32 indexed outputHash, uint64 indexed modelId, uint256[] links);

    /// @notice An arbiter corrected an output's links, carrying out dispute `disputeId`. The
    /// links registered with the output stay on record; from this block on these replace them.
    event LinksCorrected(uint64 indexed outputId, bytes32 indexed outputHash, uint64 indexed disputeId, uint256[] links);

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
    /// @notice Link `link` of output `index` has bits above its fields, or an unknown kind.
    error BadLink(uint256 index, uint256 link);

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
        LicenseCache memory cache;
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
            _checkLinks(i, o.links, cache);
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
    function correctLinks(bytes32 outputHash, uint64 disputeId, uint256[] calldata links) external {
        _senderWithRole(ARBITER_ROLE);
        uint64 id = _ids[outputHash];
        if (id == 0) revert UnknownOutput(outputHash);
        uint256 m = links.length;
        if (m == 0 || m > MAX_LINKS) revert BadLinkCount(0, m);
        uint256 total;
        uint64 previous;
        for (uint256 j; j < m; ++j) {
            (uint64 workId, uint16 weightBps,) = _unpack(0, links[j]);
            if (workId <= previous) revert LinksNotSorted(0, j);
            if (weightBps == 0) revert ZeroWeight(0, j);
            if (works.licenseOf(workId) == WorkRegistry.License.Unknown) revert UnknownWork(workId);
            total += weightBps;
            previous = workId;
        }
        if (total != TOTAL_WEIGHT) revert WeightsDoNotSum(0, total);
        emit LinksCorrected(id, outputHash, disputeId, links);
    }

    /// @notice The word of a link (for callers building a batch, and tests).
    function linkOf(uint64 workId, uint16 weightBps, LinkKind kind) external pure returns (uint256) {
        return uint256(workId) << 24 | uint256(weightBps) << 8 | uint256(kind);
    }

    /// @notice The fields of a link's word; reverts on a malformed one.
    function unpackLink(uint256 link) external pure returns (uint64 workId, uint16 weightBps, LinkKind kind) {
        return _unpack(0, link);
    }

    /// @notice The id of the output with this hash, or 0.
    function outputIdOf(bytes32 outputHash) external view returns (uint64) {
        return _ids[outputHash];
    }

    /// @dev Licence words (WorkRegistry.licenseBits) a batch has read, kept across its outputs in a
    /// direct-mapped table of CACHE_WORDS entries (word index + 1, so 0 is empty): a batch reads
    /// each word once, whether its links name works in order or hop among a few thousand.
    struct LicenseCache {
        uint256[CACHE_WORDS] tags;
        uint256[CACHE_WORDS] bits;
    }

    /// @dev An output may be registered without links: the platform cannot attribute it (a
    /// text-to-image generation with no reference), and the ledger pays its usage through its
    /// model's training-set split instead. With links, they must be well formed and sum to 10000.
    function _checkLinks(uint256 index, uint256[] calldata links, LicenseCache memory cache) private view {
        uint256 m = links.length;
        if (m == 0) return;
        if (m > MAX_LINKS) revert BadLinkCount(index, m);
        uint256 total;
        uint64 previous;
        for (uint256 j; j < m; ++j) {
            (uint64 workId, uint16 weightBps, LinkKind kind) = _unpack(index, links[j]);
            if (workId <= previous) revert LinksNotSorted(index, j);
            if (weightBps == 0) revert ZeroWeight(index, j);
            _checkLicense(index, workId, kind, _nibble(workId, cache));
            total += weightBps;
            previous = workId;
        }
        if (total != TOTAL_WEIGHT) revert WeightsDoNotSum(index, total);
    }

    function _unpack(uint256 index, uint256 link) private pure returns (uint64 workId, uint16 weightBps, LinkKind kind) {
        if (link >> 88 != 0 || uint8(link) > uint8(LinkKind.Reference)) revert BadLink(index, link);
        return (uint64(link >> 24), uint16(link >> 8), LinkKind(uint8(link)));
    }

    /// @dev The work's licence nibble, from the cached word when the work is in it.
    function _nibble(uint64 workId, LicenseCache memory cache) private view returns (uint256) {
        uint256 word = uint256(workId) >> 6;
        uint256 slot = word % CACHE_WORDS;
        uint256 bits;
        if (cache.tags[slot] == word + 1) {
            bits = cache.bits[slot];
        } else {
            bits = works.licenseBits(word);
            cache.tags[slot] = word + 1;
            cache.bits[slot] = bits;
        }
        return (bits >> ((uint256(workId) & 63) << 2)) & 15;
    }

    /// @dev A work whose licence expires is checked against the clock by the registry itself; any
    /// other is decided by its nibble alone. A refusal asks the registry why, for its error.
    function _checkLicense(uint256 index, uint64 workId, LinkKind kind, uint256 nibble) private view {
        if (nibble & NIBBLE_EXPIRES != 0) {
            if (kind == LinkKind.Training) {
                WorkRegistry.License license = works.licenseOf(workId);
                // Constrained: the ledger checks the platform's acceptance of the constraints (off
                // chain, like the training set's lineage); the chain refuses only what no one may do.
                if (license != WorkRegistry.License.Trainable && license != WorkRegistry.License.Constrained) {
                    revert WorkNotLicensed(index, workId, license);
                }
            } else if (!works.referenceAllowed(workId)) {
                revert ReferenceNotAllowed(index, workId);
            }
        } else if (kind == LinkKind.Training) {
            uint256 training = nibble & NIBBLE_TRAINING;
            if (training != ALLOWED && training != CONSTRAINED) revert WorkNotLicensed(index, workId, works.licenseOf(workId));
        } else if (nibble & NIBBLE_REFERENCE == 0) {
            revert ReferenceNotAllowed(index, workId);
        }
    }

}
