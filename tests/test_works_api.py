"""Works over real HTTP against a real anvil, on SQLite and on PostgreSQL."""

import hashlib
import io
import json

import httpx
import pytest
from eth_account import Account
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.chain.registry import Owner, owners_hash
from ledger.content.cid import compute_cid
from ledger.models import Role, Work
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, on_chain_state_is_projected

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def _spec(title: str = "Key frame 12", **extra: object) -> dict[str, object]:
    return {"title": title, "terms": TERMS, **extra}


def _upload(client: httpx.Client, content: bytes, spec: dict[str, object], name: str = "frame.png") -> httpx.Response:
    return client.post("/works", files={"file": (name, io.BytesIO(content), "image/png")}, data={"work": json.dumps(spec)})


def _count(ledger: Ledger) -> tuple[int, int]:
    """Works in the database and on chain: both must stay put when a request is refused."""
    with Session(ledger.engine) as s:
        db = s.exec(select(func.count()).select_from(Work)).one()
    return db, ledger.registry.contract.functions.workCount().call()


def test_upload_registers_on_chain_with_cids(ledger: Ledger, holder: httpx.Client) -> None:
    content = b"\x89PNG fake-but-unique frame bytes " * 5000  # > 1 chunk? no: 165 KB, one raw block
    resp = _upload(holder, content, _spec())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["content_hash"] == "0x" + hashlib.sha256(content).hexdigest()
    assert body["file_cid"] == compute_cid(content)
    receipt = ledger.w3.eth.get_transaction_receipt(body["tx_hash"])
    # Relayed through the ERC-2771 forwarder: the operator pays, the registry logs the work.
    assert receipt["status"] == 1 and receipt["to"] == ledger.relayer.forwarder.address
    assert receipt["from"] == ledger.operator.address
    assert any(entry["address"] == ledger.registry.address for entry in receipt["logs"])

    work = holder.get(f"/works/{body['work_id']}").json()
    assert work["metadata_cid"] == body["metadata_cid"]
    assert work["metadata"]["file"]["cid"] == compute_cid(content)
    assert work["metadata"]["title"] == "Key frame 12"
    trained = {"data_mining": "allowed", "ai_inference": "notAllowed", "ai_generative_training": "allowed", "ai_training": "allowed",
               "reference": "notAllowed", "creator_finetune": "notAllowed"}  # the shorthand's meaning (format 1's training flag)
    assert work["terms"] == {**TERMS, "uses": trained, "constraints": "", "reference_allowed": False} and work["terms_version"] == 1
    holder_address = work["manager"]
    assert work["owners"] == [{"account": holder_address, "payout": holder_address, "share_bps": 10_000}]
    # The metadata stored under its CID is exactly what the CID names.
    assert compute_cid(ledger.store.get(work["metadata_cid"])) == work["metadata_cid"]
    # On chain: the work belongs to the holder's account, not the operator's.
    assert on_chain_state_is_projected(ledger, body["work_id"])
    assert holder_address != ledger.operator.address


def test_json_registration_with_co_owners(ledger: Ledger, holder: httpx.Client) -> None:
    a, b, payout = (Account.create().address for _ in range(3))
    owners = [{"account": a, "share_bps": 7000, "payout": payout}, {"account": b, "share_bps": 3000}]
    resp = holder.post("/works", json=_spec(content_hash="0x" + "ab" * 32, owners=owners))
    assert resp.status_code == 201, resp.text
    work = holder.get(f"/works/{resp.json()['work_id']}").json()
    got = {o["account"]: (o["payout"], o["share_bps"]) for o in work["owners"]}
    assert got == {a: (payout, 7000), b: (b, 3000)}
    # The Python hash of the projected owner list equals the hash the contract stored.
    expected = owners_hash([Owner(o["account"], o["payout"], o["share_bps"]) for o in work["owners"]])
    assert work["owners_hash"] == "0x" + expected.hex() and on_chain_state_is_projected(ledger, work["work_id"])
    assert [w["work_id"] for w in holder.get("/works", params={"owner": a}).json()] == [work["work_id"]]
    assert holder.get("/works", params={"owner": Account.create().address}).json() == []


def test_batch_is_one_transaction(holder: httpx.Client) -> None:
    works = [_spec(f"cut {i}", content_hash="0x" + f"{i:064x}") for i in range(1, 6)]
    resp = holder.post("/works/batch", json={"works": works})
    assert resp.status_code == 201, resp.text
    rows = resp.json()
    assert len({r["tx_hash"] for r in rows}) == 1
    ids = [r["work_id"] for r in rows]
    assert ids == list(range(ids[0], ids[0] + 5))


def test_duplicate_content_is_409_with_existing_id(ledger: Ledger, holder: httpx.Client) -> None:
    content = b"the same drawing"
    first = _upload(holder, content, _spec())
    assert first.status_code == 201
    before = _count(ledger)
    again = _upload(holder, content, _spec("another title"))
    assert again.status_code == 409
    assert again.json()["work_id"] == first.json()["work_id"]
    by_hash = holder.post("/works", json=_spec(content_hash=first.json()["content_hash"]))
    assert by_hash.status_code == 409 and by_hash.json()["work_id"] == first.json()["work_id"]
    assert _count(ledger) == before


def test_a_batch_naming_a_registered_hash_is_409_and_registers_none(ledger: Ledger, holder: httpx.Client) -> None:
    """A batch asks its question of every hash at once (a one-work request asks it of one): the
    registered one is named, wherever it stands in the batch, and the new ones wait."""
    first = holder.post("/works", json=_spec(content_hash="0x" + "c1" * 32))
    assert first.status_code == 201, first.text
    before = _count(ledger)
    batch = [_spec(f"new {i}", content_hash="0x" + f"{0xC2 + i:02x}" * 32) for i in range(2)]
    resp = holder.post("/works/batch", json={"works": [batch[0], _spec(content_hash="0x" + "c1" * 32), batch[1]]})
    assert resp.status_code == 409, resp.text
    answer = resp.json()
    assert answer["work_id"] == first.json()["work_id"] and answer["content_hash"] == "0x" + "c1" * 32
    assert answer["registered_by"] == holder.get(f"/works/{answer['work_id']}").json()["manager"]  # found before any transaction
    assert _count(ledger) == before


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("json", _spec(content_hash="0x" + "01" * 32, owners=[{"account": "0x" + "11" * 20, "share_bps": 9999}]), "sum to 9999"),
        ("json", _spec(content_hash="0x" + "02" * 32, owners=[{"account": "0xnot-an-address", "share_bps": 10000}]), "not a valid"),
        ("json", _spec(content_hash="0x1234"), "content_hash"),
        ("json", _spec(), "either a file or its content_hash"),
        ("json", {"title": "no terms", "content_hash": "0x" + "03" * 32}, "terms"),
        ("json", _spec(content_hash="0x" + "04" * 32, terms={**TERMS, "royalty_bps": 10001}), "royalty_bps"),
        ("json", _spec(content_hash="0x" + "05" * 32, terms={**TERMS, "expires_at": 1000}), "future"),
        ("json", _spec(content_hash="0x" + "00" * 32), "non-zero"),
        ("empty-file", _spec(), "empty"),
        ("no-file", _spec(), "'file' part"),
        ("bad-json", None, "invalid work"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    ledger: Ledger, holder: httpx.Client, kind: str, payload: dict[str, object] | None, message: str
) -> None:
    before = _count(ledger)
    blocks_before = sorted(ledger.settings.blocks_dir.rglob("*"))
    if kind == "json":
        resp = holder.post("/works", json=payload)
    elif kind == "empty-file":
        resp = _upload(holder, b"", payload or {})
    elif kind == "no-file":
        resp = holder.post("/works", data={"work": json.dumps(payload)}, files={"other": ("x", b"x")})
    else:
        resp = holder.post("/works", files={"file": ("a.png", b"data")}, data={"work": "{not json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert message in resp.text
    assert _count(ledger) == before
    assert sorted(ledger.settings.blocks_dir.rglob("*")) == blocks_before


def test_unknown_work_is_404(holder: httpx.Client) -> None:
    resp = holder.get("/works/999999")
    assert resp.status_code == 404 and "999999" in resp.json()["detail"]


def test_writes_need_the_rights_holder_role(ledger: Ledger, server: Server) -> None:
    with client_for(server, None) as anonymous:
        assert anonymous.post("/works", json=_spec(content_hash="0x" + "aa" * 32)).status_code == 401
        assert anonymous.get("/works").status_code == 401
    with client_for(server, "lk_deadbeef_wrong") as forged:
        assert forged.get("/works").status_code == 401
    platform = create_api_key(ledger, Role.platform, "gen-service").token
    with client_for(server, platform) as c:
        resp = c.post("/works", json=_spec(content_hash="0x" + "aa" * 32))
        assert resp.status_code == 403 and "rights_holder" in resp.json()["detail"]
        assert c.get("/works").status_code == 200  # reading is open to every role
        assert c.post("/keys", json={"role": "admin"}).status_code == 403


def test_admin_creates_keys_over_the_api(ledger: Ledger, server: Server) -> None:
    admin = create_api_key(ledger, Role.admin, "ops").token
    with client_for(server, admin) as c:
        resp = c.post("/keys", json={"role": "rights_holder", "label": "animator"})
        assert resp.status_code == 201
        issued = resp.json()
        assert issued["custodial"] and ledger.registry.has_holder_role(issued["holder_address"])
        assert c.post("/keys", json={"role": "admin", "address": "0x" + "11" * 20}).status_code == 422  # admins act off chain
        own = c.post("/keys", json={"role": "accountant", "address": "0x" + "11" * 20})  # accountants publish statements
        assert own.status_code == 201 and not own.json()["custodial"] and own.json()["holder_address"] == "0x" + "11" * 20
    with client_for(server, issued["api_key"]) as holder:
        assert holder.post("/works", json=_spec(content_hash="0x" + "cd" * 32)).status_code == 201


def test_openapi_docs_are_served(server: Server) -> None:
    with client_for(server, None) as c:
        spec = c.get("/openapi.json").json()
        assert "/works" in spec["paths"] and "multipart/form-data" in json.dumps(spec["paths"]["/works"]["post"])
        assert c.get("/docs").status_code == 200
