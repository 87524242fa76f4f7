"""Requests an attacker or a careless client sends: each gets a 4xx that says what is wrong, the
server lives on, nothing is written, and its memory stays bounded. The API runs in a process of
its own, so a request that kills it fails the test instead of the test run."""

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.chain.node import AnvilNode
from ledger.models import Role, UsageReport, Work
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import ServerProcess, make_settings

UPLOAD_LIMIT = 1024 * 1024
TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}
#: The API process's peak resident memory after every request here (it starts at about 150 MiB).
RSS_BOUND_MIB = 600


@dataclass
class Api:
    ledger: Ledger
    server: ServerProcess
    admin: httpx.Client
    holder: httpx.Client
    platform: httpx.Client
    platform_address: str

    def works(self) -> int:
        with Session(self.ledger.engine) as s:
            return int(s.exec(select(func.count()).select_from(Work)).one())

    def reports(self) -> int:
        with Session(self.ledger.engine) as s:
            return int(s.exec(select(func.count()).select_from(UsageReport)).one())


@pytest.fixture(scope="module")
def api(anvil: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("limits")
    settings = make_settings(root / "data", anvil.url, f"sqlite:///{root / 'ledger.db'}")
    ledger = open_ledger(settings, deploy=True)
    keys = {role: create_api_key(ledger, role, role.value) for role in (Role.admin, Role.rights_holder, Role.platform)}
    server = ServerProcess(settings, root / "api.log", LEDGER_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT)).start()
    clients = {role: httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {k.token}"}, timeout=60) for role, k in keys.items()}
    platform_address = keys[Role.platform].holder_address
    assert platform_address is not None
    try:
        yield Api(ledger, server, clients[Role.admin], clients[Role.rights_holder], clients[Role.platform], platform_address)
    finally:
        server.stop()
        for c in clients.values():
            c.close()
        ledger.engine.dispose()


def _alive(api: Api) -> None:
    assert api.server.alive(), "the API process died"
    assert httpx.get(f"{api.server.url}/health", timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/keys", "/relay", "/works", "/works/batch", "/usage", "/outputs/batch"])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_refused_before_parsing_without_a_key(api: Api, path: str, opener: str) -> None:
    """Regression: 100,000 nested '[' segfaulted the process (py_ecc raises the recursion limit)."""
    body = opener * 100_000
    resp = httpx.post(api.server.url + path, content=body, headers={"content-type": "application/json"}, timeout=60)
    assert resp.status_code == 422, resp.text
    assert "nests deeper than 32 levels" in resp.json()["detail"]
    _alive(api)


def test_nesting_within_the_bound_still_reaches_the_route(api: Api) -> None:
    spec = {"title": "nested", "terms": TERMS, "content_hash": "0x" + "ab" * 32, "attributes": {"a": [[[[1]]]]}}
    resp = api.holder.post("/works", json=spec)
    assert resp.status_code == 201, resp.text
    assert api.holder.get(f"/works/{resp.json()['work_id']}").json()["metadata"]["attributes"] == {"a": [[[[1]]]]}


def test_a_body_over_the_json_limit_is_413_before_it_is_read(api: Api) -> None:
    before = api.works()
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=30) as sock:  # declares 33 MiB, sends none of it
        sock.sendall(b"POST /works HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 34603008\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(65536), b"")).decode()  # the server closes after answering
    assert answer.startswith("HTTP/1.1 413") and "32 MiB" in answer, answer

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b" " * (1024 * 1024)

    resp = api.holder.post("/works", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert api.works() == before
    _alive(api)


def test_an_upload_over_the_limit_is_413_and_stores_nothing(api: Api) -> None:
    """Regression: Starlette's part limit does not cover files, so any size was accepted."""
    before = api.works()
    spec = json.dumps({"title": "big", "terms": TERMS})
    for size in (UPLOAD_LIMIT + 1, 3 * UPLOAD_LIMIT):  # just past the limit (the route's check) and far past it (the stream's)
        resp = api.holder.post("/works", files={"file": ("big.bin", b"\0" * size)}, data={"work": spec})
        assert resp.status_code == 413, resp.text
        assert "at most" in resp.json()["detail"]
    resp = api.platform.post("/usage/reports", content=b"HEAD" + b"x" * (3 * UPLOAD_LIMIT), headers={"content-type": "text/csv"})
    assert resp.status_code == 413
    assert api.works() == before
    ok = api.holder.post("/works", files={"file": ("ok.bin", b"\1" * 1000)}, data={"work": spec})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("path", ["/works", "/works/batch"])
def test_attributes_are_bounded(api: Api, path: str) -> None:
    """Regression: a 200 MB `attributes` was stored, and every later read of the work cost 1 GB."""
    before = api.works()
    spec = {"title": "fat", "terms": TERMS, "content_hash": "0x" + "cd" * 32, "attributes": {"blob": "x" * 100_000}}
    resp = api.holder.post(path, json=spec if path == "/works" else {"works": [spec]})
    assert resp.status_code == 422
    assert "attributes may take at most 65536 bytes" in resp.text
    assert api.works() == before


def test_long_fields_are_422(api: Api) -> None:
    spec = {"title": "t" * 501, "terms": TERMS, "content_hash": "0x" + "ce" * 32}
    assert api.holder.post("/works", json=spec).status_code == 422
    assert api.admin.post("/keys", json={"role": "admin", "label": "l" * 10_000}).status_code == 422


def test_a_huge_csv_field_is_a_line_error_not_a_500(api: Api) -> None:
    """Regression: a 131 KB field made the csv module raise, answered as a 500."""
    before = api.reports()
    head = f"HEAD,R-big,{api.platform_address},2026-10-01,2026-10-31,JPY\n"
    for line in (f"LINE,{'x' * 140_000},0x{'00' * 32},r,generation,free,JP,1,1\n", 'LINE,"unclosed' + "y" * 140_000 + "\n"):
        resp = api.platform.post("/usage/reports", files={"file": ("r.csv", (head + line + "FOOT,1,1\n").encode())})
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"].startswith("line 2:")
    no_newline = head.encode() + b"z" * 900_000
    resp = api.platform.post("/usage/reports", content=no_newline, headers={"content-type": "text/csv"})
    assert resp.status_code == 422 and "longer than" in resp.json()["detail"]
    assert api.reports() == before


def test_non_utf8_json_is_400(api: Api) -> None:
    body = b'{"title": "\xff\xfe", "terms": {}}'
    resp = api.holder.post("/works", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "UTF-8" in resp.json()["detail"]


def test_a_number_too_long_for_any_field_is_422(api: Api) -> None:
    body = '{"title": "n", "terms": {"training_allowed": true, "royalty_bps": ' + "9" * 5000 + ', "expires_at": 0}}'
    resp = api.holder.post("/works", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422 and "longer than 100 characters" in resp.json()["detail"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", f"/works/{2**64}", None),
        ("GET", f"/works/{2**63}", None),
        ("GET", f"/works?offset={2**64}", None),
        ("GET", f"/models/{2**64}", None),
        ("GET", f"/models/1/proof/{2**64}", None),
        ("GET", f"/works/{2**64}/outputs", None),
        ("GET", f"/usage/reports?offset={2**64}", None),
        ("GET", "/usage/reports?currency=not-a-currency", None),
        ("POST", "/outputs", {"output_hash": "0x" + "01" * 32, "model_id": 2**64, "links": [{"work_id": 1, "weight_bps": 10000}]}),
        ("POST", "/outputs", {"output_hash": "0x" + "01" * 32, "model_id": 1, "links": [{"work_id": 2**64, "weight_bps": 10000}]}),
        ("POST", "/models", {"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [1], "base_model_id": 2**64}),
        ("POST", "/models", {"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [2**64]}),
    ],
)
def test_numbers_beyond_any_id_are_422(api: Api, method: str, path: str, body: object) -> None:
    """Regression: each of these answered 500 (the database driver's integer overflow)."""
    resp = api.platform.request(method, path, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]


def test_a_period_before_1970_is_422(api: Api) -> None:
    csv = f"HEAD,R-old,{api.platform_address},0001-01-01,0001-01-31,JPY\nFOOT,0,0\n"
    resp = api.platform.post("/usage/reports", files={"file": ("r.csv", csv.encode())})
    assert resp.status_code == 422 and "1970-01-01" in resp.json()["detail"]
    accountant = create_api_key(api.ledger, Role.accountant, "acc")
    with httpx.Client(base_url=api.server.url, headers={"Authorization": f"Bearer {accountant.token}"}) as c:
        assert c.get("/royalties", params={"period_start": "0001-01-01", "period_end": "2026-01-01"}).status_code == 422
        assert c.post("/statements", json={"period_start": "0001-01-01", "period_end": "0001-01-31", "currency": "JPY"}).status_code == 422


def test_every_refusal_left_the_server_small(api: Api) -> None:
    """Runs last in this module: the process never held more than the bound."""
    _alive(api)
    assert api.server.peak_rss_mib() < RSS_BOUND_MIB, api.server.peak_rss_mib()
