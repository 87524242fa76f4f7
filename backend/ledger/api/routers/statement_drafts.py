"""Statement drafts: an accountant computes a period, reviews it against the period before, then
publishes or discards it (docs/how-it-works.md, statements). Drafts are the accountant's and the
admin's: holders see statements once published."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ledger.api.deps import Accountant, Books, LedgerDep
from ledger.api.routers.operations import ASYNC_ANSWER, answered
from ledger.api.routers.statements import CloseIn, _outs
from ledger.codes import currency_exponent
from ledger.dates import iso_day, unix_day
from ledger.models import StatementDraft
from ledger.services import statement_drafts as svc

router = APIRouter(prefix="/statements/drafts", tags=["statements"])
DraftId = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="A draft's id (0x + 64 hex digits)")]


class DraftOut(BaseModel):
    draft_id: str = Field(description="SHA-256 of the draft document: the id the statement will have if published as it is")
    currency: str
    minor_unit_exponent: int
    period_start: str
    period_end: str
    sequence: int
    token: str
    document_cid: str
    status: str = Field(description="draft | published | discarded")
    created_at: int
    revenue: int
    holders_total: int
    payable_total: int
    entries: int


class MovementOut(BaseModel):
    key: str = Field(description="Holder account, work id or platform")
    previous: int
    current: int
    change: int


class ReviewOut(BaseModel):
    draft_id: str
    previous_period: list[str] | None = Field(description="[start, end] of the period compared with (null: the first in the currency)")
    previous_statements: list[str]
    totals: dict[str, dict[str, int]] = Field(description="revenue, platform, holders: previous, current, change")
    holders: list[MovementOut] = Field(description="Earned per holder, largest movers first")
    works: list[MovementOut] = Field(description="Amount per work, largest movers first")
    platforms: list[MovementOut] = Field(description="Revenue per platform, largest movers first")
    moved: dict[str, int] = Field(description="How many holders, works and platforms changed in all (each list shows at most 1000)")


def _out(ledger: Any, row: StatementDraft) -> DraftOut:
    doc = svc.document(ledger, row)
    return DraftOut(
        draft_id=row.draft_id, currency=row.currency, minor_unit_exponent=currency_exponent(row.currency), period_start=iso_day(row.period_start), period_end=iso_day(row.period_end),
        sequence=row.sequence, token=row.token, document_cid=row.document_cid, status=row.status, created_at=row.created_at,
        revenue=doc["revenue"], holders_total=doc["holdersTotal"], payable_total=doc["payableTotal"], entries=len(doc["entries"]),
    )  # fmt: skip


@router.post("", status_code=201, response_model=DraftOut, responses={200: {"model": DraftOut}})
async def make_draft(body: CloseIn, key: Accountant, ledger: LedgerDep) -> JSONResponse:
    """Computes the period into a draft: the document a close would publish now, with nothing
    published, funded or marked paid. 201 new, 200 the same draft exists, 409 the period is closed
    with nothing new, 422 nothing to pay."""
    row, created = await run_in_threadpool(
        svc.draft, ledger, key, unix_day(body.period_start, False), unix_day(body.period_end, True), body.currency, body.settlement_token
    )
    return JSONResponse(status_code=201 if created else 200, content=_out(ledger, row).model_dump())


@router.get("", response_model=list[DraftOut])
def list_drafts(_: Books, ledger: LedgerDep, status: Annotated[str | None, Query(max_length=16)] = None) -> list[DraftOut]:
    svc.check_status(status)
    return [_out(ledger, r) for r in svc.list_drafts(ledger, status)]


@router.get("/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: DraftId, _: Books, ledger: LedgerDep) -> DraftOut:
    return _out(ledger, svc.get_draft(ledger, draft_id))


@router.get("/{draft_id}/document", response_class=Response, responses={200: {"content": {"application/json": {}}}})
def draft_document(draft_id: DraftId, _: Books, ledger: LedgerDep) -> Response:
    """The draft's full statement document (the same shape a published statement has), as the
    canonical bytes the draft id hashes."""
    return Response(svc.document_bytes(ledger, svc.get_draft(ledger, draft_id)), media_type="application/json")


@router.get("/{draft_id}/review", response_model=ReviewOut)
async def review(draft_id: DraftId, _: Books, ledger: LedgerDep) -> ReviewOut:
    """How the draft differs from the previous period in its currency: per holder, per work, per
    platform, largest movers first, and the totals."""
    r = await run_in_threadpool(svc.review, ledger, draft_id)
    mv = lambda ms: [MovementOut(key=m.key, previous=m.previous, current=m.current, change=m.change) for m in ms]  # noqa: E731
    return ReviewOut(
        draft_id=r.draft.draft_id, previous_period=[iso_day(r.previous_period[0]), iso_day(r.previous_period[1])] if r.previous_period else None,
        previous_statements=r.previous, totals={k: {"previous": p, "current": c, "change": c - p} for k, (p, c) in r.totals.items()},
        holders=mv(r.holders), works=mv(r.works), platforms=mv(r.platforms), moved=r.moved,
    )  # fmt: skip


@router.post("/{draft_id}/publication", status_code=201, responses={409: {}, **ASYNC_ANSWER})
async def publish(request: Request, draft_id: DraftId, key: Accountant, ledger: LedgerDep) -> JSONResponse:
    """Publishes the draft: the period is closed again and published only if it comes out as this
    very document (409 if anything changed since: draft again). Answers like a close, and like a
    close takes `Prefer: respond-async`."""
    def answer() -> tuple[int, Any]:
        result = svc.publish(ledger, key, draft_id)
        status = 202 if result.typed_data is not None else 201 if result.created else 200
        return status, _outs(ledger, [result.statement], typed=result.typed_data)[0].model_dump(mode="json")

    return await answered(request, ledger, key, "publish_draft", answer)


@router.post("/{draft_id}/discard", response_model=DraftOut)
async def discard(draft_id: DraftId, _: Accountant, ledger: LedgerDep) -> DraftOut:
    """Discards a draft (a published one: 409, statements never change)."""
    return _out(ledger, await run_in_threadpool(svc.discard, ledger, draft_id))
