"""Operator endpoints: API keys (admin creates; any key reads itself) and health (anyone)."""

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from ledger.api.deps import Admin, LedgerDep, Reader
from ledger.chain.health import UNREACHABLE
from ledger.api.schemas import HealthOut, KeyCreate, KeyOut, WhoAmIOut
from ledger.models import IndexerIncident, Role, Work
from ledger.services.keys import create_api_key

router = APIRouter(tags=["operator"])


@router.post("/keys", status_code=201, response_model=KeyOut)
async def create_key(
    body: KeyCreate, _: Admin, ledger: LedgerDep
) -> KeyOut:
    issued = await run_in_threadpool(create_api_key, ledger, Role(body.role), body.label, body.address)
    return KeyOut(api_key=issued.token, role=issued.role.value, holder_address=issued.holder_address, custodial=issued.custodial)


@router.get("/keys/me", response_model=WhoAmIOut)
def whoami(key: Reader) -> WhoAmIOut:
    """The role and on-chain account of the key making the request (what the portal shows)."""
    return WhoAmIOut(role=key.role.value, label=key.label, holder_address=key.holder_address, custodial=key.custodial)


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut, "description": "The chain does not answer"}})
def health(ledger: LedgerDep) -> Any:
    """200 when the chain answers; 503, with since when and why, when it does not."""
    cp = ledger.indexer.checkpoint()
    with Session(ledger.engine) as s:
        works = s.exec(select(func.count()).select_from(Work)).one()
        incidents = s.exec(select(IndexerIncident).order_by(col(IndexerIncident.id).desc()).limit(10)).all()
    try:
        head: int | None = ledger.w3.eth.block_number
        ledger.chain_health.answered()
    except UNREACHABLE as exc:
        head = None
        ledger.chain_health.failed(exc)
    chain = ledger.chain_health.state()
    body = HealthOut(
        status="ok" if chain.up else "chain_down",
        chain_id=ledger.deployment.chain_id,
        chain_head=head,
        chain_down_since=chain.down_since_iso,
        chain_error=chain.error or None,
        indexed_block=cp.block_number if cp else None,
        final_block=None if head is None or cp is None else max(0, min(cp.block_number, head - ledger.settings.finality_depth)),
        work_registry=ledger.registry.address,
        works=works,
        incidents=[i.model_dump(mode="json") for i in incidents],
    )
    return body if chain.up else JSONResponse(status_code=503, content=body.model_dump(mode="json"))
