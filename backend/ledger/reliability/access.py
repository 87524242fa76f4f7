"""The access matrix, generated from the app's own route table: every endpoint, asked with no
key, a wrong key and a key of each role, must answer what its declared dependencies promise.

Because the rows come from ``app.routes``, an endpoint added later is in the matrix without
anyone remembering to add it; what each one requires is read from its dependencies
(``deps.require(...)`` carries its roles, ``deps.current_key`` means any key).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from ledger.api.deps import current_key
from ledger.models import Role

ANY_KEY = frozenset(Role)
PUBLIC: frozenset[Role] = frozenset()

#: Path parameters filled with values of the right shape (nothing needs to exist: a matrix
#: request asks "may this caller ask", and an allowed caller may well get a 404 or a 422).
PATH_VALUES = {
    "work_id": "1",
    "model_id": "1",
    "output_hash": "0x" + "00" * 32,
    "statement_id": "0x" + "00" * 32,
    "account": "0x" + "00" * 20,
    "address": "0x" + "00" * 20,
    "operation_id": "00" * 16,
    "document_hash": "0x" + "00" * 32,
    "dispute_id": "1",
    "record_hash": "0x" + "00" * 32,
    "content_hash": "0x" + "00" * 32,
    "draft_id": "0x" + "00" * 32,
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    roles: frozenset[Role]  # who may call it; empty: anyone, without a key
    needs_key: bool

    def url(self) -> str:
        path = self.path
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        if "{" in path:
            raise ValueError(f"{self.method} {self.path}: no value for a path parameter; add it to PATH_VALUES")
        return path


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every route of the app with the roles its dependencies require."""
    out = []
    for context in iter_route_contexts(app.routes):  # FastAPI >= 0.16x keeps included routers lazily: this flattens them
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        roles: frozenset[Role] | None = None
        needs_key = False
        for call in _calls(route.dependant):
            if hasattr(call, "roles"):
                roles, needs_key = frozenset(call.roles), True
            elif call is current_key:
                needs_key = True
        for method in sorted(context.methods or ()):
            out.append(Endpoint(method, str(context.path), roles if roles is not None else (ANY_KEY if needs_key else PUBLIC), needs_key))
    return sorted(out, key=lambda e: (e.path, e.method))


@dataclass(frozen=True)
class Cell:
    endpoint: Endpoint
    caller: str  # "no key", "wrong key", or a role's name
    status: int
    allowed: bool  # what the route table promises

    @property
    def ok(self) -> bool:
        if self.status >= 500:
            return False
        if not self.allowed:
            return self.status == (401 if self.caller in ("no key", "wrong key") else 403)
        return self.status not in (401, 403)


def matrix(client: httpx.Client, app: FastAPI, keys: dict[Role, str]) -> list[Cell]:
    """Asks every endpoint as every caller; ``keys`` holds one valid key per role."""
    callers: list[tuple[str, str | None, Role | None]] = [("no key", None, None), ("wrong key", "lk_wrong_key", None)]
    callers += [(role.value, token, role) for role, token in keys.items()]
    cells = []
    for endpoint in endpoints(app):
        for name, token, role in callers:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"json": {}} if endpoint.method in ("POST", "PUT") else {}
            resp = client.request(endpoint.method, endpoint.url(), headers=headers, **body)  # type: ignore[arg-type]
            allowed = not endpoint.needs_key or (role is not None and role in endpoint.roles)
            cells.append(Cell(endpoint, name, resp.status_code, allowed))
    return cells


def failures(cells: Iterable[Cell]) -> list[str]:
    return [f"{c.endpoint.method} {c.endpoint.path} as {c.caller}: {c.status} ({'allowed' if c.allowed else 'refused'} expected)" for c in cells if not c.ok]
