"""Usage reports from platforms: CSV upload (streamed) or JSON, each all-or-nothing and anchored."""

import io
import tempfile
from collections.abc import Callable
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from ledger.api.deps import LedgerDep, Limit, Offset, Platform, require
from ledger.api.routers.operations import ASYNC_ANSWER, answered
from ledger.dates import iso_day
from ledger.models import ApiKey, Role
from ledger.models.types import MAX_ID
from ledger.runtime import Ledger
from ledger.services import usage as svc
from ledger.services.errors import InvalidInput

router = APIRouter(prefix="/usage", tags=["usage"])


class ReportHeaderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report_id: str = Field(max_length=200)
    platform: str = Field(max_length=64, description="The reporting platform's account; must be this key's.")
    period_start: str = Field(max_length=10, description="YYYY-MM-DD, inclusive")
    period_end: str = Field(max_length=10, description="YYYY-MM-DD, inclusive")
    currency: str = Field(max_length=3, description="ISO 4217")
    corrects_report_id: str | None = Field(None, max_length=200)


class UsageLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_id: str = Field(max_length=200)
    output_hash: str = Field("", max_length=66, description="The output the revenue is for (0x + SHA-256); or give model_id")
    model_id: int | None = Field(
        None, ge=1, le=MAX_ID,
        description="Model-level revenue (subscription, api_access, training_fee, model_licence): paid over the model's training set",
    )
    platform_output_id: str = Field("", max_length=200)
    use_type: str = Field(max_length=32)
    commercial_model: str = Field(max_length=32)
    territory: str = Field(max_length=2)
    uses: int
    revenue: int = Field(description="Minor units of the report's currency.")
    replaces_line_id: str | None = Field(None, max_length=200)


class UsageReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report: ReportHeaderIn
    lines: list[UsageLineIn] = Field(min_length=1, max_length=100_000)


class ImportOut(BaseModel):
    report_id: str
    created: bool
    line_count: int
    total_revenue: int
    batch_hash: str
    anchor_tx: str = Field(description='"" until the anchor is on chain (self-signing platforms: after /relay)')
    typed_data: dict[str, Any] | None = Field(None, description="Self-signing platforms: the anchor request to sign")


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": ImportOut, "description": "Already imported: nothing changed"},
    202: {"model": ImportOut, "description": "Stored; a self-signing platform signs `typed_data` and POSTs it to /relay"},
    **ASYNC_ANSWER,
}
#: How much of a text/csv body is held in memory before it goes to a temporary file.
_SPOOL_BYTES = 16 * 2**20


def _answer(result: svc.ImportResult) -> tuple[int, Any]:
    status = 202 if result.typed_data is not None else 201 if result.created else 200
    return status, ImportOut(**result.__dict__).model_dump(mode="json")


async def _import(request: Request, ledger: Ledger, key: ApiKey, run: Callable[[], svc.ImportResult], done: Callable[[], None] = lambda: None) -> JSONResponse:
    """Answers once the report is imported and anchored, or (``Prefer: respond-async``) 202 at
    once, the same answer kept for ``GET /operations/{id}``: a report of millions of lines takes
    minutes. ``done`` releases what ``run`` reads (its spooled file), however it ends."""
    def answer() -> tuple[int, Any]:
        try:
            return _answer(run())
        finally:
            done()

    return await answered(request, ledger, key, "import_usage", answer)


@router.post("", status_code=201, response_model=ImportOut, responses=_ANSWERS)
async def report_usage(request: Request, body: UsageReportIn, key: Platform, ledger: LedgerDep) -> Any:
    """A usage report as JSON (same rules as the file format). 201 imported, 200 already imported,
    202 stored and waiting for a self-signing platform's signed anchor. With
    `Prefer: respond-async`, answers 202 at once and imports in the background."""
    records = svc.records_from_json(body.report.model_dump(), [line.model_dump() for line in body.lines])
    return await _import(request, ledger, key, lambda: svc.import_report(ledger, key, records))


@router.post("/reports", status_code=201, response_model=ImportOut, responses=_ANSWERS)
async def upload_report(request: Request, key: Platform, ledger: LedgerDep) -> Any:
    """A usage report file (docs/usage-format.md), as multipart `file` or a text/csv body; read as
    a stream, so files of millions of lines are fine. A bad line is reported with its number.
    With `Prefer: respond-async`, answers 202 once the file is received and imports it in the
    background."""
    ctype = request.headers.get("content-type", "")
    raw: IO[bytes]
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_part_size=ledger.settings.max_upload_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("multipart request needs a 'file' part with the report")
        # Neither Starlette nor FastAPI closes a form read with ``request.form()`` when the request
        # ends: the import closes it (``done``), in the background too.
        raw = upload.file
    elif ctype.startswith("text/csv"):
        raw = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        async for chunk in request.stream():
            raw.write(chunk)
        raw.seek(0)
    else:
        raise InvalidInput("send the report as multipart/form-data (file) or text/csv")

    def run() -> svc.ImportResult:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
        try:
            return svc.import_report(ledger, key, svc.records_from_csv(text))
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the report is not UTF-8 text: {exc}") from exc

    return await _import(request, ledger, key, run, done=raw.close)


class ReportStatusOut(BaseModel):
    platform: str
    report_id: str
    period_start: str
    period_end: str
    currency: str
    corrects_report_id: str | None
    line_count: int
    total_revenue: int
    batch_hash: str
    anchor_tx: str
    status: str = Field(description="awaiting_signature, anchored (counted, in no statement yet) or paid")
    statement_id: str | None = Field(description="The statement that paid it")


@router.get("/reports", response_model=list[ReportStatusOut])
def list_reports(
    key: Annotated[ApiKey, Depends(require(Role.platform, Role.accountant, Role.admin))],
    ledger: LedgerDep,
    platform: Annotated[str | None, Query(max_length=64)] = None,
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$", description="ISO 4217")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ReportStatusOut]:
    """Usage reports, newest first, and where each stands; a platform sees its own."""
    rows = svc.list_reports(ledger, key, platform, currency, limit, offset)
    return [ReportStatusOut(**{**r.__dict__, "period_start": iso_day(r.period_start), "period_end": iso_day(r.period_end)}) for r in rows]
