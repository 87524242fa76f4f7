// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {RelayedAccessControl} from "./RelayedAccessControl.sol";

/// @title RoyaltyDistributor
/// @notice Accountants publish each closed period's royalty statement as a Merkle root over its
/// entries `(account, payout, cumulative, salt)`; anyone can then prove an entry and claim it, as
/// Uniswap's merkle-distributor does, but **cumulatively**: `cumulative` is everything the payee
/// has been owed by the statements of its book (a currency and a settlement token) up to this
/// one, and a claim pays it less what the payee has claimed in that book before. So the latest
/// statement's entry claims every earlier one at once, in one proof and one storage write (the
/// cumulative Merkle distributor design of Optimism's and Morpho's reward distributors). Each
/// leaf carries a secret salt the payee receives with its entry, so a proof tells nothing about
/// the other leaves (no amount can be guessed from a sibling hash). The full statement is stored
/// content-addressed; its CID and the root are in the event, so whoever holds it can check it
/// against the chain.
/// @dev A statement is settled either off chain (no token: a claim records that the holder
/// acknowledged the amount, and the accountant pays in fiat) or in an ERC-20 token, funded in full
/// when the statement is published: `amount * unitScale` tokens per entry, where `unitScale`
/// converts the currency's minor unit to token units (1e16 for an 18-decimal USD token and cents,
/// at most 2^64 - 1). A token pays one book (one currency), so the distributor's balance of it is
/// that book's funds alone and no root can pay out what another book funded.
/// A period is paid by one statement per `(currency, period, sequence)`: sequence 0 first, then
/// adjustments 1, 2, ..., each after the one before it, each declaring the block up to which it
/// counted usage anchors (never fewer than its predecessor), so a verifier can check from the
/// chain alone that every report anchored for the period is paid exactly once.
contract RoyaltyDistributor is RelayedAccessControl {
    using SafeERC20 for IERC20;

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

    /// @notice A published statement, as `statementOf` shows it.
    struct Record {
        bytes32 root;
        address token; // zero: settled off chain
        uint256 unitScale;
        bytes32 book; // keccak256(abi.encode(currency, token)): the statements whose claims add up
    }

    /// @notice One claim of `claimMany`.
    struct Claim {
        bytes32 statementId;
        bytes32 root;
        address account;
        address payout;
        uint256 cumulative;
        bytes32 salt;
        bytes32[] proof;
    }

    /// @dev One per (currency, period, sequence): which statement took it, and its anchor block.
    struct Slot {
        bytes32 statementId;
        uint64 anchorsUpTo;
    }

    /// @dev What a claim reads of its statement, in one word keyed by the statement's id and root
    /// together (the claim names both, so the root is not read from storage): the book's token,
    /// its token units per minor unit, and the book's number (1, 2, ... in order of first use).
    struct ClaimRecord {
        address token;
        uint64 unitScale;
        uint32 book;
    }

    mapping(bytes32 statementId => bytes32 root) private _roots;
    mapping(bytes32 statementAndRoot => ClaimRecord) private _claimRecords;
    mapping(bytes32 slotKey => Slot) private _slots;
    /// @notice Number of books (currency and token pairs) statements have used.
    uint32 public bookCount;
    /// @dev Each book's number, and per number its key (keccak256(abi.encode(currency, token))),
    /// token and token units per minor unit.
    mapping(bytes32 book => uint32 number) private _bookNumbers;
    mapping(uint256 number => bytes32 book) private _bookKeys;
    mapping(uint256 number => address token) private _bookTokens;
    mapping(uint256 number => uint256 unitScale) private _bookScales;
    /// @dev The one book each settlement token pays. A token stands for one currency, so the
    /// distributor's balance of it is that book's funds alone, and a claim needs no count of its
    /// own to keep a book from paying out another's tokens.
    mapping(address token => uint32 number) private _tokenBooks;
    /// @dev Per off-chain book: minor units published and not yet claimed (acknowledged).
    mapping(uint256 number => uint256) private _unclaimed;
    /// @dev Per (book number, account, payout): the cumulative amount claimed so far.
    mapping(bytes32 payeeKey => uint256) private _claimed;
    mapping(bytes32 advanceId => uint256 blockNumber) private _advances;

    /// @notice A period's statement was published (and, with a token, funded in full).
    event StatementPublished(
        bytes32 indexed statementId, address indexed accountant, Statement statement, address token, uint256 unitScale
    );

    /// @notice `account`'s entry in a statement was claimed: `amount` minor units (its cumulative
    /// amount in the statement's book less what it had claimed before), paid to `payout` (in
    /// tokens when the statement has one). Every earlier entry of the payee in the book with a
    /// cumulative amount up to `cumulative` is claimed by it too.
    event Claimed(bytes32 indexed statementId, address indexed account, address payout, uint256 amount, uint256 cumulative);

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
    /// @notice No statement was published under this id with this root.
    error UnknownStatement(bytes32 statementId, bytes32 root);
    /// @notice The token already pays another book (another currency): a token stands for one currency.
    error TokenServesAnotherBook(address token, bytes32 book);
    /// @notice A claim would take more than its book has unclaimed: the statement's entries exceed
    /// what its book's statements declared (a faulty root), and no book pays out another's funds.
    error InsufficientUnclaimed(uint256 amount, uint256 unclaimed);
    /// @notice The payee has claimed this cumulative amount (or more) already.
    error NothingToClaim(uint256 cumulative, uint256 claimed);
    error InvalidProof();
    error BadScale();
    /// @notice A statement of a book settled in a token must use the book's token units per minor unit.
    error ScaleDiffers(uint256 unitScale, uint256 bookScale);
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
        bytes32 root = statement.root;
        if (statementId == bytes32(0) || root == bytes32(0)) revert ZeroId();
        if (statement.periodEnd < statement.periodStart) revert BadPeriod(statement.periodStart, statement.periodEnd);
        if (_roots[statementId] != bytes32(0)) revert AlreadyPublished(statementId);
        if (token == address(0)) unitScale = 0;
        else if (unitScale == 0 || unitScale > type(uint64).max) revert BadScale();
        _takeSlot(statementId, statement);
        uint32 number = _book(statement.currency, token, unitScale);
        if (token == address(0)) _unclaimed[number] += statement.total;
        _roots[statementId] = root;
        _claimRecords[_claimKey(statementId, root)] = ClaimRecord({token: token, unitScale: uint64(unitScale), book: number});
        emit StatementPublished(statementId, accountant, statement, token, unitScale);
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

    /// @notice Claims a payee's entry in a statement with its Merkle proof: pays its cumulative
    /// amount in the statement's book less what the payee claimed there before, so the latest
    /// entry claims every earlier one. Anyone may submit it (a relayer, the holder, the ledger);
    /// the tokens go to the entry's `payout`, never to the caller.
    /// @param root the statement's Merkle root (`statementOf` gives it): named with the statement,
    /// so a claim reads one word of the statement instead of three.
    /// @return amount minor units paid
    function claim(
        bytes32 statementId,
        bytes32 root,
        address account,
        address payout,
        uint256 cumulative,
        bytes32 salt,
        bytes32[] calldata proof
    ) external returns (uint256 amount) {
        return _claim(statementId, root, account, payout, cumulative, salt, proof);
    }

    /// @notice Several claims in one transaction (a holder's entries in several books: currencies
    /// or tokens); all or nothing.
    function claimMany(Claim[] calldata claims) external returns (uint256[] memory amounts) {
        amounts = new uint256[](claims.length);
        for (uint256 i; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            amounts[i] = _claim(c.statementId, c.root, c.account, c.payout, c.cumulative, c.salt, c.proof);
        }
    }

    function _claim(
        bytes32 statementId,
        bytes32 root,
        address account,
        address payout,
        uint256 cumulative,
        bytes32 salt,
        bytes32[] calldata proof
    ) private returns (uint256 amount) {
        ClaimRecord memory record = _claimRecords[_claimKey(statementId, root)];
        if (record.book == 0) revert UnknownStatement(statementId, root);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, payout, cumulative, salt))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof();
        amount = _advanceClaimed(_payeeKey(record.book, account, payout), cumulative);
        if (record.token == address(0)) _acknowledge(record.book, amount);
        emit Claimed(statementId, account, payout, amount, cumulative);
        // With a token, the distributor's balance of it is this book's funds alone (_tokenBooks):
        // whatever a root holds, the transfer cannot take what another book funded.
        if (record.token != address(0)) IERC20(record.token).safeTransfer(payout, amount * record.unitScale);
    }

    /// @dev Moves the payee's claimed total up to `cumulative`; returns the difference.
    function _advanceClaimed(bytes32 key, uint256 cumulative) private returns (uint256 amount) {
        uint256 claimed = _claimed[key];
        if (cumulative <= claimed) revert NothingToClaim(cumulative, claimed);
        amount = cumulative - claimed;
        _claimed[key] = cumulative;
    }

    /// @dev An off-chain book's claims acknowledge no more than its statements declared, whatever
    /// a root holds.
    function _acknowledge(uint32 number, uint256 amount) private {
        uint256 unclaimed = _unclaimed[number];
        if (amount > unclaimed) revert InsufficientUnclaimed(amount, unclaimed);
        _unclaimed[number] = unclaimed - amount;
    }

    /// @dev The number of the book of `currency` and `token`, numbered on first use; checks that
    /// the book keeps one scale and that a token pays one book.
    function _book(string calldata currency, address token, uint256 unitScale) private returns (uint32 number) {
        bytes32 book = bookOf(currency, token);
        number = _bookNumbers[book];
        if (number != 0) {
            uint256 scale = _bookScales[number];
            if (scale != unitScale) revert ScaleDiffers(unitScale, scale);
            return number;
        }
        if (token != address(0)) {
            uint32 taken = _tokenBooks[token];
            if (taken != 0) revert TokenServesAnotherBook(token, _bookKeys[taken]);
        }
        number = ++bookCount;
        _bookNumbers[book] = number;
        _bookKeys[number] = book;
        _bookTokens[number] = token;
        _bookScales[number] = unitScale;
        if (token != address(0)) _tokenBooks[token] = number;
    }

    function _claimKey(bytes32 statementId, bytes32 root) private pure returns (bytes32) {
        return keccak256(abi.encode(statementId, root));
    }

    function _payeeKey(uint32 book, address account, address payout) private pure returns (bytes32) {
        return keccak256(abi.encode(book, account, payout));
    }

    /// @notice The book of a currency and settlement token (zero: off chain).
    function bookOf(string memory currency, address token) public pure returns (bytes32) {
        return keccak256(abi.encode(currency, token));
    }

    /// @notice What a payee has claimed so far in a book (cumulative, minor units).
    function claimedOf(bytes32 book, address account, address payout) external view returns (uint256) {
        uint32 number = _bookNumbers[book];
        return number == 0 ? 0 : _claimed[_payeeKey(number, account, payout)];
    }

    /// @notice Minor units a book's statements published and nobody has claimed yet. With a token:
    /// the distributor's balance of it in minor units (tokens sent to it outside `publish` count).
    function unclaimedOf(bytes32 book) external view returns (uint256) {
        uint32 number = _bookNumbers[book];
        address token = _bookTokens[number];
        if (token == address(0)) return _unclaimed[number];
        return IERC20(token).balanceOf(address(this)) / _bookScales[number];
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

    /// @notice A published statement's root, token, scale and book (all zero: not published).
    function statementOf(bytes32 statementId) external view returns (Record memory record) {
        bytes32 root = _roots[statementId];
        if (root == bytes32(0)) return record;
        ClaimRecord memory r = _claimRecords[_claimKey(statementId, root)];
        return Record({root: root, token: r.token, unitScale: r.unitScale, book: _bookKeys[r.book]});
    }
}
