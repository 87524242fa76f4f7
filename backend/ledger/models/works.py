"""Projection of WorkRegistry events: rebuilt from logs alone, never written by the API directly."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class Work(SQLModel, table=True):
    work_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    content_hash: str = Field(index=True, unique=True, max_length=66)  # 0x + 64 hex
    manager: str = Field(index=True, max_length=42)
    metadata_cid: str
    uses: int = 0  # WorkRegistry's terms word, format 2: one state per use (ledger.consent.uses)
    constraints: str = Field(default="", max_length=256)  # what constrained uses are constrained by
    royalty_bps: int
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # 0 = until revoked
    terms_version: int
    owners_hash: str = Field(max_length=66)
    tx_hash: str = Field(index=True, max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_index: int
    registered_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # block timestamp


class WorkOwner(SQLModel, table=True):
    work_id: int = Field(primary_key=True, foreign_key="work.work_id", sa_type=ID64)
    account: str = Field(primary_key=True, max_length=42, index=True)
    payout: str = Field(max_length=42)
    share_bps: int


class WorkTermsVersion(SQLModel, table=True):
    """Every version of a work's terms, so later questions ("was training allowed when the model
    was registered?") are answered from history, not from the current terms."""

    work_id: int = Field(primary_key=True, foreign_key="work.work_id", sa_type=ID64)
    version: int = Field(primary_key=True)
    uses: int = 0
    constraints: str = Field(default="", max_length=256)
    royalty_bps: int
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    effective_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: Position in the block, to order a terms change against a model or output in the same block.
    effective_log_index: int = 0
    effective_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str = Field(max_length=66)


class WorkOwnerVersion(SQLModel, table=True):
    """Every version of a work's owner list (one row per owner per version), so a royalty run for
    a past period pays the owners and payout addresses in force at that period's end, whatever
    changed since: re-running a period gives the same statement."""

    work_id: int = Field(primary_key=True, foreign_key="work.work_id", sa_type=ID64)
    version: int = Field(primary_key=True)
    account: str = Field(primary_key=True, max_length=42)
    payout: str = Field(max_length=42)
    share_bps: int
    effective_at: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))  # block timestamp
    effective_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    effective_log_index: int


class OwnerPosition(SQLModel, table=True):
    """An owner's own position on each use of a work (WorkRegistry ``PositionRecorded``), the last
    one it recorded. Positions do not change the terms: the manager's terms govern, and a use they
    allow against an owner's position shows as that owner's dissent."""

    work_id: int = Field(primary_key=True, foreign_key="work.work_id", sa_type=ID64)
    account: str = Field(primary_key=True, max_length=42)
    positions: int  # same encoding as the terms word
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded_at: int = Field(sa_column=Column(BigInteger, nullable=False))
