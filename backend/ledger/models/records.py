"""Devices enrolled to record production (projection of ProductionRecords events), the records
they signed (the ledger's own store of verified records), and the batches anchoring them."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class Device(SQLModel, table=True):
    address: str = Field(primary_key=True, max_length=42)
    owner: str = Field(index=True, max_length=42)
    scope: int  # bit i: may record ACTIONS[i]
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    revoked_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    label: str = Field(max_length=200)
    enrolled_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    enrolled_tx: str = Field(max_length=66)
    revoked_tx: str | None = Field(default=None, max_length=66)


class ProductionRecord(SQLModel, table=True):
    """A record a device signed, verified against its enrolment when the ledger received it."""

    record_hash: str = Field(primary_key=True, max_length=66)  # the EIP-712 digest
    device: str = Field(index=True, max_length=42)
    action: int
    content_hash: str = Field(index=True, max_length=66)
    tool: str = Field(max_length=200)
    tool_version: str = Field(max_length=200)
    model_id: int | None = Field(default=None, index=True, sa_type=ID64)
    author: str = Field(index=True, max_length=42)
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    prompt_hash: str | None = Field(default=None, max_length=66)  # a generation's prompt, by hash
    received_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    signature: str = Field(max_length=132)
    batch_id: int | None = Field(default=None, index=True, sa_type=ID64)


class RecordInput(SQLModel, table=True):
    """One input of a record: the production graph's edges, by content hash."""

    record_hash: str = Field(primary_key=True, foreign_key="productionrecord.record_hash", max_length=66)
    position: int = Field(primary_key=True)
    input_hash: str = Field(index=True, max_length=66)


class RecordBatch(SQLModel, table=True):
    """A batch of record hashes anchored as one Merkle root (``ProductionRecords.anchor``)."""

    batch_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    root: str = Field(max_length=66)
    count: int
    records_cid: str = Field(max_length=100)  # JSON list of the record hashes, in leaf order
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
