"""Disputes: holders contest registrations and attributions; arbiters decide them."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import Arbiter, Holder, LedgerDep, Limit, Offset, Reader
from ledger.api.routers.operations import ASYNC_ANSWER, answered, relayed
from ledger.api.schemas import HEX32, SignatureRequiredOut
from ledger.api.schemas_ai import LinkIn
from ledger.api.uploads import read_upload
from ledger.chain.registry import Owner
from ledger.models import Dispute
from ledger.models.types import MAX_ID
from ledger.services import disputes as svc

KIND_CODES = {"training": 0, "reference": 1}
router = APIRouter(prefix="/disputes", tags=["disputes"])
DisputeId = Annotated[int, Path(ge=1, le=MAX_ID, description="A dispute's id on chain")]


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["registration", "attribution"] = Field(
        description="registration: the work is yours and someone else registered it; attribution: the output relies on your work"
    )
    statement: str = Field(min_length=1, max_length=svc.MAX_STATEMENT, description="Why the claim is right, in your words.")
    work_id: int | None = Field(None, ge=1, le=MAX_ID, description="registration: the contested work")
    output_hash: str | None = Field(None, pattern=HEX32, description="attribution: the contested output")
    claimed_work_id: int | None = Field(None, ge=1, le=MAX_ID, description="Your own registered work the claim is about (required for attribution).")


class OwnerShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    payout: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{40}$")
    share_bps: int = Field(ge=1, le=10_000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    reason: str = Field(min_length=1, max_length=svc.MAX_STATEMENT)
    owners: list[OwnerShareIn] | None = Field(
        None, max_length=512, description="Upheld registration dispute: the work's new owners (default: the claimant, 100 %)."
    )
    links: list[LinkIn] | None = Field(
        None, min_length=1, max_length=64,
        description="Upheld attribution dispute (required): the output's corrected links, the claimed work among them. What "
        "statements held for the output is paid by them, and its later usage too.",
    )  # fmt: skip


class DisputeOut(BaseModel):
    dispute_id: int
    kind: str
    claimant: str
    work_id: int | None
    output_hash: str | None
    claimed_work_id: int | None
    evidence_cid: str
    state: str = Field(description="open, upheld, rejected or withdrawn")
    opened_at: int
    opened_tx: str
    closed_at: int | None
    closed_tx: str | None
    arbiter: str | None
    reason_cid: str | None
    correction_tx: str | None = Field(
        description="The transaction carrying out an upheld dispute: WorkRegistry.reassign (registration) or OutputRegistry.correctLinks (attribution)"
    )


def _out(d: Dispute) -> DisputeOut:
    return DisputeOut.model_validate(d, from_attributes=True)


@router.post("", status_code=201, response_model=DisputeOut, responses={202: {"model": SignatureRequiredOut}, **ASYNC_ANSWER})
async def open_dispute(request: Request, key: Holder, ledger: LedgerDep) -> Any:
    """Contests a work's registration or an output's attribution, on chain. Send JSON, or
    multipart with your own copy of the file (`file`) beside the `dispute` JSON: the ledger
    stores it and records how it compares with the contested file."""
    upload = await read_upload(request, ledger, "dispute", DisputeIn)
    spec = upload.spec
    req = svc.DisputeRequest(spec.kind, spec.statement, spec.work_id, spec.output_hash, spec.claimed_work_id, upload.file)

    return await answered(request, ledger, key, "open_dispute", lambda: relayed(svc.open_dispute(ledger, key, req), 201, _out))


@router.get("", response_model=list[DisputeOut])
def list_disputes(
    _: Reader,
    ledger: LedgerDep,
    state: Annotated[Literal["open", "upheld", "rejected", "withdrawn"] | None, Query()] = None,
    work_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Disputes about this work (contested or claimed)")] = None,
    claimant: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DisputeOut]:
    return [_out(d) for d in svc.list_disputes(ledger, state, work_id, claimant, limit, offset)]


@router.get("/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: DisputeId, _: Reader, ledger: LedgerDep) -> DisputeOut:
    return _out(svc.get_dispute(ledger, dispute_id))


@router.post("/{dispute_id}/decision", response_model=DisputeOut, responses=ASYNC_ANSWER)
async def decide(request: Request, dispute_id: DisputeId, body: DecisionIn, key: Arbiter, ledger: LedgerDep) -> JSONResponse:
    """The arbiter upholds or rejects an open dispute. Upholding a registration dispute gives the
    work to the claimant from now on (WorkRegistry.reassign); upholding an attribution dispute
    replaces the output's links by `links` (OutputRegistry.correctLinks). Retrying the same
    decision finishes one whose correction did not go through; another decision is 409."""
    owners = [Owner(o.account, o.payout or o.account, o.share_bps) for o in body.owners] if body.owners else None
    links = [(link.work_id, link.weight_bps, KIND_CODES[link.kind]) for link in body.links] if body.links else None
    return await answered(
        request, ledger, key, "decide_dispute", lambda: (200, _out(svc.resolve(ledger, key, dispute_id, body.upheld, body.reason, owners, links)).model_dump(mode="json"))
    )


@router.post("/{dispute_id}/withdrawal", response_model=DisputeOut, responses=ASYNC_ANSWER)
async def withdraw(request: Request, dispute_id: DisputeId, key: Holder, ledger: LedgerDep) -> JSONResponse:
    """The claimant withdraws its open dispute."""
    return await answered(request, ledger, key, "withdraw_dispute", lambda: (200, _out(svc.withdraw(ledger, key, dispute_id)).model_dump(mode="json")))
