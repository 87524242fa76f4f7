"""Platforms' contracted revenue shares (admin records them; admins and accountants read them)."""

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import Admin, LedgerDep, require
from ledger.models import ApiKey, Role
from ledger.runtime import Ledger
from ledger.services import platform_shares as svc

router = APIRouter(prefix="/platforms", tags=["platforms"])


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share_bps: int = Field(ge=0, le=10_000, description="The platform's share of its revenue, basis points (3000 = 30 %)")
    effective_from: str = Field(max_length=10, description="YYYY-MM-DD (UTC): reports whose period starts on or after it use this share")


class ShareOut(BaseModel):
    share_bps: int
    effective_from: str
    set_at: str


class SharesOut(BaseModel):
    platform: str
    default_bps: int = Field(description="The default share in force today (platform 0x00..00's entries): applies where the platform has no entry in force")
    entries: list[ShareOut]


def _out(ledger: Ledger, address: str) -> SharesOut:
    entries = [ShareOut(**e.__dict__) for e in svc.history(ledger, address)]
    return SharesOut(platform=svc.platform_address(address), default_bps=svc.default_share(ledger, int(time.time())), entries=entries)


@router.put("/{address}/shares", status_code=201, response_model=SharesOut, responses={200: {"model": SharesOut}})
async def record_share(
    address: str, body: ShareIn, key: Admin, ledger: LedgerDep
) -> JSONResponse:
    """Records a share from a date on, on chain (PlatformTerms); address 0x00..00 sets the default.
    201 recorded, 200 already recorded, 409 another share was already recorded for that date
    (entries are never changed) or a statement already paid that platform's usage on or after it."""
    created = await run_in_threadpool(svc.record, ledger, key, address, body.share_bps, body.effective_from)
    return JSONResponse(status_code=201 if created else 200, content=_out(ledger, address).model_dump())


@router.get("/{address}/shares", response_model=SharesOut)
def shares(address: str, _: Annotated[ApiKey, Depends(require(Role.admin, Role.accountant))], ledger: LedgerDep) -> SharesOut:
    return _out(ledger, address)
