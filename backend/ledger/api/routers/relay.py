"""Submitting forward requests that self-custodied participants signed in their own wallets."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from hexbytes import HexBytes

from ledger.api.deps import LedgerDep, require
from ledger.api.schemas import RegisteredOut, RelayIn, RelayOut
from ledger.models import ApiKey, Role
from ledger.services.signing import submit_signed
from ledger.services.works import registered_in

router = APIRouter(tags=["relay"])


@router.post("/relay", status_code=201, response_model=RelayOut)
async def relay(
    body: RelayIn,
    key: Annotated[ApiKey, Depends(require(Role.rights_holder, Role.platform, Role.accountant))],
    ledger: LedgerDep,
) -> RelayOut:
    """Relays a request prepared by a write endpoint (202 answer) and signed by the key's account."""
    signature = bytes.fromhex(body.signature[2:])

    def run() -> RelayOut:
        receipt = submit_signed(ledger, key, body.message, signature)
        works = registered_in(ledger, receipt)
        return RelayOut(
            tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
            block_number=int(receipt["blockNumber"]),
            works=[RegisteredOut(**w.__dict__) for w in works],
        )

    return await run_in_threadpool(run)
