"""Evidence the ledger computes itself: fingerprints of files, and the reports it made from them.

Not projections of chain events: they are derived from files (which the chain does not hold),
so they are kept here and recomputed from the content store (``ledger evidence backfill``).
Reports are hashed when made, so a report's hash anchored on chain proves what the ledger
saw at that moment.
"""

from sqlalchemy import BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class FileEvidence(SQLModel, table=True):
    """A file the ledger has seen, by its SHA-256 (a work's content hash or an output's hash)."""

    content_hash: str = Field(primary_key=True, max_length=66)
    media: str | None = Field(default=None, max_length=8)  # image, text, or None (no method reads it)
    width: int = 0
    height: int = 0
    iscc: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON: ISCC units and composite
    file_cid: str | None = Field(default=None, max_length=100)  # where the file is in the content store
    #: work_upload, output_upload, output_fingerprints (codes sent by the platform), backfill
    source: str = Field(max_length=24)
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class Fingerprint(SQLModel, table=True):
    """A file's codes under one method: the similarity index is rebuilt from these rows (its keys
    are ``id * 64 + position``)."""

    __table_args__ = (UniqueConstraint("content_hash", "method"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID64)
    content_hash: str = Field(index=True, max_length=66)
    method: str = Field(index=True, max_length=32)  # name@version
    codes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # 8 bytes per code; first: the whole file


class EvidenceReport(SQLModel, table=True):
    """What the ledger found when a file was registered: a work's similar registrations by other
    holders (``registration``) or an output's reliance check (``reliance``)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=ID64)
    kind: str = Field(max_length=16, index=True)
    content_hash: str = Field(index=True, max_length=66)
    account: str = Field(max_length=42, index=True)  # who registered the file
    outcome: str = Field(max_length=16)  # clear, warned, refused
    document: str = Field(sa_column=Column(Text, nullable=False))  # RFC 8785 canonical JSON
    document_hash: str = Field(max_length=66, index=True)  # keccak256 of ``document``
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    batch_id: int | None = Field(default=None, index=True, sa_type=ID64)  # the EvidenceAnchor batch holding its hash


class EvidenceBatch(SQLModel, table=True):
    """A batch of report hashes anchored as one Merkle root (``EvidenceAnchor.anchor``)."""

    batch_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    root: str = Field(max_length=66)
    count: int
    reports_cid: str = Field(max_length=100)  # JSON list of the report hashes, in leaf order
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))


class ReliancePolicy(SQLModel, table=True):
    """A model's stated policy for reliance findings: ``warn`` (register, report) or ``refuse`` (409)."""

    model_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    policy: str = Field(max_length=8)
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))
