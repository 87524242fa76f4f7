"""Request and response bodies: validation at the edge, so services get well-formed input."""

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ledger.consent.uses import MAX_CONSTRAINTS_LENGTH, any_constrained, from_document, from_flags, pack

HEX32 = r"^0x[0-9a-fA-F]{64}$"
#: Free-form attributes live in the metadata JSON every later read loads: keep them small.
MAX_ATTRIBUTES_BYTES = 64 * 1024
Address = Annotated[str, Field(max_length=64, description="An Ethereum address (0x + 40 hex digits).")]


def _bounded_attributes(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"attributes may take at most {MAX_ATTRIBUTES_BYTES} bytes as JSON; these take {size}")
    return value


Attributes = Annotated[dict[str, Any], AfterValidator(_bounded_attributes)]


UseState = Literal["allowed", "notAllowed", "constrained"]


class UsesIn(BaseModel):
    """Each use's state, in the words of the CAWG training-and-data-mining assertion (uses left
    out are notAllowed: absence of consent is no consent)."""

    model_config = ConfigDict(extra="forbid")
    data_mining: UseState = Field("notAllowed", description="Text and data mining: extracting patterns, trends and correlations.")
    ai_inference: UseState = Field("notAllowed", description="Input to a trained AI/ML model to infer a result.")
    ai_generative_training: UseState = Field("notAllowed", description="Training data for AI/ML models that can generate assets.")
    ai_training: UseState = Field("notAllowed", description="Training data for non-generative AI/ML models (classification, detection...).")
    reference: UseState = Field(
        "notAllowed", description="A generation may take the work as an input (image-to-image, style reference, retrieval) and pay it. Reference links need allowed."
    )
    creator_finetune: UseState = Field(
        "notAllowed", description="A fine-tune whose training set is mostly this holder's works, aimed at reproducing its expression."
    )


class TermsIn(BaseModel):
    """Either ``uses`` (each use's state) or the shorthand of terms format 1 (``training_allowed``,
    ``reference_allowed``), not both."""

    model_config = ConfigDict(extra="forbid")
    uses: UsesIn | None = Field(None, description="Each use's state (CAWG's allowed, notAllowed, constrained).")
    constraints: str = Field(
        "", max_length=256, description="What constrained uses are constrained by (e.g. the CID or URL of a licence text): required with a constrained use, else empty."
    )
    training_allowed: bool | None = Field(
        None, description="Shorthand: true allows data_mining, ai_generative_training and ai_training (what format 1's training flag meant)."
    )
    royalty_bps: int = Field(ge=0, le=10_000, description="Share of attributed revenue the work claims, in basis points.")
    expires_at: int = Field(0, ge=0, le=2**40 - 1, description="Unix time the license ends; 0 = until revoked.")
    reference_allowed: bool | None = Field(None, description="Shorthand, with training_allowed: true allows reference and ai_inference.")

    @model_validator(mode="after")
    def _one_form(self) -> "TermsIn":
        if self.uses is None and self.training_allowed is None:
            raise ValueError("terms need uses (each use's state) or the shorthand training_allowed")
        if self.uses is not None and (self.training_allowed is not None or self.reference_allowed is not None):
            raise ValueError("give uses or the shorthand training_allowed/reference_allowed, not both")
        if len(self.constraints.encode()) > MAX_CONSTRAINTS_LENGTH:
            raise ValueError(f"constraints take at most {MAX_CONSTRAINTS_LENGTH} bytes of UTF-8")
        constrained = any_constrained(self.word())
        if constrained and not self.constraints.strip():
            raise ValueError("a constrained use needs constraints: what it is constrained by (e.g. a licence's CID or URL)")
        if not constrained and self.constraints:
            raise ValueError("constraints are only for constrained uses; no use is constrained")
        return self

    def word(self) -> int:
        """The contract's terms word."""
        if self.uses is None:
            return from_flags(bool(self.training_allowed), bool(self.reference_allowed))
        return pack(from_document(self.uses.model_dump()))


class OwnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(max_length=64, description="Owner's Ethereum address.")
    payout: str | None = Field(None, max_length=64, description="Where its payouts go; default: the account itself.")
    share_bps: int = Field(ge=1, le=10_000, description="Share in basis points; all owners sum to 10000.")


class WorkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500)
    description: str = Field("", max_length=10_000)
    content_hash: str | None = Field(None, pattern=HEX32, description="SHA-256 of the file, when no file is uploaded.")
    terms: TermsIn
    owners: list[OwnerIn] | None = Field(None, max_length=10_000, description="Default: the holder owns 100 %.")
    attributes: Attributes = Field(default_factory=dict, description="Free-form metadata kept in the metadata JSON (at most 64 KiB).")
    on_similar: Literal["warn", "refuse"] = Field(
        "warn",
        description="When the uploaded file looks like a work another holder registered: warn (201 with `warnings`) or refuse (409 with the matches).",
    )


class WorkBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    works: list[WorkSpec] = Field(min_length=1, max_length=200)


class RegisteredOut(BaseModel):
    work_id: int
    content_hash: str
    metadata_cid: str
    file_cid: str | None
    tx_hash: str
    block_number: int
    warnings: list[dict[str, Any]] = Field(default_factory=list, description="Registered works of other holders the file looks like; consent signals the file carries that are stricter than the terms (kind consent_conflict).")
    evidence_report: str | None = Field(None, description="keccak256 of the registration's evidence report (GET /evidence/reports/{hash}).")


class OwnerOut(BaseModel):
    account: str
    payout: str
    share_bps: int


class TermsOut(BaseModel):
    uses: dict[str, UseState] = Field(description="Each use's state (CAWG's words; reference and creator_finetune are this ledger's).")
    constraints: str = Field("", description="What constrained uses are constrained by.")
    training_allowed: bool = Field(description="ai_generative_training is allowed (kept for format-1 readers).")
    reference_allowed: bool = Field(False, description="reference is allowed (kept for format-1 readers).")
    royalty_bps: int
    expires_at: int


class TermsVersionOut(TermsOut):
    version: int
    effective_block: int
    effective_at: int
    tx_hash: str


class WorkOut(BaseModel):
    work_id: int
    content_hash: str
    manager: str
    metadata_cid: str
    terms: TermsOut
    terms_version: int
    owners: list[OwnerOut]
    owners_hash: str
    tx_hash: str
    block_number: int
    registered_at: int


class WorkDetailOut(WorkOut):
    terms_history: list[TermsVersionOut]
    metadata: dict[str, Any] | None = Field(description="The metadata JSON behind metadata_cid, if the store has it.")
    metadata_status: str = Field(
        description="ok; invalid_cid (the chain names no usable CID), missing (not in the content store), too_large or not_json: "
        "the registration stands, its metadata cannot be shown"
    )


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern="^(rights_holder|platform|accountant|auditor|admin)$", description="auditor: reads every statement in full, writes nothing")
    label: str = Field("", max_length=200)
    address: str | None = Field(None, max_length=64, description="Rights holders, platforms and accountants who sign for themselves: their address.")


class KeyOut(BaseModel):
    api_key: str = Field(description="Shown once; only its hash is stored.")
    role: str
    holder_address: str | None
    custodial: bool


class WhoAmIOut(BaseModel):
    role: str
    label: str
    holder_address: str | None = Field(description="The key's on-chain account, if its role has one")
    custodial: bool


class HealthOut(BaseModel):
    status: str = Field(description="ok, or chain_down (answered with 503)")
    chain_id: int
    chain_head: int | None = Field(description="The chain's latest block; null while it does not answer")
    chain_down_since: str | None = Field(None, description="When the chain stopped answering (UTC, ISO 8601)")
    chain_error: str | None = Field(None, description="What the last attempt to reach it said")
    indexed_block: int | None
    final_block: int | None = Field(None, description="Rows with block_number at or below it are final (LEDGER_FINALITY_DEPTH blocks below the head)")
    work_registry: str
    works: int
    incidents: list[dict[str, Any]]


class PreparedOut(BaseModel):
    content_hash: str
    metadata_cid: str
    file_cid: str | None


class SignatureRequiredOut(BaseModel):
    """Answer (202) to a self-custodied holder: sign `typed_data` (EIP-712, e.g. eth_signTypedData_v4)
    and POST its `message` with the signature to /relay."""

    status: str = "signature_required"
    typed_data: dict[str, Any]
    works: list[PreparedOut] = Field(default_factory=list)


class ManagerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manager: Address


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payout: Address


class ShareTransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Address
    share_bps: int = Field(ge=1, le=10_000)
    to_payout: str | None = Field(None, max_length=64, description="Payout address if `to` is a new owner; default: `to`.")


class RelayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: dict[str, Any] = Field(description="`typed_data.message` as prepared by the ledger.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class RelayOut(BaseModel):
    tx_hash: str
    block_number: int
    works: list[RegisteredOut] = Field(default_factory=list, description="Works the transaction registered.")


class AnchorProofOut(BaseModel):
    """Where a hash (an evidence report, a production record) is anchored on chain: its batch, the
    batch's Merkle root and transaction, and the proof, checked against the contract."""

    batch_id: int
    root: str
    proof: list[str] = Field(description="StandardMerkleTree proof of the hash (a bytes32 leaf) in the batch")
    tx_hash: str
    block_number: int
    contract: str = Field(description="The anchoring contract (EvidenceAnchor, ProductionRecords): contains(batch_id, hash, proof) checks it")
    verified_on_chain: bool
