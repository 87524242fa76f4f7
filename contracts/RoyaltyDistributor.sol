// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title RoyaltyDistributor
/// @notice Accountants publish each closed period's royalty statement as a Merkle root over its
/// entries `(index, account, payout, amount)`; anyone can then prove an entry and claim it, the
/// way Uniswap's merkle-distributor does. The full statement (every holder's amount and the usage
/// reports behind it) is stored content-addressed; its CID and the root are in the event, so
/// anyone can check a statement against the chain.
/// @dev A statement is settled either off chain (no token: a claim records that the holder
/// acknowledged the amount, and the accountant pays in fiat) or in an ERC-20 token, funded in full
/// when the statement is published: `amount * unitScale` tokens per entry, where `unitScale`
/// converts the currency's minor unit to token units (1e16 for an 18-decimal USD token and cents).
/// A period is paid by one statement per `(currency, period, sequence)`: sequence 0 first, then
/// adjustments 1, 2, ..., each after the one before it, each declaring the block up to which it
/// counted usage anchors (never fewer than its predecessor), so a verifier can check from the
/// chain alone that every report anchored for the period is paid exactly once.
contract RoyaltyDistributor is RelayedAccessControl {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    bytes32 public constant ACCOUNTANT_ROLE = keccak256("ACCOUNTANT_ROLE");

    /// @notice What an accountant declares about a closed period's statement.
    struct Statement {
        uint64 periodStart; // unix seconds, inclusive
        uint64 periodEnd; // unix seconds, inclusive
        string currency; // ISO 4217; amounts are in its minor unit
        uint32 sequence; // 0: the period's statement; 1, 2, ...: its adjustments, in order
        uint64 anchorsUpTo; // the statement pays every usage report anchored for its period up to this block
        uint32 entryCount;
        uint256 total; // sum of all entries' amounts, minor units
        bytes32 root; // OpenZeppelin StandardMerkleTree root over (uint256,address,address,uint256) leaves
        string documentCid; // the full statement, content-addressed
    }

    /// @dev Three words per statement, and two for its slot.
    struct Record {
        bytes32 root;
        address token; // zero: settled off chain
        uint64 publishedAt;
        uint256 unitScale;
        uint256 remaining; // minor units not claimed yet
    }

    /// @dev One per (currency, period, sequence): which statement took it, and its anchor block.
    struct Slot {
        bytes32 statementId;
        uint64 anchorsUpTo;
    }

    mapping(bytes32 statementId => Record) private _records;
    mapping(bytes32 statementId => BitMaps.BitMap) private _claimed;
    mapping(bytes32 slotKey => Slot) private _slots;
    mapping(bytes32 advanceId => uint256 blockNumber) private _advances;

    /// @notice A period's statement was published (and, with a token, funded in full).
    event StatementPublished(
        bytes32 indexed statementId, address indexed accountant, Statement statement, address token, uint256 unitScale
    );

    /// @notice Entry `index` of a statement was claimed: `amount` minor units owed to `account`,
    /// paid to `payout` (in tokens when the statement has one).
    event Claimed(bytes32 indexed statementId, uint256 index, address indexed account, address payout, uint256 amount);

    /// @notice An advance (a minimum guarantee) was paid to `account` outside this contract, by
    /// `payer`: statements in `currency` published after this block recoup it from the account's
    /// earnings before paying it anything (the ledger's statements list the advances they count).
    event AdvanceRecorded(
        bytes32 indexed advanceId,
        address indexed account,
        address indexed accountant,
        string currency,
        uint256 amount,
        address payer,
        string note
    );

    error ZeroId();
    error ZeroAdvance();
    error BadCurrency(string currency);
    error AdvanceAlreadyRecorded(bytes32 advanceId, uint256 blockNumber);
    error BadPeriod(uint64 periodStart, uint64 periodEnd);
    error AlreadyPublished(bytes32 statementId);
    error UnknownStatement(bytes32 statementId);
    error AlreadyClaimed(bytes32 statementId, uint256 index);
    error InvalidProof();
    error BadScale();
    /// @notice Another statement already has this currency, period and sequence.
    error SequenceTaken(bytes32 statementId);
    /// @notice An adjustment (sequence > 0) without the statement before it.
    error SequenceGap(uint32 sequence);
    /// @notice The anchor block is after the publication's own, or before the previous statement's.
    error BadAnchorBlock(uint64 anchorsUpTo, uint64 minimum);
    /// @notice The token delivered fewer units than were sent (fee-on-transfer): the statement would be under-funded.
    error UnderFunded(uint256 expected, uint256 received);

    constructor(address admin, address forwarder) RelayedAccessControl(admin, forwarder) {}

    /// @notice Publishes a statement under `statementId` (the ledger uses the SHA-256 of the
    /// statement document, so re-publishing the same statement is refused, not duplicated).
    /// @param token ERC-20 paid out on claims, or zero for off-chain settlement.
    /// @param unitScale token units per minor unit (ignored without a token).
    function publish(bytes32 statementId, Statement calldata statement, address token, uint256 unitScale) external {
        address accountant = _senderWithRole(ACCOUNTANT_ROLE);
        if (statementId == bytes32(0) || statement.root == bytes32(0)) revert ZeroId();
        if (statement.periodEnd < statement.periodStart) revert BadPeriod(statement.periodStart, statement.periodEnd);
        if (_records[statementId].publishedAt != 0) revert AlreadyPublished(statementId);
        if (token != address(0) && unitScale == 0) revert BadScale();
        _takeSlot(statementId, statement);
        _records[statementId] = Record({
            root: statement.root,
            token: token,
            publishedAt: uint64(block.timestamp),
            unitScale: token == address(0) ? 0 : unitScale,
            remaining: statement.total
        });
        emit StatementPublished(statementId, accountant, statement, token, token == address(0) ? 0 : unitScale);
        if (token != address(0)) {
            uint256 expected = statement.total * unitScale;
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(accountant, address(this), expected);
            uint256 received = IERC20(token).balanceOf(address(this)) - before;
            if (received != expected) revert UnderFunded(expected, received);
        }
    }

    /// @notice Records an advance paid to `account` (off chain, by `payer`), so that statements
    /// recoup it. `advanceId` makes a retry harmless: the ledger derives it from the account, the
    /// currency and the payer's reference (`note`), and a second record under one id is refused.
    /// @param amount minor units of `currency` (ISO 4217)
    function recordAdvance(
        bytes32 advanceId,
        address account,
        string calldata currency,
        uint256 amount,
        address payer,
        string calldata note
    ) external {
        address accountant = _senderWithRole(ACCOUNTANT_ROLE);
        if (advanceId == bytes32(0) || account == address(0)) revert ZeroId();
        if (amount == 0) revert ZeroAdvance();
        if (bytes(currency).length != 3) revert BadCurrency(currency);
        uint256 recorded = _advances[advanceId];
        if (recorded != 0) revert AdvanceAlreadyRecorded(advanceId, recorded);
        _advances[advanceId] = block.number;
        emit AdvanceRecorded(advanceId, account, accountant, currency, amount, payer, note);
    }

    /// @notice The block an advance was recorded in (zero: never).
    function advanceRecordedAt(bytes32 advanceId) external view returns (uint256) {
        return _advances[advanceId];
    }

    /// @notice The statement that holds `sequence` of a currency's period, and its anchor block (zero: none).
    function statementAt(string calldata currency, uint64 periodStart, uint64 periodEnd, uint32 sequence)
        external
        view
        returns (Slot memory)
    {
        return _slots[_slotKey(currency, periodStart, periodEnd, sequence)];
    }

    /// @notice Claims entry `index` of a statement with its Merkle proof. Anyone may submit it (a
    /// relayer, the holder, the ledger); the tokens go to the entry's `payout`, never to the caller.
    function claim(
        bytes32 statementId,
        uint256 index,
        address account,
        address payout,
        uint256 amount,
        bytes32[] calldata proof
    ) external {
        Record storage record = _records[statementId];
        if (record.publishedAt == 0) revert UnknownStatement(statementId);
        if (_claimed[statementId].get(index)) revert AlreadyClaimed(statementId, index);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, account, payout, amount))));
        if (!MerkleProof.verifyCalldata(proof, record.root, leaf)) revert InvalidProof();
        _claimed[statementId].set(index);
        // Checked: a statement never pays out more than it declared (and, with a token, was funded
        // with), whatever its root holds, so one statement cannot drain another's tokens.
        record.remaining -= amount;
        emit Claimed(statementId, index, account, payout, amount);
        if (record.token != address(0)) IERC20(record.token).safeTransfer(payout, amount * record.unitScale);
    }

    /// @dev Sequence n of a period is taken once, after n - 1, with an anchor block in the past
    /// and not before its predecessor's.
    function _takeSlot(bytes32 statementId, Statement calldata s) private {
        bytes32 key = _slotKey(s.currency, s.periodStart, s.periodEnd, s.sequence);
        bytes32 taken = _slots[key].statementId;
        if (taken != bytes32(0)) revert SequenceTaken(taken);
        uint64 minimum;
        if (s.sequence > 0) {
            Slot storage previous = _slots[_slotKey(s.currency, s.periodStart, s.periodEnd, s.sequence - 1)];
            if (previous.statementId == bytes32(0)) revert SequenceGap(s.sequence);
            minimum = previous.anchorsUpTo;
        }
        if (s.anchorsUpTo < minimum || s.anchorsUpTo > block.number) revert BadAnchorBlock(s.anchorsUpTo, minimum);
        _slots[key] = Slot(statementId, s.anchorsUpTo);
    }

    function _slotKey(string calldata currency, uint64 periodStart, uint64 periodEnd, uint32 sequence) private pure returns (bytes32) {
        return keccak256(abi.encode(currency, periodStart, periodEnd, sequence));
    }

    /// @notice Whether entry `index` of a statement was claimed.
    function isClaimed(bytes32 statementId, uint256 index) external view returns (bool) {
        return _claimed[statementId].get(index);
    }

    /// @notice A published statement's root, token, scale, time and unclaimed amount.
    function statementOf(bytes32 statementId) external view returns (Record memory) {
        return _records[statementId];
    }
}
