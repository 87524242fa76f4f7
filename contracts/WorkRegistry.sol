// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title WorkRegistry
/// @notice The on-chain record of licensed works: content hash, metadata CID, license terms, and
/// co-owners with their shares and payout addresses. It is the source of truth the ledger's
/// backend projects into SQL from events alone.
/// @dev Storage is kept to three words per work (and a nibble of a shared word: its licence for
/// outputs' links) whatever the number of co-owners (an anime title
/// may have hundreds): the owner list lives in events and only its hash is stored, the way 0xSplits
/// stores splits. Calls that change owners take the current list as input and check it against
/// the stored hash. Owner lists are sorted by account, strictly ascending, which makes them
/// duplicate-free and their hash canonical.
///
/// Holders act either from their own account or through the trusted ERC-2771 forwarder
/// (LedgerForwarder): the holder signs an EIP-712 ForwardRequest, the ledger's operator relays it
/// and pays the gas, and `_msgSender()` is the holder. Every rule below applies to that sender.
contract WorkRegistry is RelayedAccessControl {
    /// @notice Accounts allowed to register works (granted by the operator when onboarding a holder).
    bytes32 public constant RIGHTS_HOLDER_ROLE = keccak256("RIGHTS_HOLDER_ROLE");

    /// @notice Accounts that decide disputes (DisputeRegistry) and carry out upheld ones here.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    /// @notice Shares and royalty rates are in basis points; owner shares sum to exactly this.
    uint16 public constant TOTAL_BPS = 10_000;

    /// @notice Upper bound on co-owners per work, so a transfer's cost stays bounded.
    uint256 public constant MAX_OWNERS = 512;

    /// @notice Terms format of this registry: 2 = each use has a state of its own (below). Format 1
    /// had one bit per use; the ledger reads both from events and refuses to write to format 1.
    uint8 public constant TERMS_FORMAT = 2;

    /// @notice The uses a work's terms decide, in the words of the CAWG training-and-data-mining
    /// assertion (`cawg.training-mining`), plus this ledger's own: each use is a 2-bit slot of the
    /// terms word (`uses`), at bit 2 * slot.
    /// @dev USE_REFERENCE: a generation may take the work as an input (image-to-image, style
    /// reference, retrieval) and the output pays it. USE_CREATOR_FINETUNE: additional training on a
    /// small set meant to reproduce this creator's expression (Japan's Agency for Cultural Affairs,
    /// General Understanding on AI and Copyright, 2024), which needs the holder's explicit allowance.
    uint8 public constant USE_DATA_MINING = 0;
    uint8 public constant USE_AI_INFERENCE = 1;
    uint8 public constant USE_AI_GENERATIVE_TRAINING = 2;
    uint8 public constant USE_AI_TRAINING = 3;
    uint8 public constant USE_REFERENCE = 4;
    uint8 public constant USE_CREATOR_FINETUNE = 5;
    uint8 public constant USE_COUNT = 6;

    /// @notice A use's state in its slot. Absent consent is no consent: 0 is notAllowed.
    /// Constrained: allowed under the licence text the terms' `constraints` names (CAWG treats it
    /// as notAllowed for anyone who has not accepted that text).
    uint8 public constant NOT_ALLOWED = 0;
    uint8 public constant ALLOWED = 1;
    uint8 public constant CONSTRAINED = 2;

    /// @notice Longest constraints reference (a CID or URL of the licence text), in bytes.
    uint256 public constant MAX_CONSTRAINTS_LENGTH = 256;

    /// @notice License terms of a work.
    /// @param uses the state of each use, 2 bits per USE_* slot (NOT_ALLOWED, ALLOWED, CONSTRAINED).
    /// @param royaltyBps share of attributed revenue the work claims, in basis points.
    /// @param expiresAt unix time the license ends; 0 means "until revoked".
    /// @param constraints what constrained uses are constrained by (e.g. the CID of a licence
    /// text): required when a use is constrained, empty otherwise. Kept in events only.
    struct Terms {
        uint16 uses;
        uint16 royaltyBps;
        uint40 expiresAt;
        string constraints;
    }

    /// @notice One co-owner of a work.
    struct Owner {
        address account;
        address payout;
        uint16 shareBps;
    }

    /// @notice What a holder submits to register one work.
    struct WorkInput {
        bytes32 contentHash;
        string metadataCid;
        Terms terms;
        Owner[] owners;
    }

    /// @dev One storage word: manager (160) + expiresAt (40) + royaltyBps (16) + uses (16) + termsVersion (24).
    struct WorkRecord {
        address manager;
        uint40 expiresAt;
        uint16 royaltyBps;
        uint16 uses;
        uint24 termsVersion;
    }

    /// @notice Number of works registered; work ids are 1..workCount.
    uint64 public workCount;

    /// @notice Bits of a work's nibble in `licenseBits`: its generative-training state (2 bits,
    /// NOT_ALLOWED, ALLOWED or CONSTRAINED), whether reference use is ALLOWED, and whether the
    /// licence has an expiry (then the nibble says what holds until it: read `licenseOf`).
    uint256 public constant NIBBLE_TRAINING = 3;
    uint256 public constant NIBBLE_REFERENCE = 4;
    uint256 public constant NIBBLE_EXPIRES = 8;

    mapping(uint256 workId => WorkRecord) private _works;
    /// @dev The nibbles of works 64 * index .. 64 * index + 63: what an output's links need, 64
    /// works to a word, so a batch of links reads a word per 64 works instead of one per work.
    mapping(uint256 index => uint256) private _licenseBits;
    mapping(uint256 workId => bytes32) private _ownersHash;
    mapping(bytes32 contentHash => uint64 workId) private _workIdByContent;

    // ----------------------------------------------------------------------------------------------
    // Events: each carries everything an indexer needs to rebuild state without view calls.
    // ----------------------------------------------------------------------------------------------

    /// @notice A work was registered. `terms` is terms version 1.
    event WorkRegistered(
        uint64 indexed workId,
        bytes32 indexed contentHash,
        address indexed manager,
        string metadataCid,
        Terms terms,
        Owner[] owners,
        bytes32 ownersHash
    );

    /// @notice The work's terms changed from this block on; earlier versions stay in the event log.
    event TermsUpdated(uint64 indexed workId, uint24 indexed termsVersion, Terms terms);

    /// @notice An owner changed the address that receives its payouts.
    event PayoutChanged(uint64 indexed workId, address indexed account, address payout, bytes32 ownersHash);

    /// @notice `from` moved `shareBps` of the work to `to` (created with payout `toPayout` if new).
    event ShareTransferred(
        uint64 indexed workId,
        address indexed from,
        address indexed to,
        uint16 shareBps,
        address toPayout,
        bytes32 ownersHash
    );

    /// @notice The account allowed to change the work's terms changed.
    event ManagerChanged(uint64 indexed workId, address indexed previousManager, address indexed newManager);

    /// @notice Owner `account` recorded its own position on each use of the work (same encoding as
    /// the terms word). Positions do not change the terms: the manager's terms govern, and a use
    /// the terms allow against an owner's position is shown as that owner's dissent.
    event PositionRecorded(uint64 indexed workId, address indexed account, uint16 positions);

    /// @notice An arbiter, carrying out upheld dispute `disputeId`, gave the work a new manager
    /// and owner list from this block on (what was paid before stands; a dispute's escrow settles
    /// what it held).
    event WorkReassigned(
        uint64 indexed workId,
        uint64 indexed disputeId,
        address indexed newManager,
        address previousManager,
        Owner[] owners,
        bytes32 ownersHash
    );

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    error EmptyBatch();
    error ZeroContentHash(uint256 index);
    error EmptyMetadataCid(uint256 index);
    error WorkAlreadyRegistered(bytes32 contentHash, uint64 workId);
    error UnknownWork(uint64 workId);
    error NoOwners();
    error TooManyOwners(uint256 count);
    error OwnersNotSorted(uint256 index);
    error ZeroAddress();
    error ZeroShare(uint256 index);
    error SharesDoNotSum(uint256 total);
    error RoyaltyTooHigh(uint16 royaltyBps);
    error ExpiryInPast(uint40 expiresAt);
    error UnknownUses(uint16 uses);
    error ConstraintsRequired(uint16 uses);
    error UnexpectedConstraints(uint16 uses);
    error ConstraintsTooLong(uint256 length);
    error NotManager(uint64 workId, address caller);
    error NotOwner(uint64 workId, address caller);
    error OwnersMismatch(uint64 workId);
    error ShareTooLarge(uint16 requested, uint16 held);
    error SelfTransfer();

    /// @param admin receives DEFAULT_ADMIN_ROLE and grants RIGHTS_HOLDER_ROLE to holders.
    /// @param forwarder the ERC-2771 forwarder trusted to relay holders' signed requests.
    constructor(address admin, address forwarder) RelayedAccessControl(admin, forwarder) {
        if (admin == address(0)) revert ZeroAddress();
    }

    // ----------------------------------------------------------------------------------------------
    // Registration
    // ----------------------------------------------------------------------------------------------

    /// @notice Registers a batch of works with the caller (or the forwarded signer) as their manager.
    /// @return firstId id of the first work; the batch has ids firstId..firstId+works.length-1.
    function registerWorks(WorkInput[] calldata works) external returns (uint64 firstId) {
        address manager = _senderWithRole(RIGHTS_HOLDER_ROLE);
        uint256 n = works.length;
        if (n == 0) revert EmptyBatch();
        uint64 id = workCount;
        firstId = id + 1;
        // The batch's nibbles are gathered a word at a time and each word written once.
        uint256 index = uint256(firstId) >> 6;
        uint256 bits = _licenseBits[index];
        for (uint256 i; i < n; ++i) {
            WorkInput calldata w = works[i];
            if (w.contentHash == bytes32(0)) revert ZeroContentHash(i);
            if (bytes(w.metadataCid).length == 0) revert EmptyMetadataCid(i);
            uint64 existing = _workIdByContent[w.contentHash];
            if (existing != 0) revert WorkAlreadyRegistered(w.contentHash, existing);
            _checkTerms(w.terms);
            bytes32 ownersHash = _checkOwners(w.owners);
            unchecked {
                ++id;
            }
            _workIdByContent[w.contentHash] = id;
            _works[id] = WorkRecord({
                manager: manager,
                expiresAt: w.terms.expiresAt,
                royaltyBps: w.terms.royaltyBps,
                uses: w.terms.uses,
                termsVersion: 1
            });
            _ownersHash[id] = ownersHash;
            if (uint256(id) >> 6 != index) {
                _licenseBits[index] = bits;
                index = uint256(id) >> 6;
                bits = 0; // a word past the last work is still empty
            }
            bits = _withNibble(bits, id, w.terms.uses, w.terms.expiresAt);
            emit WorkRegistered(id, w.contentHash, manager, w.metadataCid, w.terms, w.owners, ownersHash);
        }
        _licenseBits[index] = bits;
        workCount = id;
    }

    // ----------------------------------------------------------------------------------------------
    // Changes after registration
    // ----------------------------------------------------------------------------------------------

    /// @notice Replaces the work's terms from now on. Past terms stay on record in the event log and
    /// keep governing what was registered under them (revocation is not retroactive).
    function updateTerms(uint64 workId, Terms calldata terms) external {
        WorkRecord storage rec = _existing(workId);
        if (rec.manager != _msgSender()) revert NotManager(workId, _msgSender());
        _checkTerms(terms);
        uint24 version = rec.termsVersion + 1;
        rec.uses = terms.uses;
        rec.royaltyBps = terms.royaltyBps;
        rec.expiresAt = terms.expiresAt;
        rec.termsVersion = version;
        uint256 index = uint256(workId) >> 6;
        _licenseBits[index] = _withNibble(_licenseBits[index], workId, terms.uses, terms.expiresAt);
        emit TermsUpdated(workId, version, terms);
    }

    /// @notice Gives the work to its rightful holder after dispute `disputeId` was upheld: a new
    /// manager and owner list (sorted, shares summing to TOTAL_BPS), from now on.
    function reassign(uint64 workId, uint64 disputeId, address newManager, Owner[] calldata owners) external {
        _senderWithRole(ARBITER_ROLE);
        WorkRecord storage rec = _existing(workId);
        if (newManager == address(0)) revert ZeroAddress();
        bytes32 h = _checkOwners(owners);
        address previous = rec.manager;
        rec.manager = newManager;
        _ownersHash[workId] = h;
        emit WorkReassigned(workId, disputeId, newManager, previous, owners, h);
    }

    /// @notice Hands the right to change terms to another account.
    function transferManagement(uint64 workId, address newManager) external {
        WorkRecord storage rec = _existing(workId);
        address previous = rec.manager;
        if (previous != _msgSender()) revert NotManager(workId, _msgSender());
        if (newManager == address(0)) revert ZeroAddress();
        rec.manager = newManager;
        emit ManagerChanged(workId, previous, newManager);
    }

    /// @notice The caller, an owner of the work, changes where its payouts go.
    /// @param owners the work's current owner list (as last emitted), checked against the stored hash.
    /// @param index position of the caller in `owners`.
    function setPayout(uint64 workId, Owner[] calldata owners, uint256 index, address payout) external {
        _existing(workId);
        _checkCurrentOwners(workId, owners);
        if (index >= owners.length || owners[index].account != _msgSender()) revert NotOwner(workId, _msgSender());
        if (payout == address(0)) revert ZeroAddress();
        Owner[] memory next = owners;
        next[index].payout = payout;
        bytes32 h = keccak256(abi.encode(next));
        _ownersHash[workId] = h;
        emit PayoutChanged(workId, _msgSender(), payout, h);
    }

    /// @notice The caller, an owner of the work, records its position on each use (2 bits per
    /// USE_* slot). Only the last position counts; the terms are not changed by it.
    /// @param owners the work's current owner list, checked against the stored hash.
    /// @param index position of the caller in `owners`.
    function recordPosition(uint64 workId, Owner[] calldata owners, uint256 index, uint16 positions) external {
        _existing(workId);
        _checkCurrentOwners(workId, owners);
        if (index >= owners.length || owners[index].account != _msgSender()) revert NotOwner(workId, _msgSender());
        _checkUses(positions);
        emit PositionRecorded(workId, _msgSender(), positions);
    }

    /// @notice The caller moves `shareBps` of its share to `to`. If `to` is not yet an owner it is
    /// inserted (keeping the list sorted) with payout `toPayout`; otherwise `toPayout` is ignored.
    /// An owner whose share drops to zero leaves the list.
    /// @param owners the work's current owner list, checked against the stored hash.
    /// @param index position of the caller in `owners`.
    function transferShare(
        uint64 workId,
        Owner[] calldata owners,
        uint256 index,
        address to,
        address toPayout,
        uint16 shareBps
    ) external {
        _existing(workId);
        _checkCurrentOwners(workId, owners);
        if (index >= owners.length || owners[index].account != _msgSender()) revert NotOwner(workId, _msgSender());
        if (to == address(0)) revert ZeroAddress();
        if (to == _msgSender()) revert SelfTransfer();
        if (shareBps == 0) revert ZeroShare(0);
        uint16 held = owners[index].shareBps;
        if (shareBps > held) revert ShareTooLarge(shareBps, held);

        (Owner[] memory next, address payoutOfTo) = _transferred(owners, index, to, toPayout, shareBps);
        bytes32 h = keccak256(abi.encode(next));
        _ownersHash[workId] = h;
        emit ShareTransferred(workId, _msgSender(), to, shareBps, payoutOfTo, h);
    }

    /// @dev The owner list after owners[index] moved `shareBps` to `to`, still sorted, without zero shares.
    function _transferred(
        Owner[] calldata owners,
        uint256 index,
        address to,
        address toPayout,
        uint16 shareBps
    ) private pure returns (Owner[] memory next, address payoutOfTo) {
        (bool toExists, uint256 toIndex) = _find(owners, to);
        bool fromLeaves = shareBps == owners[index].shareBps;
        uint256 len = owners.length + (toExists ? 0 : 1) - (fromLeaves ? 1 : 0);
        if (len > MAX_OWNERS) revert TooManyOwners(len);
        if (toExists) {
            payoutOfTo = owners[toIndex].payout;
        } else {
            if (toPayout == address(0)) revert ZeroAddress();
            payoutOfTo = toPayout;
        }
        next = new Owner[](len);
        uint256 j;
        for (uint256 i; i <= owners.length; ++i) {
            if (!toExists && i == toIndex) {
                next[j++] = Owner({account: to, payout: toPayout, shareBps: shareBps});
            }
            if (i == owners.length) break;
            Owner memory o = owners[i];
            if (i == index) {
                if (fromLeaves) continue;
                o.shareBps -= shareBps;
            } else if (toExists && i == toIndex) {
                o.shareBps += shareBps;
            }
            next[j++] = o;
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Views (for contracts and verifiers; the backend reads events instead)
    // ----------------------------------------------------------------------------------------------

    /// @notice Current terms, manager and terms version of a work.
    function workOf(uint64 workId) external view returns (WorkRecord memory) {
        return _works[workId];
    }

    /// @notice Hash of the work's current owner list, keccak256(abi.encode(Owner[])).
    function ownersHashOf(uint64 workId) external view returns (bytes32) {
        return _ownersHash[workId];
    }

    /// @notice The id of the work with this content hash, or 0.
    function workIdOf(bytes32 contentHash) external view returns (uint64) {
        return _workIdByContent[contentHash];
    }

    /// @notice Where a work's license stands right now for generative training (what an output's
    /// training link needs). Constrained: allowed to platforms that accepted the terms'
    /// constraints (the ledger checks that acceptance, recorded in ModelRegistry).
    enum License {
        Unknown,
        Trainable,
        TrainingForbidden,
        Expired,
        Constrained
    }

    /// @notice The work's license status now (one storage read; used by the output registry).
    function licenseOf(uint64 workId) public view returns (License) {
        WorkRecord storage rec = _works[workId];
        if (rec.manager == address(0)) return License.Unknown;
        if (rec.expiresAt != 0 && rec.expiresAt <= block.timestamp) return License.Expired;
        uint8 state = _state(rec.uses, USE_AI_GENERATIVE_TRAINING);
        if (state == ALLOWED) return License.Trainable;
        return state == CONSTRAINED ? License.Constrained : License.TrainingForbidden;
    }

    /// @notice The state of one use of the work right now (NOT_ALLOWED once expired or unknown).
    function useOf(uint64 workId, uint8 use) public view returns (uint8) {
        WorkRecord storage rec = _works[workId];
        if (rec.manager == address(0)) return NOT_ALLOWED;
        if (rec.expiresAt != 0 && rec.expiresAt <= block.timestamp) return NOT_ALLOWED;
        return _state(rec.uses, use);
    }

    /// @notice Whether the work allows `use` unconditionally right now (registered, not expired,
    /// ALLOWED). One storage read; the output registry checks reference links with it.
    function allows(uint64 workId, uint8 use) public view returns (bool) {
        return useOf(workId, use) == ALLOWED;
    }

    /// @notice The licence nibbles of works 64 * index .. 64 * index + 63, work `id` at bits
    /// 4 * (id % 64) (NIBBLE_* masks). A zero nibble is a work that allows neither (or no work):
    /// `licenseOf` tells which. The output registry checks a batch's links with one call per word.
    function licenseBits(uint256 index) external view returns (uint256) {
        return _licenseBits[index];
    }

    /// @notice Whether a generative model may be trained on the work right now without constraints.
    function isTrainable(uint64 workId) public view returns (bool) {
        return licenseOf(workId) == License.Trainable;
    }

    // ----------------------------------------------------------------------------------------------
    // Internal checks
    // ----------------------------------------------------------------------------------------------

    function _existing(uint64 workId) private view returns (WorkRecord storage rec) {
        rec = _works[workId];
        if (rec.manager == address(0)) revert UnknownWork(workId);
    }

    function _checkTerms(Terms calldata t) private view {
        if (t.royaltyBps > TOTAL_BPS) revert RoyaltyTooHigh(t.royaltyBps);
        bool constrained = _checkUses(t.uses);
        uint256 len = bytes(t.constraints).length;
        if (len > MAX_CONSTRAINTS_LENGTH) revert ConstraintsTooLong(len);
        if (constrained && len == 0) revert ConstraintsRequired(t.uses);
        if (!constrained && len != 0) revert UnexpectedConstraints(t.uses);
        if (t.expiresAt != 0 && t.expiresAt <= block.timestamp) revert ExpiryInPast(t.expiresAt);
    }

    /// @dev Every slot holds a known state and no bit lies beyond the last slot; returns whether
    /// any use is constrained.
    function _checkUses(uint16 uses) private pure returns (bool constrained) {
        if (uses >> (2 * USE_COUNT) != 0) revert UnknownUses(uses);
        for (uint8 u; u < USE_COUNT; ++u) {
            uint8 state = _state(uses, u);
            if (state > CONSTRAINED) revert UnknownUses(uses);
            if (state == CONSTRAINED) constrained = true;
        }
    }

    /// @dev `bits` (the work's licence word) with the work's nibble rewritten from its terms: at
    /// registration and on every terms update, so the nibble and the record never disagree.
    function _withNibble(uint256 bits, uint64 workId, uint16 uses, uint40 expiresAt) private pure returns (uint256) {
        uint256 nibble = (uses >> (2 * USE_AI_GENERATIVE_TRAINING)) & 3;
        if ((uses >> (2 * USE_REFERENCE)) & 3 == ALLOWED) nibble |= NIBBLE_REFERENCE;
        if (expiresAt != 0) nibble |= NIBBLE_EXPIRES;
        unchecked {
            uint256 shift = (uint256(workId) & 63) << 2;
            return (bits & ~(uint256(15) << shift)) | (nibble << shift);
        }
    }

    function _state(uint16 uses, uint8 use) private pure returns (uint8) {
        return uint8((uses >> (2 * use)) & 3);
    }

    function _checkOwners(Owner[] calldata owners) private pure returns (bytes32) {
        uint256 n = owners.length;
        if (n == 0) revert NoOwners();
        if (n > MAX_OWNERS) revert TooManyOwners(n);
        uint256 total;
        address previous;
        for (uint256 i; i < n; ++i) {
            Owner calldata o = owners[i];
            if (o.account == address(0) || o.payout == address(0)) revert ZeroAddress();
            if (o.account <= previous) revert OwnersNotSorted(i);
            if (o.shareBps == 0) revert ZeroShare(i);
            total += o.shareBps;
            previous = o.account;
        }
        if (total != TOTAL_BPS) revert SharesDoNotSum(total);
        return keccak256(abi.encode(owners));
    }

    function _checkCurrentOwners(uint64 workId, Owner[] calldata owners) private view {
        if (keccak256(abi.encode(owners)) != _ownersHash[workId]) revert OwnersMismatch(workId);
    }

    /// @dev Position of `account` in the sorted list, or where it would be inserted.
    function _find(Owner[] calldata owners, address account) private pure returns (bool found, uint256 index) {
        uint256 n = owners.length;
        for (uint256 i; i < n; ++i) {
            address a = owners[i].account;
            if (a == account) return (true, i);
            if (a > account) return (false, i);
        }
        return (false, n);
    }
}
