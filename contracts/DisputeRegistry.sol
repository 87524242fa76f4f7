// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";

interface IWorkExists {
    function licenseOf(uint64 workId) external view returns (uint8);
}

interface IOutputExists {
    function outputIdOf(bytes32 outputHash) external view returns (uint64);
}

/// @title DisputeRegistry
/// @notice Holders contest a work's registration (someone registered my file) or an output's
/// attribution (this output relies on my work and does not say so); an arbiter resolves each
/// dispute, upheld or rejected. Every step is an event, so statements can escrow what a dispute
/// puts in question while it is open, and anyone can replay who was paid what and why.
/// @dev One storage word per dispute (claimant, kind, state, opened and resolved times); what
/// the dispute is about and its evidence live in events. Corrections an upheld dispute leads to
/// are made by the registries' own arbiter functions (e.g. WorkRegistry.reassign), naming the
/// dispute, so past records never change.
contract DisputeRegistry is RelayedAccessControl {
    // ---------------------------------------------------------------- errors
    error UnknownWork(uint64 workId);
    error UnknownOutput(bytes32 outputHash);
    error SameWork(uint64 workId);
    error UnknownDispute(uint64 disputeId);
    error NotOpen(uint64 disputeId, State state);
    error NotClaimant(uint64 disputeId, address caller);

    // ---------------------------------------------------------------- types
    /// @notice Registration: the claimant says `workId` is its own work registered by someone
    /// else. Attribution: the claimant says output `outputHash` relies on its work `claimedWorkId`.
    enum Kind {
        Registration,
        Attribution
    }

    enum State {
        None,
        Open,
        Upheld,
        Rejected,
        Withdrawn
    }

    /// @dev One word: claimant (160) + kind (8) + state (8) + openedAt (40) + closedAt (40).
    struct Dispute {
        address claimant;
        Kind kind;
        State state;
        uint40 openedAt;
        uint40 closedAt;
    }

    // ---------------------------------------------------------------- events
    /// @notice A dispute was opened; `evidenceCid` names the claimant's evidence document.
    event DisputeOpened(
        uint64 indexed disputeId,
        Kind indexed kind,
        address indexed claimant,
        uint64 workId,
        bytes32 outputHash,
        uint64 claimedWorkId,
        string evidenceCid
    );

    /// @notice The arbiter upheld or rejected a dispute; `reasonCid` names the decision's reasons.
    event DisputeResolved(uint64 indexed disputeId, bool upheld, address arbiter, string reasonCid);

    /// @notice The claimant withdrew its dispute before a decision.
    event DisputeWithdrawn(uint64 indexed disputeId);

    // ---------------------------------------------------------------- constants
    bytes32 public constant CLAIMANT_ROLE = keccak256("CLAIMANT_ROLE");
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    // ---------------------------------------------------------------- storage
    IWorkExists public immutable works;
    IOutputExists public immutable outputs;

    /// @notice Number of disputes opened; ids are 1..disputeCount.
    uint64 public disputeCount;

    mapping(uint64 disputeId => Dispute) private _disputes;

    // ---------------------------------------------------------------- constructor
    constructor(address admin, address forwarder, IWorkExists works_, IOutputExists outputs_)
        RelayedAccessControl(admin, forwarder)
    {
        works = works_;
        outputs = outputs_;
    }

    // ---------------------------------------------------------------- external
    /// @notice Opens a dispute as the caller (or the forwarded signer).
    /// @param workId Registration: the contested work. Attribution: 0.
    /// @param outputHash Attribution: the contested output. Registration: zero.
    /// @param claimedWorkId the claimant's own registered work the dispute is about (0 if it has none
    /// registered: a squatter may hold the only registration of the file).
    function openDispute(Kind kind, uint64 workId, bytes32 outputHash, uint64 claimedWorkId, string calldata evidenceCid)
        external
        returns (uint64 disputeId)
    {
        address claimant = _senderWithRole(CLAIMANT_ROLE);
        if (kind == Kind.Registration) {
            if (works.licenseOf(workId) == 0) revert UnknownWork(workId);
            if (outputHash != bytes32(0)) revert UnknownOutput(outputHash);
            if (claimedWorkId == workId) revert SameWork(workId);
        } else {
            if (outputs.outputIdOf(outputHash) == 0) revert UnknownOutput(outputHash);
            if (workId != 0) revert UnknownWork(workId);
            if (works.licenseOf(claimedWorkId) == 0) revert UnknownWork(claimedWorkId);
        }
        if (claimedWorkId != 0 && works.licenseOf(claimedWorkId) == 0) revert UnknownWork(claimedWorkId);
        disputeId = ++disputeCount;
        _disputes[disputeId] = Dispute(claimant, kind, State.Open, uint40(block.timestamp), 0);
        emit DisputeOpened(disputeId, kind, claimant, workId, outputHash, claimedWorkId, evidenceCid);
    }

    /// @notice The arbiter decides an open dispute.
    function resolve(uint64 disputeId, bool upheld, string calldata reasonCid) external {
        address arbiter = _senderWithRole(ARBITER_ROLE);
        Dispute storage d = _open(disputeId);
        d.state = upheld ? State.Upheld : State.Rejected;
        d.closedAt = uint40(block.timestamp);
        emit DisputeResolved(disputeId, upheld, arbiter, reasonCid);
    }

    /// @notice The claimant withdraws its open dispute.
    function withdraw(uint64 disputeId) external {
        Dispute storage d = _open(disputeId);
        if (d.claimant != _msgSender()) revert NotClaimant(disputeId, _msgSender());
        d.state = State.Withdrawn;
        d.closedAt = uint40(block.timestamp);
        emit DisputeWithdrawn(disputeId);
    }

    /// @notice A dispute's claimant, kind, state and times.
    function disputeOf(uint64 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    // ---------------------------------------------------------------- internal
    function _open(uint64 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.state == State.None) revert UnknownDispute(disputeId);
        if (d.state != State.Open) revert NotOpen(disputeId, d.state);
    }
}
