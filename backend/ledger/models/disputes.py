"""Projection of DisputeRegistry events: every dispute, its subject and its state."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class Dispute(SQLModel, table=True):
    dispute_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=16, index=True)  # registration, attribution
    claimant: str = Field(max_length=42, index=True)
    work_id: int | None = Field(default=None, index=True, sa_type=ID64)  # registration: the contested work
    output_hash: str | None = Field(default=None, max_length=66, index=True)  # attribution: the contested output
    claimed_work_id: int | None = Field(default=None, index=True, sa_type=ID64)  # the claimant's own work
    evidence_cid: str
    state: str = Field(max_length=16, index=True)  # open, upheld, rejected, withdrawn
    opened_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    opened_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    opened_tx: str = Field(max_length=66)
    closed_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    closed_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    closed_tx: str | None = Field(default=None, max_length=66)
    arbiter: str | None = Field(default=None, max_length=42)
    reason_cid: str | None = None
    #: the transaction that carried out an upheld dispute: WorkReassigned (registration) or
    #: LinksCorrected (attribution)
    correction_tx: str | None = Field(default=None, max_length=66)
    correction_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    corrected_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # its block's time
