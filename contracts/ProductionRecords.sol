// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title ProductionRecords
/// @notice Devices and apps that record how works are made, and the batches of their records.
/// A rights holder or platform enrols a device key (an artist's workstation, a render node, a
/// generation service) with a scope (which actions it may record) and an expiry; the device
/// signs EIP-712 production records by itself, the ledger checks each against its enrolment and
/// anchors them in batches here, one Merkle root per batch, so any record can later be proven
/// with its proof. A lost device is revoked in one call; what it recorded before stays valid.
/// @dev One storage word per device (owner, scope, expiry, revocation time) and one per batch;
/// records live off chain (their list under the CID each batch's event names). Enrolment needs
/// the device's own signature over its owner, scope and expiry (proof of possession: nobody can
/// enrol, or squat, a key they do not hold). Records and enrolments share this EIP-712 domain.
contract ProductionRecords is RelayedAccessControl, EIP712 {
    // ---------------------------------------------------------------- errors
    error ZeroDevice();
    error BadScope(uint16 scope);
    error AlreadyExpired(uint40 expiresAt);
    error DeviceTaken(address device, address owner);
    error NotDeviceSignature(address device, address signer);
    error UnknownDevice(address device);
    error NotDeviceOwner(address device, address caller);
    error AlreadyRevoked(address device, uint40 revokedAt);
    error ZeroRoot();
    error EmptyBatch();

    // ---------------------------------------------------------------- types
    /// @dev One word: owner (160) + scope (16) + expiresAt (40) + revokedAt (40).
    struct Device {
        address owner;
        uint16 scope;
        uint40 expiresAt;
        uint40 revokedAt;
    }

    // ---------------------------------------------------------------- events
    /// @notice `owner` enrolled `device` to record the actions in `scope` until `expiresAt`.
    event DeviceEnrolled(address indexed device, address indexed owner, uint16 scope, uint40 expiresAt, string label);

    /// @notice `owner` revoked `device`: records it signs from now on are refused.
    event DeviceRevoked(address indexed device, address indexed owner, uint40 revokedAt);

    /// @notice Batch `batchId` of `count` production records, listed at `recordsCid`, has `root`.
    event RecordsAnchored(uint64 indexed batchId, bytes32 indexed root, uint32 count, string recordsCid);

    // ---------------------------------------------------------------- constants
    /// @notice Accounts that may enrol devices: rights holders and platforms.
    bytes32 public constant ENROLLER_ROLE = keccak256("ENROLLER_ROLE");
    /// @notice Who anchors record batches: the ledger's operator (granted to the admin).
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    /// @notice Scope bits, one per action a record states.
    uint16 public constant ACTION_CREATE = 1;
    uint16 public constant ACTION_EDIT = 2;
    uint16 public constant ACTION_GENERATE = 4;
    uint16 public constant ACTION_IMPORT = 8;
    uint16 public constant ACTION_EXPORT = 16;
    uint16 public constant ALL_ACTIONS = 31;

    bytes32 public constant ENROLMENT_TYPEHASH = keccak256("DeviceEnrolment(address owner,uint16 scope,uint40 expiresAt)");

    // ---------------------------------------------------------------- storage
    mapping(address device => Device) private _devices;

    /// @notice Number of record batches anchored; batch ids are 1..batchCount.
    uint64 public batchCount;

    mapping(uint64 batchId => bytes32 root) private _roots;

    // ---------------------------------------------------------------- constructor
    constructor(address admin, address forwarder)
        RelayedAccessControl(admin, forwarder)
        EIP712("AI Rights Ledger Records", "1")
    {
        _grantRole(ANCHOR_ROLE, admin);
    }

    // ---------------------------------------------------------------- devices
    /// @notice Enrols `device` under the caller (or the forwarded signer).
    /// @param deviceSignature the device key's EIP-712 signature of DeviceEnrolment(owner, scope, expiresAt).
    function enrollDevice(address device, uint16 scope, uint40 expiresAt, string calldata label, bytes calldata deviceSignature)
        external
    {
        address owner = _senderWithRole(ENROLLER_ROLE);
        if (device == address(0)) revert ZeroDevice();
        if (scope == 0 || scope > ALL_ACTIONS) revert BadScope(scope);
        if (expiresAt <= block.timestamp) revert AlreadyExpired(expiresAt);
        address taken = _devices[device].owner;
        if (taken != address(0)) revert DeviceTaken(device, taken);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(ENROLMENT_TYPEHASH, owner, scope, expiresAt)));
        (address signer,,) = ECDSA.tryRecover(digest, deviceSignature);
        if (signer != device) revert NotDeviceSignature(device, signer);
        _devices[device] = Device(owner, scope, expiresAt, 0);
        emit DeviceEnrolled(device, owner, scope, expiresAt, label);
    }

    /// @notice The device's owner revokes it, at once and for good (enrol a new key instead).
    function revokeDevice(address device) external {
        Device storage d = _devices[device];
        if (d.owner == address(0)) revert UnknownDevice(device);
        if (d.owner != _msgSender()) revert NotDeviceOwner(device, _msgSender());
        if (d.revokedAt != 0) revert AlreadyRevoked(device, d.revokedAt);
        d.revokedAt = uint40(block.timestamp);
        emit DeviceRevoked(device, d.owner, d.revokedAt);
    }

    /// @notice A device's owner, scope, expiry and revocation time (all zero if never enrolled).
    function deviceOf(address device) external view returns (Device memory) {
        return _devices[device];
    }

    /// @notice Whether `device` may record `action` (a scope bit) at time `at`.
    function mayRecord(address device, uint16 action, uint40 at) external view returns (bool) {
        Device memory d = _devices[device];
        return d.owner != address(0) && d.scope & action == action && action != 0 && at < d.expiresAt
            && (d.revokedAt == 0 || at < d.revokedAt);
    }

    /// @notice The EIP-712 domain separator records and enrolments are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- batches
    /// @notice Anchors one batch of production records (their EIP-712 digests as leaves).
    function anchor(bytes32 root, uint32 count, string calldata recordsCid) external returns (uint64 batchId) {
        _senderWithRole(ANCHOR_ROLE);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        batchId = ++batchCount;
        _roots[batchId] = root;
        emit RecordsAnchored(batchId, root, count, recordsCid);
    }

    /// @notice The root of batch `batchId` (zero if there is no such batch).
    function rootOf(uint64 batchId) external view returns (bytes32) {
        return _roots[batchId];
    }

    /// @notice Whether the record with EIP-712 digest `recordHash` is in batch `batchId`.
    /// @dev Leaves are OpenZeppelin StandardMerkleTree leaves over `bytes32`.
    function contains(uint64 batchId, bytes32 recordHash, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _roots[batchId];
        return root != bytes32(0)
            && MerkleProof.verifyCalldata(proof, root, keccak256(bytes.concat(keccak256(abi.encode(recordHash)))));
    }
}
