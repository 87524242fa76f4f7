"""Dependencies: the Ledger of this app, and the authenticated API key with a required role."""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, Security
from pydantic import AfterValidator
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ledger.api.throttle import FailedAuthThrottle
from ledger.dates import FIRST_DAY, check_day
from ledger.models import ApiKey, Role
from ledger.models.types import MAX_ID
from ledger.runtime import Ledger
from ledger.services.keys import authenticate

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


async def get_ledger(request: Request) -> Ledger:
    """``async`` because it does no I/O: FastAPI then calls it on the event loop instead of handing
    it to a worker thread and back (dependency solving was an eighth of a write's CPU)."""
    return request.app.state.ledger


#: Key lookups run here rather than in Starlette's thread pool: a plain executor's hop costs a
#: third of anyio's (60 against 155 µs of CPU each at 32 concurrent requests, measured on a slow
#: machine) and every authenticated request makes one. Eight at once keep the database pool free
#: for the requests' own work.
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="key-lookup")


def _lookup(ledger: Ledger, token: str) -> ApiKey | None:
    with ledger.engine.connect() as conn:
        return authenticate(conn, token)


async def current_key(
    request: Request,
    ledger: Ledger = Depends(get_ledger),
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    header: str | None = Security(_header),
) -> ApiKey:
    token = bearer.credentials if bearer else header
    if not token:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    throttle: FailedAuthThrottle = request.app.state.auth_throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client)
    if wait is not None:
        raise HTTPException(
            429, f"too many invalid API keys from {client}; try again in {wait:.0f} s", headers={"Retry-After": str(max(1, round(wait)))}
        )
    key = await asyncio.get_running_loop().run_in_executor(_LOOKUPS, _lookup, ledger, token) if len(token) <= 200 else None
    if key is None:
        throttle.failed(client)
        raise HTTPException(401, "invalid or revoked API key")
    return key


def require(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    async def check(key: ApiKey = Depends(current_key)) -> ApiKey:  # no I/O: on the event loop, as get_ledger
        if key.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"this needs the role {allowed}; the key has role {key.role.value}")
        return key

    check.roles = frozenset(roles)  # type: ignore[attr-defined]  # read by the access matrix (ledger.reliability.access)
    return check


#: Path and query parameters shared by the routers: bounded, so no number reaches the database
#: driver (or the chain encoder) outside what they can hold.
WorkId = Annotated[int, Path(ge=1, le=MAX_ID, description="A work's id on chain")]
ModelId = Annotated[int, Path(ge=1, le=MAX_ID, description="A model's id on chain")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items")]
Day = Annotated[date, AfterValidator(check_day)]
DayQuery = Annotated[date, AfterValidator(check_day), Query(description=f"YYYY-MM-DD (UTC), from {FIRST_DAY} on")]

#: Declared once (as full-stack-fastapi-template's ``SessionDep``/``CurrentUser``): the ledger,
#: any valid key, and a key of each writing role.
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
Reader = Annotated[ApiKey, Depends(current_key)]
Holder = Annotated[ApiKey, Depends(require(Role.rights_holder))]
Platform = Annotated[ApiKey, Depends(require(Role.platform))]
Accountant = Annotated[ApiKey, Depends(require(Role.accountant))]
Admin = Annotated[ApiKey, Depends(require(Role.admin))]
Arbiter = Annotated[ApiKey, Depends(require(Role.arbiter))]
#: Who reads the books: statements and their drafts, royalty runs.
Books = Annotated[ApiKey, Depends(require(Role.accountant, Role.admin, Role.auditor))]
#: Who claims a holder's entries (the holder, or the ledger's staff for them).
Claimant = Annotated[ApiKey, Depends(require(Role.rights_holder, Role.accountant, Role.admin))]
#: Who states consent words and enrols production devices: the two roles that make or use works.
HolderOrPlatform = Annotated[ApiKey, Depends(require(Role.rights_holder, Role.platform))]
OutputHash = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="An output's SHA-256 (0x + 64 hex digits)")]
K = Annotated[int, Query(ge=1, le=100, description="At most this many similar files")]
