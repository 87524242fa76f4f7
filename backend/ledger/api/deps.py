"""Dependencies: the Ledger of this app, and the authenticated API key with a required role."""

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from ledger.models import ApiKey, Role
from ledger.runtime import Ledger
from ledger.services.keys import authenticate

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


def current_key(
    ledger: Ledger = Depends(get_ledger),
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    header: str | None = Security(_header),
) -> ApiKey:
    token = bearer.credentials if bearer else header
    if not token:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    with Session(ledger.engine) as s:
        key = authenticate(s, token)
    if key is None:
        raise HTTPException(401, "invalid or revoked API key")
    return key


def require(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    def check(key: ApiKey = Depends(current_key)) -> ApiKey:
        if key.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"this needs the role {allowed}; the key has role {key.role.value}")
        return key

    return check
