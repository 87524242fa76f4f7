"""Advances: an accountant records a minimum guarantee paid to a holder; statements recoup it."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import Accountant, LedgerDep, Limit, Offset, Reader
from ledger.api.routers.operations import ASYNC_ANSWER, answered
from ledger.codes import currency_exponent
from ledger.models import Advance
from ledger.services import advances as svc

router = APIRouter(prefix="/advances", tags=["statements"])


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(max_length=64, description="The holder's account the advance was paid to (its owner address)")
    currency: str = Field(max_length=3, description="ISO 4217; statements in this currency recoup it")
    amount: int = Field(ge=1, le=svc.MAX_AMOUNT, description="Minor units of the currency")
    note: str = Field(min_length=1, max_length=200, description="The payer's reference (contract or invoice number): with the account and currency, the advance's identity")
    payer: str | None = Field(None, max_length=64, description="Who paid it (an address), if it is on record")


class AdvanceOut(BaseModel):
    advance_id: str
    account: str
    currency: str
    minor_unit_exponent: int
    amount: int
    payer: str
    note: str
    accountant: str
    tx_hash: str
    block_number: int
    recorded_at: int


class PendingAdvanceOut(BaseModel):
    advance_id: str
    typed_data: dict[str, Any] = Field(description="A self-signing accountant signs this and POSTs it to /relay")


def _out(a: Advance) -> AdvanceOut:
    return AdvanceOut(minor_unit_exponent=currency_exponent(a.currency), **a.model_dump())


@router.post(
    "", status_code=201, response_model=AdvanceOut,
    responses={200: {"model": AdvanceOut, "description": "Already recorded"}, 202: {"model": PendingAdvanceOut}, **ASYNC_ANSWER},
)  # fmt: skip
async def record_advance(request: Request, body: AdvanceIn, key: Accountant, ledger: LedgerDep) -> Any:
    """Records an advance (minimum guarantee) paid to a holder outside the ledger, on chain: the
    next statement in its currency counts it, and statements recoup it from the holder's earnings
    before paying anything. 201 recorded; 200 the same advance was already recorded; 409 the
    reference is recorded with another amount or payer."""
    def answer() -> tuple[int, Any]:
        result = svc.record(ledger, key, body.account, body.currency, body.amount, body.note, body.payer)
        if result.advance is None:
            return 202, PendingAdvanceOut(advance_id=result.advance_id, typed_data=result.typed_data or {}).model_dump(mode="json")
        return (201 if result.created else 200), _out(result.advance).model_dump(mode="json")

    return await answered(request, ledger, key, "record_advance", answer)


@router.get("", response_model=list[AdvanceOut])
async def list_advances(
    key: Reader, ledger: LedgerDep, limit: Limit = 100, offset: Offset = 0,
    currency: Annotated[str | None, Query(max_length=3, description="Only this currency")] = None,
    account: Annotated[str | None, Query(max_length=64, description="Only this account (a holder: its own)")] = None,
) -> Any:  # fmt: skip
    """Advances recorded, newest first: a holder's own; accountants and admins see every one."""
    return [_out(a) for a in await run_in_threadpool(svc.listed, ledger, key, currency, account, limit, offset)]
