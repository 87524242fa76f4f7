"""API keys with roles, and custodial holder keys (encrypted V3 keystores)."""

from datetime import datetime, timezone

from sqlmodel import Field, SQLModel

from ledger.roles import BOOKS_ROLES, Role  # noqa: F401  (re-exported: the tables name them)




class ApiKey(SQLModel, table=True):
    """Only a SHA-256 of the secret is stored; ``prefix`` finds the row without a scan."""

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(index=True, unique=True, max_length=16)
    secret_hash: str = Field(max_length=64)
    role: Role
    label: str = ""
    #: The key's on-chain account: for rights holders the one that owns and manages their works,
    #: for platforms the one that registers models and outputs.
    holder_address: str | None = Field(default=None, max_length=42, index=True)
    #: True when the ledger holds the holder's key (custodial); False when the holder signs.
    custodial: bool = False
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    revoked_at: datetime | None = None


class CustodialAccount(SQLModel, table=True):
    address: str = Field(primary_key=True, max_length=42)
    keystore_json: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
