// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title ModelRegistry
/// @notice AI models and the licensed works they were trained on. A platform commits each model's
/// training set as the root of an OpenZeppelin StandardMerkleTree over work ids (leaf =
/// keccak256(bytes.concat(keccak256(abi.encode(uint256 workId)))), sorted-pair hashing), and stores
/// the full list content-addressed (its CID is in the event), so anyone can prove a work is in the
/// set with a Merkle proof, or check that it is not by rebuilding the root from the list.
/// @dev A fine-tuned model names its base model and inherits its training set: membership is
/// checked against the model's own root and then up the chain of bases.
contract ModelRegistry is RelayedAccessControl {
    /// @notice Accounts (AI platforms) allowed to register models.
    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");

    /// @notice How deep a chain of fine-tunes may go, bounding membership checks.
    uint256 public constant MAX_LINEAGE = 16;

    /// @notice What a platform submits to register one model. `generative`: the model can generate
    /// assets (its training needs a work's `ai_generative_training` use; other models need
    /// `ai_training`, in the words of the CAWG training-and-data-mining assertion).
    struct ModelInput {
        string name;
        string version;
        bytes32 weightsHash;
        string metadataCid;
        bytes32 trainingRoot;
        uint32 trainingSetSize;
        string trainingSetCid;
        uint64 baseModelId;
        bool generative;
    }

    /// @dev Two words: platform (160) + baseModelId (64) + depth (8); and the training root.
    struct ModelRecord {
        address platform;
        uint64 baseModelId;
        uint8 depth;
        bytes32 trainingRoot;
    }

    /// @notice Number of models registered; model ids are 1..modelCount.
    uint64 public modelCount;

    mapping(uint256 modelId => ModelRecord) private _models;

    /// @notice A model was registered with everything needed to verify its training set.
    event ModelRegistered(uint64 indexed modelId, address indexed platform, uint64 indexed baseModelId, ModelInput model);

    /// @notice `platform` accepted the licence text `constraints` names (e.g. its CID): works whose
    /// uses are constrained by it count as allowed for the platform's models registered later.
    event ConstraintsAccepted(address indexed platform, bytes32 indexed constraintsHash, string constraints);

    error UnknownModel(uint64 modelId);
    error EmptyConstraints();
    error ConstraintsTooLong(uint256 length);
    error EmptyName();
    error ZeroWeightsHash();
    error EmptyTrainingSet();
    error LineageTooDeep(uint64 baseModelId);

    constructor(address admin, address forwarder) RelayedAccessControl(admin, forwarder) {}

    /// @notice Registers a model on behalf of the calling platform.
    /// @return modelId the new model's id.
    function registerModel(ModelInput calldata m) external returns (uint64 modelId) {
        address platform = _senderWithRole(PLATFORM_ROLE);
        if (bytes(m.name).length == 0) revert EmptyName();
        if (m.weightsHash == bytes32(0)) revert ZeroWeightsHash();
        if (m.trainingRoot == bytes32(0) || m.trainingSetSize == 0) revert EmptyTrainingSet();
        uint8 depth;
        if (m.baseModelId != 0) {
            ModelRecord storage base = _models[m.baseModelId];
            if (base.platform == address(0)) revert UnknownModel(m.baseModelId);
            if (base.depth + 1 >= MAX_LINEAGE) revert LineageTooDeep(m.baseModelId);
            depth = base.depth + 1;
        }
        modelId = ++modelCount;
        _models[modelId] = ModelRecord(platform, m.baseModelId, depth, m.trainingRoot);
        emit ModelRegistered(modelId, platform, m.baseModelId, m);
    }

    /// @notice Records the calling platform's acceptance of a constraints reference, the same
    /// string a work's terms name (at most 256 bytes, like WorkRegistry's).
    function acceptConstraints(string calldata constraints) external {
        address platform = _senderWithRole(PLATFORM_ROLE);
        uint256 len = bytes(constraints).length;
        if (len == 0) revert EmptyConstraints();
        if (len > 256) revert ConstraintsTooLong(len);
        emit ConstraintsAccepted(platform, keccak256(bytes(constraints)), constraints);
    }

    /// @notice The platform that registered `modelId` (address(0) if none).
    function platformOf(uint64 modelId) external view returns (address) {
        return _models[modelId].platform;
    }

    /// @notice The model's record: platform, base model, lineage depth, training root.
    function modelOf(uint64 modelId) external view returns (ModelRecord memory) {
        return _models[modelId];
    }

    /// @notice The training-set leaf of a work, as OpenZeppelin's StandardMerkleTree computes it.
    function leaf(uint64 workId) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(uint256(workId)))));
    }

    /// @notice Whether `proof` shows `workId` in the training set of `modelId` or of one of its bases.
    function isInTrainingSet(uint64 modelId, uint64 workId, bytes32[] calldata proof) external view returns (bool) {
        ModelRecord storage m = _models[modelId];
        if (m.platform == address(0)) revert UnknownModel(modelId);
        bytes32 computed = MerkleProof.processProofCalldata(proof, leaf(workId));
        for (uint64 id = modelId; id != 0; id = _models[id].baseModelId) {
            if (_models[id].trainingRoot == computed) return true;
        }
        return false;
    }

}
