"""Projection of ModelRegistry and OutputRegistry events: models, training sets, outputs, links."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from ledger.models.types import ID64


class Model(SQLModel, table=True):
    model_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    platform: str = Field(index=True, max_length=42)
    base_model_id: int | None = Field(default=None, index=True, sa_type=ID64)
    name: str
    version: str
    weights_hash: str = Field(max_length=66)
    metadata_cid: str
    training_root: str = Field(max_length=66)
    training_set_size: int
    training_set_cid: str
    #: "verified" (list fetched, root rebuilt and equal), "unavailable" (list not in the content
    #: store), or "root_mismatch" (the list does not hash to the committed root).
    training_set_status: str = Field(max_length=16)
    #: Can the model generate assets? Its training needs ``ai_generative_training``, else ``ai_training``.
    generative: bool = True
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_index: int
    registered_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class ConstraintAcceptance(SQLModel, table=True):
    """A platform accepted the licence text a constraints reference names (ModelRegistry
    ``ConstraintsAccepted``): works constrained by it count as allowed for the platform's models
    registered after this point."""

    platform: str = Field(primary_key=True, max_length=42)
    constraints: str = Field(primary_key=True, max_length=256)
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_index: int
    accepted_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class ModelTrainingWork(SQLModel, table=True):
    """A work a model's own training set lists (inherited works stay with the base model). No
    foreign key to ``work``: a platform may declare a work that was never registered, and the
    audit must be able to say so."""

    model_id: int = Field(primary_key=True, foreign_key="model.model_id", sa_type=ID64)
    work_id: int = Field(primary_key=True, index=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    #: The work's weight in the model's revenue pool, as the training list declares it (0: none declared, equal shares).
    pool_weight: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Output(SQLModel, table=True):
    output_id: int = Field(primary_key=True, sa_type=ID64, sa_column_kwargs={"autoincrement": False})
    output_hash: str = Field(unique=True, index=True, max_length=66)
    model_id: int = Field(foreign_key="model.model_id", index=True, sa_type=ID64)
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_index: int
    registered_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class OutputLink(SQLModel, table=True):
    output_id: int = Field(primary_key=True, foreign_key="output.output_id", sa_type=ID64)
    work_id: int = Field(primary_key=True, foreign_key="work.work_id", index=True, sa_type=ID64)
    weight_bps: int
    kind: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # OutputRegistry.LinkKind: 0 training, 1 reference


class OutputLinkCorrection(SQLModel, table=True):
    """Links an arbiter set on an output (OutputRegistry.LinksCorrected), carrying out an upheld
    attribution dispute. The registered links (``OutputLink``) stay as they were; a correction
    replaces them from its block on, so a period that ended before it still splits the same."""

    output_id: int = Field(primary_key=True, foreign_key="output.output_id", sa_type=ID64)
    version: int = Field(primary_key=True)  # 1, 2, ... per output
    work_id: int = Field(primary_key=True, foreign_key="work.work_id", sa_type=ID64)
    weight_bps: int
    kind: int
    dispute_id: int = Field(index=True, sa_type=ID64)
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_index: int
    effective_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # the block's time
