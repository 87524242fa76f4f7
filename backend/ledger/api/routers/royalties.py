"""Royalty runs for accountants: who is owed what for a period, per currency, to the unit."""


from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from ledger.api.deps import Books, DayQuery, LedgerDep
from ledger.dates import unix_day
from ledger.services import royalties as svc

router = APIRouter(prefix="/royalties", tags=["royalties"])


class PayeeOut(BaseModel):
    account: str
    payout: str
    amount: int


class RunOut(BaseModel):
    currency: str
    lines: int
    revenue: int
    platform_total: int
    holders_total: int
    payees: list[PayeeOut]
    work_totals: dict[int, int]
    platform_totals: dict[str, int]


@router.get("", response_model=list[RunOut])
async def royalties(
    _: Books,
    ledger: LedgerDep,
    period_start: DayQuery,
    period_end: DayQuery,
) -> list[RunOut]:
    """Splits the effective usage of reports inside the period (per currency). Payee amounts plus
    the platform total equal the reported revenue to the unit."""
    runs = await run_in_threadpool(svc.compute, ledger, unix_day(period_start, False), unix_day(period_end, True))
    return [RunOut(**{**r.__dict__, "payees": [PayeeOut(**p.__dict__) for p in r.payees]}) for r in runs]
