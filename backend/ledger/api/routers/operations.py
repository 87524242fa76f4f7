"""Writes answered 202 (``Prefer: respond-async``) and their outcome."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger.api.deps import LedgerDep, Reader
from ledger.models import ApiKey, Operation
from ledger.runtime import Ledger
from ledger.services import operations as svc
from ledger.services.signing import SignatureRequired
from ledger.api.schemas import SignatureRequiredOut

T = TypeVar("T")

router = APIRouter(tags=["operations"])


class AcceptedOut(BaseModel):
    status: str = Field("accepted", description="The write runs in the background; follow status_url")
    operation_id: str
    status_url: str


class OperationOut(BaseModel):
    operation_id: str
    kind: str
    status: str = Field(description="running, done, or interrupted (the ledger stopped first: send the request again, it is idempotent)")
    http_status: int | None = Field(description="When done: what the request would have answered had the caller waited")
    result: Any = Field(description="When done: that answer's body")
    created_at: datetime
    finished_at: datetime | None


#: The OpenAPI answer a write documents when it can run in the background.
ASYNC_ANSWER: dict[int | str, dict[str, Any]] = {
    202: {"model": AcceptedOut, "description": "With `Prefer: respond-async`: accepted; GET status_url for the outcome (or a self-custodied holder's typed data to sign)"}
}


def wants_async(request: Request) -> bool:
    """RFC 7240: the caller prefers an immediate 202 to waiting for the chain."""
    return any(p.strip().lower() == "respond-async" for p in request.headers.get("prefer", "").split(","))


def accepted(op: Operation) -> JSONResponse:
    url = f"/operations/{op.id}"
    return JSONResponse(status_code=202, headers={"Location": url, "Preference-Applied": "respond-async"}, content=AcceptedOut(operation_id=op.id, status_url=url).model_dump())


def relayed(outcome: T | SignatureRequired, status: int, out: Callable[[T], BaseModel]) -> tuple[int, Any]:
    """A relayed write's answer for ``answered``: 202 with the typed data a self-custodied
    participant signs, or ``status`` and ``out(outcome)``, the record as it is now."""
    if isinstance(outcome, SignatureRequired):
        return 202, SignatureRequiredOut(typed_data=outcome.typed_data).model_dump(mode="json")
    return status, out(outcome).model_dump(mode="json")


async def answered(request: Request, ledger: Ledger, key: ApiKey, kind: str, answer: Callable[[], tuple[int, Any]]) -> JSONResponse:
    """What a write answers: ``answer()``'s status and JSON body once it has run (in a worker
    thread: it waits for the chain), or, when the caller prefers not to wait, 202 at once and that
    same answer kept for ``GET /operations/{id}`` (``kind`` names it there)."""
    if wants_async(request):
        return accepted(await run_in_threadpool(svc.start, ledger, key, kind, answer))
    status, body = await run_in_threadpool(answer)
    return JSONResponse(status_code=status, content=body)


@router.get("/operations/{operation_id}", response_model=OperationOut)
async def operation(
    operation_id: Annotated[str, Path(max_length=32)], key: Reader, ledger: LedgerDep
) -> OperationOut:
    """The outcome of a write started with `Prefer: respond-async`; only the key that started it (or an admin) sees it."""
    op = await run_in_threadpool(svc.get, ledger, key, operation_id)
    return OperationOut(
        operation_id=op.id, kind=op.kind, status=op.status, http_status=op.http_status,
        result=None if op.body is None else json.loads(op.body), created_at=op.created_at, finished_at=op.finished_at,
    )  # fmt: skip
