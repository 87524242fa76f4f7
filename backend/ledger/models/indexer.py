"""Indexer bookkeeping: how far each contract's events are projected, and what went wrong."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class Checkpoint(SQLModel, table=True):
    name: str = Field(primary_key=True)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_hash: str = Field(max_length=66)


class IndexerIncident(SQLModel, table=True):
    """The chain disagreed with the database (reorg, or a local chain that lost state); the
    projection was rebuilt from the chain and this row says so, for operators and for /health."""

    id: int | None = Field(default=None, primary_key=True)
    detected_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    kind: str
    detail: str
    works_before: int
    works_after: int


class ChainBinding(SQLModel, table=True):
    """The chain and WorkRegistry whose events this database projects (one row). Facts of two
    chains must never mix: a ledger pointed at another chain with the same database is refused."""

    id: int = Field(default=1, primary_key=True)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    work_registry: str = Field(max_length=42)
    bound_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
