"""Requests an attacker sends, against every route that takes a body: nesting far past any
parser's stack, bodies past the limits, huge fields, huge numbers, bytes that are not UTF-8.
Each must get a 4xx (never a 5xx, never a dead process), and the process's memory must stay
under a stated bound while it refuses them."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from ledger.reliability.access import Endpoint


@dataclass(frozen=True)
class Probe:
    name: str
    content: bytes | None = None
    chunks: int = 0  # a body of this many MiB, streamed without Content-Length
    content_type: str = "application/json"


PROBES = [
    Probe("100,000 nested arrays", b"[" * 100_000),
    Probe("100,000 nested objects", b'{"a":' * 100_000),
    Probe("a 10,000-digit number", b'{"n": ' + b"9" * 10_000 + b"}"),
    Probe("not UTF-8", b'{"title": "\xff\xfe"}'),
    Probe("a 2 MiB string field", b'{"title": "' + b"x" * (2 * 2**20) + b'"}'),
    Probe("a 40 MiB body, streamed", chunks=40),
]


@dataclass(frozen=True)
class Answer:
    endpoint: Endpoint
    probe: str
    status: int  # 0: no answer (connection dropped)

    @property
    def ok(self) -> bool:
        return 400 <= self.status < 500


def _stream(mib: int) -> Iterator[bytes]:
    for _ in range(mib):
        yield b" " * 2**20


def probe_all(client: httpx.Client, routes: list[Endpoint], token: str | None) -> list[Answer]:
    """Every probe against every POST/PUT route, with ``token`` (or none)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers = []
    for endpoint in routes:
        if endpoint.method not in ("POST", "PUT"):
            continue
        for p in PROBES:
            body = p.content if p.content is not None else _stream(p.chunks)
            try:
                status = client.request(endpoint.method, endpoint.url(), content=body, headers={**headers, "content-type": p.content_type}).status_code
            except httpx.HTTPError:
                status = 0
            answers.append(Answer(endpoint, p.name, status))
    return answers
