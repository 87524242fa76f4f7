"""Request and response bodies for models and outputs."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.api.schemas import HEX32, Attributes, OwnerOut
from ledger.models.types import MAX_ID


MAX_POOL_WEIGHT = 10**9


class ModelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    version: str = Field("", max_length=100)
    weights_hash: str = Field(pattern=HEX32, description="SHA-256 (or other 32-byte digest) of the weights file.")
    work_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, max_length=1_000_000, description="The training set as work ids ...")
    content_hashes: list[Annotated[str, Field(max_length=66)]] | None = Field(None, max_length=1_000_000, description="... or as the works' content hashes.")
    pool_weights: list[Annotated[int, Field(ge=1, le=MAX_POOL_WEIGHT)]] | None = Field(
        None, max_length=1_000_000,
        description="Optional: each work's weight in the model's revenue pool, in the order of work_ids (or content_hashes). The ledger "
        "then splits model-level revenue by these weights instead of equally; they are committed with the training list's CID.",
    )
    base_model_id: int | None = Field(None, ge=1, le=MAX_ID, description="The model this one was fine-tuned from.")
    description: str = Field("", max_length=10_000)
    attributes: Attributes = Field(default_factory=dict, description="Free-form metadata (at most 64 KiB as JSON).")
    generative: bool = Field(
        True, description="Can the model generate assets? Its training then needs each work's ai_generative_training use, else ai_training."
    )


class ModelOut(BaseModel):
    model_id: int
    platform: str
    base_model_id: int | None
    name: str
    version: str
    weights_hash: str
    metadata_cid: str
    training_root: str
    training_set_size: int
    training_set_cid: str
    training_set_status: str
    generative: bool
    tx_hash: str
    block_number: int
    registered_at: int


class AuditFindingOut(BaseModel):
    work_id: int
    declared_by: int
    status: str = Field(
        description="licensed | licensed_under_constraints | unregistered | registered_after_model | training_forbidden | "
        "constraints_not_accepted | expired | creator_finetune_not_allowed | consent_conflict"
    )
    terms_version: int | None
    detail: str = ""


class OneCreatorOut(BaseModel):
    model_id: int = Field(description="The fine-tune whose own training set is mostly one holder's works")
    holder: str
    works: int
    of: int
    share_bps: int


class AuditOut(BaseModel):
    model_id: int
    clean: bool = Field(description="Every work registered and licensed for the model's kind of training when its model was registered.")
    use: str = Field(description="The use the model's training needs: ai_generative_training (generative models) or ai_training")
    works: int
    counts: dict[str, int]
    problems: list[AuditFindingOut]
    unavailable_sets: list[int]
    one_creator: list[OneCreatorOut] = Field(description="Fine-tunes in the lineage aimed at one holder (their works then need creator_finetune)")
    consent_conflicts: int = Field(description="Works whose consent evidence reserves the use the terms allow")


class ProofOut(BaseModel):
    model_id: int
    declared_by: int
    work_id: int
    leaf: str
    root: str
    proof: list[str]
    verified_on_chain: bool


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    work_id: int = Field(ge=1, le=MAX_ID)
    weight_bps: int = Field(ge=1, le=10_000)
    kind: Literal["training", "reference"] = Field(
        "training",
        description="training: the work is in the model's training set (refused otherwise); reference: the work was an input of "
        "the generation (image-to-image, style reference, retrieval), which its terms must allow (reference_allowed)",
    )


class OutputIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    output_hash: str = Field(pattern=HEX32, description="SHA-256 of the generated content.")
    model_id: int = Field(ge=1, le=MAX_ID)
    links: list[LinkIn] = Field(
        max_length=64,
        description="Attribution links, weights summing to 10000 bps. Empty: the platform cannot attribute the output; its usage "
        "is then paid through its model's training-set split (equal per licensed work).",
    )
    fingerprints: dict[Annotated[str, Field(max_length=32)], Annotated[list[Annotated[str, Field(max_length=18)]], Field(min_length=1, max_length=64)]] | None = Field(
        None,
        max_length=8,
        description="Codes the platform computed (method name@version -> 64-bit codes as hex, the whole file first), instead "
        "of uploading the file: the ledger then checks the output's reliance on registered works.",
    )


class OutputBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outputs: list[OutputIn] = Field(min_length=1, max_length=5000)


class LinkOut(BaseModel):
    work_id: int
    weight_bps: int
    owners: list[OwnerOut]
    kind: str = Field("training", description="training or reference")
    in_training_set: bool | None = Field(
        description="Is the work in the training set of the output's model (or a model it was fine-tuned from)? false: a link "
        "outside the training set, recorded as the platform declared it and flagged; null: a set in the lineage is unavailable"
    )


class CorrectedLinkOut(BaseModel):
    work_id: int
    weight_bps: int
    kind: str = Field(description="training or reference")


class LinkCorrectionOut(BaseModel):
    version: int
    dispute_id: int = Field(description="The upheld attribution dispute this correction carries out")
    tx_hash: str
    effective_at: int = Field(description="Unix time of the correction's block: periods ending from then on are split by these links")
    links: list[CorrectedLinkOut]


class OutputOut(BaseModel):
    output_id: int
    output_hash: str
    model_id: int
    model_name: str
    platform: str
    links: list[LinkOut]
    links_outside_training_set: list[int] = Field(description="Linked works the model's lineage was not trained on (see links[].in_training_set)")
    derived_work_id: int | None
    tx_hash: str
    block_number: int
    registered_at: int
    link_corrections: list[LinkCorrectionOut] = Field(
        default_factory=list, description="Links arbiters set since registration (upheld attribution disputes), oldest first; `links` stays as registered"
    )
    reliance: dict[str, Any] | None = Field(
        None, description="The reliance check made while registering this output (sent with a file or fingerprints): outcome, report hash, findings."
    )


class OutputsOut(BaseModel):
    created: list[OutputOut]
    existing: list[OutputOut] = Field(description="Already on record with the same model and links (idempotent retry).")
