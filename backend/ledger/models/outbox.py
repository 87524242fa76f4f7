"""Transactions the ledger signed, recorded before they are broadcast."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class OutboxTx(SQLModel, table=True):
    """One signed transaction. Written (and committed) before the broadcast, settled when its
    receipt is seen: after a crash anywhere in between, the ledger finds it here on start and
    either sees it mined, broadcasts the very same signed bytes again (same nonce, same hash: it
    can never be sent twice), or records that its nonce went to another transaction."""

    __tablename__ = "outboxtx"
    tx_hash: str = Field(primary_key=True, max_length=66)
    sender: str = Field(index=True, max_length=42)
    nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    purpose: str = Field(max_length=100)  # the contract function, for operators
    raw: str = Field(sa_column=Column(Text, nullable=False))  # 0x-hex signed transaction
    status: str = Field(index=True, max_length=16)  # pending, mined, reverted, dropped
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    settled_at: datetime | None = None
