"""Claims: a holder's entries with their proofs, and the transactions that claim them.

``RoyaltyDistributor`` claims are cumulative per book (a currency and a settlement token): a leaf
(account, payout, cumulative, salt) pays what the book's statements owed the payee up to it, less
what the payee claimed there before. So a claim with a payee's latest entry settles every
earlier one, and ``claim_all`` settles a holder's every book in one ``claimMany`` transaction. The
ledger submits claims and pays the gas; the contract pays each entry's payout address, whoever
submits. Rights holders claim their own entries; accountants and admins may claim for anyone.
"""

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import is_address, keccak, to_checksum_address
from sqlmodel import Session, col, func, select

from ledger.chain.errors import ContractRevert
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.db import chunked
from ledger.models import ApiKey, Role, Statement, StatementClaim, StatementEntry
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from ledger.services.statement_reads import get
from ledger.services.statements import ZERO_ADDRESS


@dataclass(frozen=True)
class EntryProof:
    statement_id: str
    index: int
    account: str
    payout: str
    amount: int
    proof: list[str]
    claimed_tx: str | None  # the claim that paid it (with this entry, or a later one of the payee's in the book)
    earned: int  # in this statement; amount is that less what the account owed
    cumulative: int = 0  # what the book's statements owed the payee up to this one: the leaf's amount
    salt: str = ""  # the leaf's salt


#: Built Merkle trees of recent statements (a statement never changes, so neither does its tree):
#: building one costs about 2 s per 100,000 entries, a proof from it microseconds.
_TREES: "OrderedDict[str, StandardMerkleTree]" = OrderedDict()
_TREES_LOCK = threading.Lock()
_TREES_KEPT = 8


def _tree(ledger: Ledger, row: Statement) -> StandardMerkleTree:
    with _TREES_LOCK:
        if row.statement_id in _TREES:
            _TREES.move_to_end(row.statement_id)
            return _TREES[row.statement_id]
    with Session(ledger.engine) as s:
        rows = s.exec(
            select(StatementEntry.account, StatementEntry.payout, StatementEntry.cumulative, StatementEntry.salt)
            .where(StatementEntry.statement_pk == row.id)
            .order_by(col(StatementEntry.entry_index))
        ).all()
    tree = StandardMerkleTree.of([(a, p, int(c), bytes.fromhex(salt[2:])) for a, p, c, salt in rows], STATEMENT_LEAF_TYPES)
    if "0x" + tree.root.hex() != row.root:
        raise RuntimeError(f"the entries of {row.statement_id} do not rebuild its root")
    with _TREES_LOCK:
        _TREES[row.statement_id] = tree
        while len(_TREES) > _TREES_KEPT:
            _TREES.popitem(last=False)
    return tree


def _claims_covering(s: Session, row: Statement, entries: list[StatementEntry]) -> dict[str, str]:
    """payout -> the transaction of the first claim in the statement's book that covered the
    entry of that payout (a claim with a cumulative amount at least the entry's)."""
    payouts = sorted({e.payout for e in entries})
    if not payouts:
        return {}
    claims = s.exec(
        select(StatementClaim)
        .join(Statement, col(Statement.statement_id) == col(StatementClaim.statement_id))
        .where(Statement.currency == row.currency, Statement.token == row.token, StatementClaim.account == entries[0].account,
               col(StatementClaim.payout).in_(payouts))
        .order_by(col(StatementClaim.block_number), col(StatementClaim.log_index))
    ).all()  # fmt: skip
    out: dict[str, str] = {}
    for e in entries:
        first = next((c for c in claims if c.payout == e.payout and c.cumulative >= e.cumulative), None)
        if first is not None and e.amount:
            out[e.payout] = first.tx_hash
    return out


def entries_of(ledger: Ledger, statement_id: str, account: str) -> list[EntryProof]:
    """A holder's entries (one per payout address) with the proofs that claim them."""
    if not is_address(account):
        raise InvalidInput(f"not an Ethereum address: {account!r}")
    account = to_checksum_address(account)
    row = get(ledger, statement_id)
    with Session(ledger.engine) as s:
        mine = list(
            s.exec(select(StatementEntry).where(StatementEntry.statement_pk == row.id, StatementEntry.account == account).order_by(col(StatementEntry.entry_index))).all()
        )
        claims = _claims_covering(s, row, mine)
    if not mine:
        raise NotFound(f"{account} has no entry in statement {row.statement_id}")
    tree = _tree(ledger, row)
    return [
        EntryProof(row.statement_id, e.entry_index, e.account, e.payout, e.amount,
                   ["0x" + p.hex() for p in tree.proof_of((e.account, e.payout, e.cumulative, bytes.fromhex(e.salt[2:])))], claims.get(e.payout), e.earned,
                   e.cumulative, e.salt)
        for e in mine
    ]  # fmt: skip


def _book(row: Statement) -> bytes:
    return bytes(keccak(encode(["string", "address"], [row.currency, row.token or ZERO_ADDRESS])))


def _open(ledger: Ledger, row: Statement, entries: list[EntryProof]) -> list[EntryProof]:
    """The entries whose cumulative amount is more than the payee has claimed in the book on chain."""
    book = _book(row)
    return [e for e in entries if e.amount and e.cumulative > ledger.distributor.functions.claimedOf(book, e.account, e.payout).call()]


def _send_claims(ledger: Ledger, claims: list[tuple[Statement, EntryProof]]) -> int:
    """One transaction (``claimMany``) for every claim; returns its block. A claim someone else's
    transaction made meanwhile makes it revert: the open ones are sent again, once."""
    for attempt in range(2):
        args = [
            (bytes.fromhex(r.statement_id[2:]), bytes.fromhex(r.root[2:]), e.account, e.payout, e.cumulative, bytes.fromhex(e.salt[2:]),
             [bytes.fromhex(p[2:]) for p in e.proof])
            for r, e in claims
        ]  # fmt: skip
        try:
            return int(ledger.sender.send(ledger.call("RoyaltyDistributor", "claimMany", args))["blockNumber"])
        except ContractRevert as exc:
            if exc.name != "NothingToClaim" or attempt:
                raise
            claims = [(r, e) for r, e in claims if _open(ledger, r, [e])]
            if not claims:
                return 0
    return 0


def claim(ledger: Ledger, key: ApiKey, statement_id: str, account: str) -> list[EntryProof]:
    """Submits the claims of a holder's open entries in a statement, in one transaction (the
    operator pays the gas; the contract pays each entry's payout address, whoever submits; an
    entry's claim also pays the payee's earlier unclaimed entries in the book). Rights holders
    claim their own entries; accountants and admins may claim for anyone."""
    row = get(ledger, statement_id)
    if not row.publish_tx:
        raise Conflict(f"statement {row.statement_id} is not published on chain yet")
    entries = entries_of(ledger, statement_id, account)
    if key.role == Role.rights_holder and key.holder_address != entries[0].account:
        raise Forbidden(f"this key acts for {key.holder_address}; the entries are {entries[0].account}'s")
    if not any(e.amount for e in entries):
        raise Conflict(f"{entries[0].account}'s entries in statement {row.statement_id} pay nothing: reversed earnings or a balance owed took them")
    open_entries = _open(ledger, row, entries)
    if not open_entries:
        raise Conflict(f"{entries[0].account}'s entries in statement {row.statement_id} are claimed already")
    last = _send_claims(ledger, [(row, e) for e in open_entries])
    ledger.indexer.sync(to_block=last or None)
    return entries_of(ledger, statement_id, account)


@dataclass(frozen=True)
class BookClaim:
    """What one claim of ``claim_all`` paid: a payee's latest entry in a book."""

    statement_id: str
    currency: str
    token: str
    payout: str
    cumulative: int
    amount: int  # what it paid now (the cumulative amount less what was claimed before)
    statements: int  # how many of the payee's statements in the book it settled
    tx_hash: str


def claim_all(ledger: Ledger, key: ApiKey, account: str, currency: str | None = None) -> list[BookClaim]:
    """Claims everything a holder is owed, in every book (currency and settlement; or only
    ``currency``), in one transaction: per payout address and book, its latest published entry
    claims every earlier one. 409 when nothing is open."""
    if not is_address(account):
        raise InvalidInput(f"not an Ethereum address: {account!r}")
    account = to_checksum_address(account)
    if key.role == Role.rights_holder and key.holder_address != account:
        raise Forbidden(f"this key acts for {key.holder_address}; it cannot claim {account}'s entries")
    with Session(ledger.engine) as s:
        stmt = (
            select(StatementEntry, Statement)
            .join(Statement, col(Statement.id) == col(StatementEntry.statement_pk))
            .where(StatementEntry.account == account, Statement.publish_tx != "")
            .order_by(col(Statement.id))
        )
        if currency is not None:
            stmt = stmt.where(Statement.currency == currency)
        rows = list(s.exec(stmt).all())
    latest: dict[tuple[str, str, str], tuple[StatementEntry, Statement]] = {}
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for e, st in rows:
        k = (st.currency, st.token, e.payout)
        if e.cumulative >= (latest[k][0].cumulative if k in latest else -1):
            latest[k] = (e, st)
        if e.amount:
            counts[k].append(e.cumulative)
    todo: list[tuple[Statement, EntryProof, int, int]] = []
    for k, (e, st) in sorted(latest.items()):
        claimed = int(ledger.distributor.functions.claimedOf(_book(st), account, e.payout).call())
        if e.cumulative > claimed:
            [proof] = [p for p in entries_of(ledger, st.statement_id, account) if p.payout == e.payout]
            todo.append((st, proof, e.cumulative - claimed, sum(1 for c in counts[k] if c > claimed)))
    if not todo:
        raise Conflict(f"{account} has nothing left to claim" + (f" in {currency}" if currency else ""))
    block = _send_claims(ledger, [(st, p) for st, p, _, _ in todo])
    ledger.indexer.sync(to_block=block or None)
    tx = ""
    with Session(ledger.engine) as s:
        found = s.exec(select(StatementClaim).where(StatementClaim.account == account, StatementClaim.block_number == block)).first()
        tx = found.tx_hash if found else ""
    return [BookClaim(st.statement_id, st.currency, st.token, p.payout, p.cumulative, paid, n, tx) for st, p, paid, n in todo]


def claim_progress(ledger: Ledger, statement_ids: list[str]) -> dict[str, tuple[int, int]]:
    """statement id -> (entries claimed, minor units claimed): the entries that pay something and
    that a claim in their book covers (with this statement's entry or a later one)."""
    out: dict[str, tuple[int, int]] = {}
    with Session(ledger.engine) as s:
        claimed = (
            select(Statement.currency, Statement.token, StatementClaim.account, StatementClaim.payout, func.max(StatementClaim.cumulative).label("top"))
            .join(Statement, col(Statement.statement_id) == col(StatementClaim.statement_id))
            .group_by(col(Statement.currency), col(Statement.token), col(StatementClaim.account), col(StatementClaim.payout))
            .subquery()
        )
        for chunk in chunked(statement_ids):
            rows = s.exec(
                select(Statement.statement_id, func.count(), func.sum(StatementEntry.amount))
                .join(StatementEntry, col(StatementEntry.statement_pk) == col(Statement.id))
                .join(claimed, (claimed.c.currency == Statement.currency) & (claimed.c.token == Statement.token)
                      & (claimed.c.account == StatementEntry.account) & (claimed.c.payout == StatementEntry.payout))
                .where(col(Statement.statement_id).in_(chunk), StatementEntry.amount > 0, StatementEntry.cumulative <= claimed.c.top)
                .group_by(col(Statement.statement_id))
            ).all()  # fmt: skip
            out.update({sid: (int(n), int(total)) for sid, n, total in rows})
    return out
