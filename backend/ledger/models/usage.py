"""Usage reports and their lines (facts the platforms report, kept by the ledger), and the
projection of their on-chain anchors."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class UsageAnchorRecord(SQLModel, table=True):
    """Projection of UsageAnchor.UsageAnchored."""

    __tablename__ = "usageanchor"
    batch_hash: str = Field(primary_key=True, max_length=66)
    platform: str = Field(index=True, max_length=42)
    report_id: str
    period_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    period_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    line_count: int
    total_revenue: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))


class UsageReport(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "report_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True, max_length=42)
    report_id: str = Field(max_length=200)
    period_start: int = Field(sa_column=Column(BigInteger, nullable=False))  # unix seconds, inclusive
    period_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    corrects_report_id: str | None = Field(default=None, max_length=200)
    line_count: int
    total_revenue: int = Field(sa_column=Column(BigInteger, nullable=False))
    batch_hash: str = Field(unique=True, max_length=66)
    anchor_tx: str = Field(max_length=66)
    received_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    #: The statement that paid this report (none yet: it counts in the next statement or
    #: adjustment of its period). No foreign key: statements may be restored after their reports.
    statement_pk: int | None = Field(default=None, index=True)


class UsageLine(SQLModel, table=True):
    #: Every index is paid on each of millions of inserted lines: only those a query uses.
    __table_args__ = (
        UniqueConstraint("platform", "line_id"),
        Index("ix_usageline_replaces_line_id", "replaces_line_id", sqlite_where=text("replaces_line_id IS NOT NULL"), postgresql_where=text("replaces_line_id IS NOT NULL")),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True, sa_type=ID64)
    report_pk: int = Field(foreign_key="usagereport.id", index=True)
    platform: str = Field(max_length=42)
    line_id: str = Field(max_length=200)
    line_number: int  # in the file, for messages and audits
    #: No foreign key: outputs are a projection the indexer may rebuild from the chain, while
    #: usage lines are the platform's own records and must survive that rebuild. A line is about
    #: an output or, for model-level revenue (subscriptions, training fees), a model: one of the two.
    output_id: int | None = Field(default=None, sa_type=ID64)
    model_id: int | None = Field(default=None, sa_type=ID64)
    platform_output_ref: str = ""
    use_type: str = Field(max_length=32)
    commercial_model: str = Field(max_length=32)
    territory: str = Field(max_length=2)
    uses: int = Field(sa_column=Column(BigInteger, nullable=False))
    revenue: int = Field(sa_column=Column(BigInteger, nullable=False))  # minor units of the report's currency
    replaces_line_id: str | None = Field(default=None, max_length=200)


class PlatformShare(SQLModel, table=True):
    """A platform's contracted share of its revenue from a date on: the projection of
    PlatformTerms.PlatformShareSet (append-only: an entry is never changed, so a period computed
    once computes the same later). ``platform`` 0x00..00 is the default, for platforms without an
    entry of their own in force."""

    __table_args__ = (UniqueConstraint("platform", "effective_from"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True, max_length=42)
    share_bps: int
    effective_from: int = Field(sa_column=Column(BigInteger, nullable=False))  # unix seconds, a UTC day's start
    set_by_key: int  # the admin API key that recorded it through this ledger (0: learnt from the chain)
    set_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
