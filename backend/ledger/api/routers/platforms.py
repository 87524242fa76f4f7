"""Platforms' contracted revenue shares (admin records them; admins and accountants read them)."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import Admin, LedgerDep, require
from ledger.api.routers.operations import ASYNC_ANSWER, answered
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


@router.put("/{address}/shares", status_code=201, response_model=SharesOut, responses={200: {"model": SharesOut}, **ASYNC_ANSWER})
async def record_share(request: Request, address: str, body: ShareIn, key: Admin, ledger: LedgerDep) -> JSONResponse:
    """Records a share from a date on, on chain (PlatformTerms); address 0x00..00 sets the default.
    201 recorded, 200 already recorded, 409 another share was already recorded for that date
    (entries are never changed) or a statement already paid that platform's usage on or after it."""
    def answer() -> tuple[int, Any]:
        created = svc.record(ledger, key, address, body.share_bps, body.effective_from)
        return (201 if created else 200), _out(ledger, address).model_dump(mode="json")

    return await answered(request, ledger, key, "record_share", answer)


@router.get("/{address}/shares", response_model=SharesOut)
def shares(address: str, _: Annotated[ApiKey, Depends(require(Role.admin, Role.accountant))], ledger: LedgerDep) -> SharesOut:
    return _out(ledger, address)
