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


class ManifestRecord(SQLModel, table=True):
    """What a file's C2PA manifest says about how it was made, as the ledger read it: a
    production record whose signer is the manifest's certificate, not an enrolled device."""

    content_hash: str = Field(primary_key=True, max_length=66)
    manifest_label: str = Field(primary_key=True, max_length=200)
    actions: str  # JSON list of the manifest's actions
    ai_generated: bool
    software_agent: str = Field(max_length=200)  # the generator the manifest names (claim generator, or the action's softwareAgent)
    signer: str = Field(max_length=400)  # common name and issuer of the signing certificate
    validation_state: str = Field(max_length=16)  # Invalid, Valid, Trusted
    inputs: str  # JSON list of the ingredients' content hashes, where a ledger's assertion names them
    ingredients: str  # JSON list of {title, relationship, contentHash}
    model_id: int | None = Field(default=None, sa_type=ID64)  # the registered model, when the manifest is this ledger's for an output
    source: str = Field(max_length=32)  # work_upload, output_upload, manifest_upload
    recorded_at: int = Field(sa_column=Column(BigInteger, nullable=False))
