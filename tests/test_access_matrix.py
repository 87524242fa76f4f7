"""Every endpoint x no key / wrong key / each role, generated from the route table (a new
endpoint is in it without anyone adding it), and writes to another participant's resources."""

from collections.abc import Iterator

import httpx
import pytest

from ledger.api.app import create_app
from ledger.chain.node import AnvilNode
from ledger.models import Role
from ledger.reliability.access import PUBLIC, endpoints, failures, matrix
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, make_settings

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


@pytest.fixture(scope="module")
def ledger_m(anvil: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    root = tmp_path_factory.mktemp("access")
    settings = make_settings(root / "data", anvil.url, f"sqlite:///{root / 'l.db'}")
    settings.auth_failures_per_minute = 10_000  # the matrix sends a wrong key to every endpoint
    led = open_ledger(settings, deploy=True)
    yield led
    led.engine.dispose()


@pytest.fixture(scope="module")
def server_m(ledger_m: Ledger) -> Iterator[Server]:
    with Server(ledger_m) as srv:
        yield srv


def test_the_route_table_declares_who_may_call_each_endpoint() -> None:
    table = {(e.method, e.path): e for e in endpoints(create_app())}
    assert len(table) >= 34
    assert table[("GET", "/health")].roles == PUBLIC and not table[("GET", "/health")].needs_key
    assert table[("POST", "/keys")].roles == {Role.admin}
    assert table[("POST", "/works")].roles == {Role.rights_holder}
    assert table[("POST", "/relay")].roles == {Role.rights_holder, Role.platform, Role.accountant}
    assert table[("GET", "/works/{work_id}")].needs_key and table[("GET", "/works/{work_id}")].roles == set(Role)
    assert table[("POST", "/devices")].roles == {Role.rights_holder, Role.platform}
    # The one write without a key: devices' records, each authenticated by its device's signature.
    keyless_writes = {(e.method, e.path) for e in table.values() if e.method != "GET" and not e.needs_key}
    assert keyless_writes == {("POST", "/records")}


def test_every_endpoint_answers_every_caller_as_its_route_declares(ledger_m: Ledger, server_m: Server) -> None:
    keys = {role: create_api_key(ledger_m, role, role.value).token for role in Role}
    with httpx.Client(base_url=server_m.url, timeout=60) as client:
        cells = matrix(client, create_app(), keys)
    assert len(cells) >= 34 * 6
    assert failures(cells) == []


def test_nobody_writes_to_another_participants_resources(ledger_m: Ledger, server_m: Server) -> None:
    alice, bob = (create_api_key(ledger_m, Role.rights_holder, name) for name in ("alice", "bob"))
    gen, other = (create_api_key(ledger_m, Role.platform, name) for name in ("gen", "other"))
    with client_for(server_m, alice.token) as a, client_for(server_m, bob.token) as b, client_for(server_m, gen.token) as g, client_for(
        server_m, other.token
    ) as o:
        work = a.post("/works", json={"title": "alice's", "terms": TERMS, "content_hash": "0x" + "a1" * 32}).json()["work_id"]
        model = g.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [work]}).json()["model_id"]
        refused = {
            "terms": b.put(f"/works/{work}/terms", json=TERMS),
            "manager": b.put(f"/works/{work}/manager", json={"manager": bob.holder_address}),
            "payout": b.put(f"/works/{work}/payout", json={"payout": bob.holder_address}),
            "share": b.post(f"/works/{work}/share-transfers", json={"to": bob.holder_address, "share_bps": 10_000}),
            "output on another's model": o.post(
                "/outputs", json={"output_hash": "0x" + "b2" * 32, "model_id": model, "links": [{"work_id": work, "weight_bps": 10_000}]}
            ),
            "another platform's reports": o.get("/usage/reports", params={"platform": gen.holder_address}),
        }
        assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403), {n: r.text for n, r in refused.items()}
        assert a.get(f"/works/{work}").json()["manager"] == alice.holder_address
