// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title WorkRegistry
/// @notice The on-chain record of licensed works: content hash, metadata CID, license terms, and
/// co-owners with their shares and payout addresses. It is the source of truth the ledger's
/// backend projects into SQL from events alone.
/// @dev One storage word per work, keyed by its content hash: the work's id (64 bits) and a
/// 192-bit commitment to its current state (manager, terms, terms version, owner-list hash). The
/// content hash is therefore unique on chain and the id stays the small sequential number every
/// table, link and statement uses. Everything else lives in events; a call that changes a work
/// presents the work's current state (`WorkState`, as its events last set it), which is checked
/// against the commitment, the way 0xSplits checks a split against its stored hash. Two more
/// things are kept, shared or rare: a licence nibble per work in words shared by 64 works (what
/// outputs' links check), and the expiry of works whose licence expires.
///
/// Registration takes a batch in the ledger's packed format (below) and logs it once, whole, in
/// `WorksRegistered`, as ERC-2309 logs a run of consecutive token ids: a work then costs its one
/// word, its bytes of calldata and a log byte for each, instead of an ABI-encoded event of its own
/// (the padding and offsets of strings, structs and arrays were most of its cost).
///
/// Owner lists are sorted by account, strictly ascending, which makes them duplicate-free and
/// their hash canonical.
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

    /// @dev The low bit of each use's slot.
    uint256 private constant _LOW_BITS = 0x555;

    /// @notice Longest metadata CID, in bytes (a CIDv1 in base32 with a sha2-256 digest is 59).
    uint256 public constant MAX_CID_LENGTH = 255;

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

    /// @notice What a holder submits to register one work, before packing (see `registerWorks`).
    struct WorkInput {
        bytes32 contentHash;
        string metadataCid;
        Terms terms;
        Owner[] owners;
    }

    /// @notice A work's current state, as its events last set it: what a call that changes the
    /// work presents. The registry keeps only a commitment to it (`commitmentOf`).
    /// @param ownersHash keccak256(abi.encode(Owner[])) of the current owner list.
    struct WorkState {
        uint64 workId;
        bytes32 contentHash;
        address manager;
        uint16 uses;
        uint16 royaltyBps;
        uint40 expiresAt;
        uint24 termsVersion;
        bytes32 ownersHash;
    }

    /// @notice Number of works registered; work ids are 1..workCount.
    uint64 public workCount;

    /// @notice Bits of a work's nibble in `licenseBits`: its generative-training state (2 bits,
    /// NOT_ALLOWED, ALLOWED or CONSTRAINED), whether reference use is ALLOWED, and whether the
    /// licence has an expiry (then the nibble says what holds until it: read `licenseOf`).
    uint256 public constant NIBBLE_TRAINING = 3;
    uint256 public constant NIBBLE_REFERENCE = 4;
    uint256 public constant NIBBLE_EXPIRES = 8;

    /// @dev A work's word: id << 192 | commitment to its state (zero: no such content hash).
    mapping(bytes32 contentHash => uint256) private _works;
    /// @dev The nibbles of works 64 * index .. 64 * index + 63: what an output's links need, 64
    /// works to a word, so a batch of links reads a word per 64 works instead of one per work.
    mapping(uint256 index => uint256) private _licenseBits;
    /// @dev The expiry of works whose licence expires (their nibble says so); no word for others.
    mapping(uint64 workId => uint40) private _expiries;

    // ----------------------------------------------------------------------------------------------
    // Events: each carries everything an indexer needs to rebuild state without view calls.
    // ----------------------------------------------------------------------------------------------

    /// @notice Works firstId..lastId were registered, managed by `manager`; `works` is the batch
    /// exactly as submitted (the packed format of `registerWorks`), its records in id order. Each
    /// work's terms are its terms version 1.
    event WorksRegistered(uint64 indexed firstId, uint64 lastId, address indexed manager, bytes works);

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
    /// @notice The packed batch ends inside the record that starts at byte `offset`.
    error MalformedWorks(uint256 offset);
    error ZeroContentHash(uint256 index);
    error EmptyMetadataCid(uint256 index);
    error WorkAlreadyRegistered(bytes32 contentHash, uint64 workId);
    error UnknownWork(uint64 workId);
    /// @notice The state presented for the work is not its current one: read its latest events.
    error StaleState(uint64 workId);
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
    /// @param works the batch, records back to back, each (big-endian, no padding):
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 32 | contentHash (non-zero) |
    /// | 2 | terms.uses |
    /// | 2 | terms.royaltyBps |
    /// | 5 | terms.expiresAt |
    /// | 1 | c = length of metadataCid (1..255) |
    /// | c | metadataCid (its text, e.g. a base32 CIDv1) |
    /// | 2 | k = length of terms.constraints (0..256) |
    /// | k | terms.constraints |
    /// | 2 | n = number of owners (1..512) |
    /// | 42 n | owners, sorted by account: account (20), payout (20), shareBps (2) |
    ///
    /// `WorksRegistered` logs these bytes as they came; the ledger's indexer reads them with the
    /// same layout (backend/ledger/chain/work_codec.py).
    /// @return firstId id of the first work; the batch has consecutive ids from it, in its order.
    function registerWorks(bytes calldata works) external returns (uint64 firstId) {
        address manager = _senderWithRole(RIGHTS_HOLDER_ROLE);
        uint256 end = works.length;
        if (end == 0) revert EmptyBatch();
        uint64 id = workCount;
        firstId = id + 1;
        // The batch's nibbles are gathered a word at a time and each word written once.
        uint256 index = uint256(firstId) >> 6;
        uint256 bits = _licenseBits[index];
        uint256 at;
        for (uint256 i; at < end; ++i) {
            unchecked {
                ++id;
            }
            uint256 head;
            (at, head) = _registerOne(works, at, i, id, manager);
            if (uint256(id) >> 6 != index) {
                _licenseBits[index] = bits;
                index = uint256(id) >> 6;
                bits = 0; // a word past the last work is still empty
            }
            bits = _withNibble(bits, id, uint16(head >> 240), uint40(head >> 184));
        }
        _licenseBits[index] = bits;
        workCount = id;
        emit WorksRegistered(firstId, id, manager, works);
    }

    /// @dev Checks and stores the record at `at` (the `i`th of the batch) as work `id`; returns
    /// where the next record starts and the record's head word (terms and CID length).
    function _registerOne(bytes calldata works, uint256 at, uint256 i, uint64 id, address manager)
        private
        returns (uint256 next, uint256 head)
    {
        uint256 n;
        uint256 constraintsLength;
        (next, n, constraintsLength) = _bounds(works, at);
        bytes32 contentHash = bytes32(_load(works, at));
        head = _load(works, at + 32);
        if (contentHash == bytes32(0)) revert ZeroContentHash(i);
        if (uint8(head >> 176) == 0) revert EmptyMetadataCid(i);
        uint256 existing = _works[contentHash];
        if (existing != 0) revert WorkAlreadyRegistered(contentHash, uint64(existing >> 192));
        _checkTermsOf(uint16(head >> 240), uint16(head >> 224), uint40(head >> 184), constraintsLength);
        bytes32 ownersHash = _packedOwnersHash(works, next, n);
        next += 42 * n;
        _works[contentHash] = _wordOf(id, manager, uint16(head >> 240), uint16(head >> 224), uint40(head >> 184), 1, ownersHash);
        if (uint40(head >> 184) != 0) _expiries[id] = uint40(head >> 184);
    }

    /// @dev Where the record at `at` keeps its owners, how many, and its constraints' length,
    /// once every length it declares is found inside the batch. Unchecked: offsets are sums of a
    /// calldata offset and at most a few times 2^16, far from overflowing.
    function _bounds(bytes calldata works, uint256 at)
        private
        pure
        returns (uint256 ownersAt, uint256 n, uint256 constraintsLength)
    {
        uint256 end = works.length;
        unchecked {
            if (at + 42 > end) revert MalformedWorks(at);
            uint256 p = at + 42 + uint8(_load(works, at + 32) >> 176); // past the CID
            if (p + 2 > end) revert MalformedWorks(at);
            constraintsLength = _load(works, p) >> 240;
            p += 2 + constraintsLength;
            if (p + 2 > end) revert MalformedWorks(at);
            n = _load(works, p) >> 240;
            ownersAt = p + 2;
            if (ownersAt + 42 * n > end) revert MalformedWorks(at);
        }
    }

    /// @dev The word of `b` at byte `at` (bounds are the caller's to check).
    function _load(bytes calldata b, uint256 at) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(add(b.offset, at))
        }
    }

    /// @dev Checks the `n` packed owners at `at` as `_checkOwners` checks a list, and returns the
    /// hash the list has in ABI form, keccak256(abi.encode(Owner[])), written in scratch memory
    /// past the free memory pointer (never allocated: nothing else uses memory until the hash is
    /// taken). Unchecked: `n` and the shares are at most 2^16 each.
    function _packedOwnersHash(bytes calldata works, uint256 at, uint256 n) private pure returns (bytes32 h) {
        if (n == 0) revert NoOwners();
        if (n > MAX_OWNERS) revert TooManyOwners(n);
        uint256 total;
        uint256 previous;
        uint256 m;
        // Not "memory-safe": the scratch outlives one assembly block (harmless without via-IR's
        // stack-to-memory mover, which the annotation exists for).
        assembly {
            m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), n)
        }
        unchecked {
            for (uint256 j; j < n; ++j) {
                uint256 account;
                uint256 payout;
                uint256 share;
                assembly {
                    let p := add(add(works.offset, at), mul(j, 42))
                    account := shr(96, calldataload(p))
                    payout := shr(96, calldataload(add(p, 20)))
                    share := shr(240, calldataload(add(p, 40)))
                    let q := add(add(m, 0x40), mul(j, 0x60))
                    mstore(q, account)
                    mstore(add(q, 0x20), payout)
                    mstore(add(q, 0x40), share)
                }
                if (account == 0 || payout == 0) revert ZeroAddress();
                if (account <= previous) revert OwnersNotSorted(j);
                if (share == 0) revert ZeroShare(j);
                total += share;
                previous = account;
            }
        }
        if (total != TOTAL_BPS) revert SharesDoNotSum(total);
        assembly {
            h := keccak256(m, add(0x40, mul(n, 0x60)))
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Changes after registration
    // ----------------------------------------------------------------------------------------------

    /// @notice Replaces the work's terms from now on. Past terms stay on record in the event log and
    /// keep governing what was registered under them (revocation is not retroactive).
    /// @param s the work's current state (see `WorkState`).
    function updateTerms(WorkState calldata s, Terms calldata terms) external {
        _checkState(s);
        if (s.manager != _msgSender()) revert NotManager(s.workId, _msgSender());
        _checkTerms(terms);
        uint24 version = s.termsVersion + 1;
        _works[s.contentHash] = _wordOf(s.workId, s.manager, terms.uses, terms.royaltyBps, terms.expiresAt, version, s.ownersHash);
        if (s.expiresAt != 0 || terms.expiresAt != 0) _expiries[s.workId] = terms.expiresAt;
        uint256 index = uint256(s.workId) >> 6;
        _licenseBits[index] = _withNibble(_licenseBits[index], s.workId, terms.uses, terms.expiresAt);
        emit TermsUpdated(s.workId, version, terms);
    }

    /// @notice Gives the work to its rightful holder after dispute `disputeId` was upheld: a new
    /// manager and owner list (sorted, shares summing to TOTAL_BPS), from now on.
    function reassign(WorkState calldata s, uint64 disputeId, address newManager, Owner[] calldata owners) external {
        _senderWithRole(ARBITER_ROLE);
        _checkState(s);
        if (newManager == address(0)) revert ZeroAddress();
        bytes32 h = _checkOwners(owners);
        _store(s, newManager, h);
        emit WorkReassigned(s.workId, disputeId, newManager, s.manager, owners, h);
    }

    /// @notice Hands the right to change terms to another account.
    function transferManagement(WorkState calldata s, address newManager) external {
        _checkState(s);
        if (s.manager != _msgSender()) revert NotManager(s.workId, _msgSender());
        if (newManager == address(0)) revert ZeroAddress();
        _store(s, newManager, s.ownersHash);
        emit ManagerChanged(s.workId, s.manager, newManager);
    }

    /// @notice The caller, an owner of the work, changes where its payouts go.
    /// @param owners the work's current owner list (as last emitted), checked against the state's hash.
    /// @param index position of the caller in `owners`.
    function setPayout(WorkState calldata s, Owner[] calldata owners, uint256 index, address payout) external {
        _checkOwnerCall(s, owners, index);
        if (payout == address(0)) revert ZeroAddress();
        Owner[] memory next = owners;
        next[index].payout = payout;
        bytes32 h = keccak256(abi.encode(next));
        _store(s, s.manager, h);
        emit PayoutChanged(s.workId, _msgSender(), payout, h);
    }

    /// @notice The caller, an owner of the work, records its position on each use (2 bits per
    /// USE_* slot). Only the last position counts; the terms are not changed by it.
    /// @param owners the work's current owner list, checked against the state's hash.
    /// @param index position of the caller in `owners`.
    function recordPosition(WorkState calldata s, Owner[] calldata owners, uint256 index, uint16 positions) external {
        _checkOwnerCall(s, owners, index);
        _checkUses(positions);
        emit PositionRecorded(s.workId, _msgSender(), positions);
    }

    /// @notice The caller moves `shareBps` of its share to `to`. If `to` is not yet an owner it is
    /// inserted (keeping the list sorted) with payout `toPayout`; otherwise `toPayout` is ignored.
    /// An owner whose share drops to zero leaves the list.
    /// @param owners the work's current owner list, checked against the state's hash.
    /// @param index position of the caller in `owners`.
    function transferShare(
        WorkState calldata s,
        Owner[] calldata owners,
        uint256 index,
        address to,
        address toPayout,
        uint16 shareBps
    ) external {
        _checkOwnerCall(s, owners, index);
        if (to == address(0)) revert ZeroAddress();
        if (to == _msgSender()) revert SelfTransfer();
        if (shareBps == 0) revert ZeroShare(0);
        uint16 held = owners[index].shareBps;
        if (shareBps > held) revert ShareTooLarge(shareBps, held);

        (Owner[] memory next, address payoutOfTo) = _transferred(owners, index, to, toPayout, shareBps);
        bytes32 h = keccak256(abi.encode(next));
        _store(s, s.manager, h);
        emit ShareTransferred(s.workId, _msgSender(), to, shareBps, payoutOfTo, h);
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

    /// @notice Whether `s` is the work's current state (what a call changing the work must present).
    function isCurrent(WorkState calldata s) external view returns (bool) {
        uint256 word = _works[s.contentHash];
        return word != 0 && word == _wordOf(s.workId, s.manager, s.uses, s.royaltyBps, s.expiresAt, s.termsVersion, s.ownersHash);
    }

    /// @notice The id of the work with this content hash, or 0.
    function workIdOf(bytes32 contentHash) external view returns (uint64) {
        return uint64(_works[contentHash] >> 192);
    }

    /// @notice The word stored for a content hash: id << 192 | the 192-bit commitment to its state,
    /// uint192(keccak256(abi.encode(manager, uses, royaltyBps, expiresAt, termsVersion, ownersHash))).
    function wordOf(bytes32 contentHash) external view returns (uint256) {
        return _works[contentHash];
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

    /// @notice The work's license status now, from its licence nibble (and its expiry, if it has
    /// one): what the output registry checks a training link by.
    function licenseOf(uint64 workId) public view returns (License) {
        if (workId == 0 || workId > workCount) return License.Unknown;
        uint256 nibble = _nibbleOf(workId);
        if (nibble & NIBBLE_EXPIRES != 0 && _expiries[workId] <= block.timestamp) return License.Expired;
        uint256 state = nibble & NIBBLE_TRAINING;
        if (state == ALLOWED) return License.Trainable;
        return state == CONSTRAINED ? License.Constrained : License.TrainingForbidden;
    }

    /// @notice Whether outputs may take the work as a reference right now (registered, not
    /// expired, USE_REFERENCE ALLOWED): what the output registry checks a reference link by. The
    /// other uses are in the terms events (and in `WorkState`, checked by `isCurrent`).
    function referenceAllowed(uint64 workId) public view returns (bool) {
        if (workId == 0 || workId > workCount) return false;
        uint256 nibble = _nibbleOf(workId);
        if (nibble & NIBBLE_EXPIRES != 0 && _expiries[workId] <= block.timestamp) return false;
        return nibble & NIBBLE_REFERENCE != 0;
    }

    /// @notice When the work's licence expires (0: it does not).
    function expiryOf(uint64 workId) external view returns (uint40) {
        return _nibbleOf(workId) & NIBBLE_EXPIRES != 0 ? _expiries[workId] : 0;
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

    /// @dev Refuses a state that is not the work's current one (an unknown content hash is an
    /// unknown work).
    function _checkState(WorkState calldata s) private view {
        uint256 word = _works[s.contentHash];
        if (word == 0) revert UnknownWork(s.workId);
        if (word != _wordOf(s.workId, s.manager, s.uses, s.royaltyBps, s.expiresAt, s.termsVersion, s.ownersHash)) {
            revert StaleState(s.workId);
        }
    }

    /// @dev What calls by one owner of the work check: the state, the owner list against its
    /// hash, and that the caller is owners[index].
    function _checkOwnerCall(WorkState calldata s, Owner[] calldata owners, uint256 index) private view {
        _checkState(s);
        if (keccak256(abi.encode(owners)) != s.ownersHash) revert OwnersMismatch(s.workId);
        if (index >= owners.length || owners[index].account != _msgSender()) revert NotOwner(s.workId, _msgSender());
    }

    /// @dev Writes the work's word for its next manager and owner list (terms unchanged).
    function _store(WorkState calldata s, address manager, bytes32 ownersHash) private {
        _works[s.contentHash] = _wordOf(s.workId, manager, s.uses, s.royaltyBps, s.expiresAt, s.termsVersion, ownersHash);
    }

    /// @dev id << 192 | uint192(keccak256(abi.encode(manager, uses, royaltyBps, expiresAt,
    /// termsVersion, ownersHash))), the commitment hashed in scratch memory: abi.encode would
    /// allocate its 224 bytes for every work of a batch.
    function _wordOf(
        uint64 workId,
        address manager,
        uint16 uses,
        uint16 royaltyBps,
        uint40 expiresAt,
        uint24 termsVersion,
        bytes32 ownersHash
    ) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(manager, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x20), and(uses, 0xffff))
            mstore(add(m, 0x40), and(royaltyBps, 0xffff))
            mstore(add(m, 0x60), and(expiresAt, 0xffffffffff))
            mstore(add(m, 0x80), and(termsVersion, 0xffffff))
            mstore(add(m, 0xa0), ownersHash)
            word := or(shl(192, and(workId, 0xffffffffffffffff)), shr(64, shl(64, keccak256(m, 0xc0))))
        }
    }

    function _nibbleOf(uint64 workId) private view returns (uint256) {
        return (_licenseBits[uint256(workId) >> 6] >> ((uint256(workId) & 63) << 2)) & 15;
    }

    function _checkTerms(Terms calldata t) private view {
        _checkTermsOf(t.uses, t.royaltyBps, t.expiresAt, bytes(t.constraints).length);
    }

    function _checkTermsOf(uint16 uses, uint16 royaltyBps, uint40 expiresAt, uint256 constraintsLength) private view {
        if (royaltyBps > TOTAL_BPS) revert RoyaltyTooHigh(royaltyBps);
        bool constrained = _checkUses(uses);
        if (constraintsLength > MAX_CONSTRAINTS_LENGTH) revert ConstraintsTooLong(constraintsLength);
        if (constrained && constraintsLength == 0) revert ConstraintsRequired(uses);
        if (!constrained && constraintsLength != 0) revert UnexpectedConstraints(uses);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt);
    }

    /// @dev Every slot holds a known state and no bit lies beyond the last slot; returns whether
    /// any use is constrained. Slot by slot at once: a slot is 3 (unknown) where both its bits are
    /// set, and once none is, a slot whose high bit is set is CONSTRAINED.
    function _checkUses(uint16 uses) private pure returns (bool constrained) {
        uint256 u = uses;
        if (u >> (2 * USE_COUNT) != 0 || u & (u >> 1) & _LOW_BITS != 0) revert UnknownUses(uses);
        return (u >> 1) & _LOW_BITS != 0;
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
