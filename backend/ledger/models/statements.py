"""Royalty statements: what an accountant closed and published (the ledger's own record), and
the projection of claims made against them on chain."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64

#: The statement document's format, named in the document itself.
STATEMENT_SCHEMA = "ai-rights-ledger/royalty-statement/v6"
#: v2 adds what corrections of paid lines need: each entry's ``earned`` (of either sign) beside the
#: ``amount`` it pays, reversal reports, ``payableTotal``, and balances carried forward. A v1
#: document reads as a v2 one whose entries pay what they earned. v3 adds ``anchorsUpTo``: the
#: block up to which the statement counted usage anchors (published on chain with its sequence),
#: which makes its completeness checkable; v1 and v2 documents cannot be checked for it. v4 adds
#: escrow for registration disputes; v5 holds for attribution disputes too (the same fields: a hold
#: names the work whose line it comes from, and an upheld attribution dispute releases to the
#: payees of the corrected links, not to its claimant alone).
STATEMENT_SCHEMAS = (
    "ai-rights-ledger/royalty-statement/v1", "ai-rights-ledger/royalty-statement/v2", "ai-rights-ledger/royalty-statement/v3",
    "ai-rights-ledger/royalty-statement/v4",
    STATEMENT_SCHEMA,
)  # fmt: skip


class Statement(SQLModel, table=True):
    """One currency's statement for a closed period (or an adjustment to it). Its document (every entry, every traced line,
    the reports behind them) is in the content store under ``document_cid``; ``statement_id`` is
    the SHA-256 of that document and the id it has on chain."""

    __table_args__ = (UniqueConstraint("currency", "period_start", "period_end", "sequence"),)
    id: int | None = Field(default=None, primary_key=True)
    statement_id: str = Field(unique=True, max_length=66)
    currency: str = Field(max_length=3)
    period_start: int = Field(sa_column=Column(BigInteger, nullable=False))  # unix seconds, inclusive
    period_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    sequence: int = 0  # 0: the period's statement; 1, 2, ...: adjustments paying usage reported after it
    #: Its place among the currency's statements (0 for the first), which reserve releases count in (v6).
    ordinal: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: It pays every report anchored for its period up to this block (after its predecessor's); 0: not declared (before v3).
    anchors_up_to: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    revenue: int = Field(sa_column=Column(BigInteger, nullable=False))  # minor units
    platform_total: int = Field(sa_column=Column(BigInteger, nullable=False))
    holders_total: int = Field(sa_column=Column(BigInteger, nullable=False))  # earned; negative when reversals outweigh
    payable_total: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # what the entries pay (published on chain)
    report_count: int
    line_count: int  # traced (holder, work, report) lines in the document
    entry_count: int
    root: str = Field(max_length=66)
    document_cid: str
    publish_tx: str = Field(max_length=66)  # "" until the publication is on chain (self-signing accountants)
    token: str = Field(default="", max_length=42)  # ERC-20 the claims pay in; "" settled off chain
    unit_scale: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # token units per minor unit
    closed_by_key: int  # 0: restored from the chain and the document, not closed through this database
    closed_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


class StatementEntry(SQLModel, table=True):
    """A claimable leaf of a statement's Merkle tree: (entry_index, account, payout, amount), and
    what the payee earned in the statement (``amount`` is that, less any balance the account owes)."""

    __table_args__ = (UniqueConstraint("statement_pk", "entry_index"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=ID64)
    statement_pk: int = Field(foreign_key="statement.id", index=True)
    entry_index: int
    account: str = Field(index=True, max_length=42)
    payout: str = Field(max_length=42)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    earned: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    withheld: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # reserve held back (v6)
    released: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # earlier reserves paid out (v6)
    recouped: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # what the account owed, taken (v6)
    #: What the payee has been owed by every statement of this one's book (currency and settlement
    #: token) up to this one: its Merkle leaf, which a claim pays less what was claimed before (v6).
    cumulative: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    salt: str = Field(default="", max_length=66, sa_column_kwargs={"server_default": ""})  # hides the leaf from its neighbours' proofs


class StatementBalance(SQLModel, table=True):
    """What an account owed coming into a statement and still owes after it (same currency); the
    latest statement naming an account holds its balance now."""

    __table_args__ = (UniqueConstraint("statement_pk", "account"),)
    id: int | None = Field(default=None, primary_key=True)
    statement_pk: int = Field(foreign_key="statement.id", index=True)
    account: str = Field(index=True, max_length=42)
    brought_forward: int = Field(sa_column=Column(BigInteger, nullable=False))
    carried_forward: int = Field(sa_column=Column(BigInteger, nullable=False))
    advances: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # counted here first (v6)


class StatementReserve(SQLModel, table=True):
    """A reserve tranche still held after a statement (``accounting.balances``): withheld from a
    payee by the statement of ordinal ``held_by`` in the currency, released by the one of ordinal
    ``release_at``. The latest statement of a currency lists every tranche outstanding."""

    id: int | None = Field(default=None, primary_key=True)
    statement_pk: int = Field(foreign_key="statement.id", index=True)
    account: str = Field(index=True, max_length=42)
    payout: str = Field(max_length=42)
    held_by: int
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    release_at: int


class Advance(SQLModel, table=True):
    """Projection of RoyaltyDistributor.AdvanceRecorded: an advance paid to ``account`` outside the
    ledger, recouped by the first statements in ``currency`` that count it (those whose anchor
    block window holds ``block_number``)."""

    advance_id: str = Field(primary_key=True, max_length=66)
    account: str = Field(index=True, max_length=42)
    currency: str = Field(index=True, max_length=3)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    payer: str = Field(max_length=42)
    note: str = Field(max_length=200)
    accountant: str = Field(max_length=42)
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    log_index: int
    recorded_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class StatementEscrow(SQLModel, table=True):
    """An amount a statement held back for an open dispute (``accounting.escrow``), and the later
    statement that released it once the dispute was decided."""

    id: int | None = Field(default=None, primary_key=True)
    statement_pk: int = Field(foreign_key="statement.id", index=True)
    dispute_id: int = Field(index=True, sa_type=ID64)
    work_id: int = Field(sa_type=ID64)
    account: str = Field(max_length=42)
    payout: str = Field(max_length=42)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    released_by_pk: int | None = Field(default=None, foreign_key="statement.id", index=True)


class StatementClaim(SQLModel, table=True):
    """Projection of RoyaltyDistributor.Claimed: a payee claimed its entry in a statement, which
    paid ``amount`` (its ``cumulative`` amount in the statement's book less what it had claimed
    there before). Every entry of the payee in that book up to ``cumulative`` is claimed by it."""

    __tablename__ = "statementclaim"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    id: int | None = Field(default=None, primary_key=True)
    statement_id: str = Field(index=True, max_length=66)
    account: str = Field(index=True, max_length=42)
    payout: str = Field(max_length=42)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    cumulative: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str = Field(max_length=66)
    log_index: int
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))


class StatementDraft(SQLModel, table=True):
    """A period computed into a statement document and not published: what the accountant reviews
    before publishing (``draft_id`` is the document's SHA-256, the id the statement would have).
    Publishing recomputes the period and goes ahead only if it comes out the same."""

    id: int | None = Field(default=None, primary_key=True)
    draft_id: str = Field(unique=True, max_length=66)
    currency: str = Field(max_length=3)
    period_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    period_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    sequence: int
    token: str = Field(default="", max_length=42)
    document_cid: str
    #: draft | published | discarded
    status: str = Field(default="draft", max_length=16, index=True)
    created_by_key: int
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
