"""Production records: devices enrolled with their own consent, records they sign verified and
stored once, anchored in batches, and a revoked device refused from the revocation on."""

import os
import threading
import time

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings, strategies as st
from sqlmodel import Session, select

from ledger.chain.merkle import StandardMerkleTree
from ledger.models import Role
from ledger.models.records import Device
from ledger.records import typed
from ledger.runtime import Ledger
from ledger.services import records
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, operation_outcome, rebuilt_from_chain

CONTRACT = "0x" + "5c" * 20


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 4), st.binary(min_size=32, max_size=32), st.lists(st.binary(min_size=32, max_size=32), max_size=4),
    st.text(min_size=1, max_size=30), st.text(max_size=10), st.integers(0, 2**64 - 1), st.binary(min_size=20, max_size=20),
    st.integers(1, 2**64 - 1), st.integers(1, 2**32),
)  # fmt: skip
def test_record_digests_and_signatures_agree_with_eth_account(
    action: int, content: bytes, inputs: list[bytes], tool: str, version: str, model: int, author: bytes, created: int, chain_id: int
) -> None:
    """The fast hashing is the EIP-712 hashing: eth-account's encoder and signer, independently."""
    r = typed.Record(action, content, tuple(inputs), tool, version, model, author, created)
    digest = typed.record_digest(typed.domain_separator(chain_id, CONTRACT), r)
    device = Account.from_key(b"\x11" * 32)
    signed = device.sign_message(encode_typed_data(full_message=typed.typed_data(r, chain_id, CONTRACT)))
    assert bytes(signed.message_hash) == digest
    assert typed.recover(digest, bytes(signed.signature)) == device.address
    assert typed.recover(digest, typed.sign(b"\x11" * 32, digest)) == device.address


def test_malleable_or_malformed_signatures_are_refused() -> None:
    digest = os.urandom(32)
    sig = typed.sign(b"\x22" * 32, digest)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = sig[:32] + (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    for bad in (sig[:64], high_s, sig[:64] + b"\x05", b"\x00" * 65):
        try:
            typed.recover(digest, bad)
            raise AssertionError(f"accepted {bad.hex()}")
        except typed.BadSignature:
            pass


def _enrol(ledger: Ledger, owner: httpx.Client, owner_address: str, device: Account, actions: list[str], days: int = 30) -> httpx.Response:
    expires = int(time.time()) + days * 86_400
    data = owner.get("/devices/enrolment-data", params={"owner": owner_address, "actions": actions, "expires_at": expires}).json()
    signature = device.sign_message(encode_typed_data(full_message=data)).signature  # the device's own wallet signs
    body = {"device": device.address, "actions": actions, "expires_at": expires, "label": "Aiko's workstation", "device_signature": "0x" + bytes(signature).hex()}
    return owner.post("/devices", json=body)


def _record(ledger: Ledger, device: Account, action: str, content: bytes, inputs: tuple[bytes, ...] = (), created: int | None = None) -> dict[str, object]:
    r = typed.Record(typed.ACTIONS.index(action), content, inputs, "Krita", "5.2.6", 0, bytes.fromhex(device.address[2:]), created or int(time.time()))
    signature = typed.sign(bytes(device.key), typed.record_digest(records.domain(ledger), r))
    return {
        "action": action, "content_hash": "0x" + content.hex(), "inputs": ["0x" + i.hex() for i in inputs], "tool": r.tool,
        "tool_version": r.tool_version, "model_id": 0, "author": device.address, "created_at": r.created_at, "signature": "0x" + signature.hex(),
    }  # fmt: skip


def test_a_device_records_what_its_owner_allowed_until_revoked(ledger: Ledger, server: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    studio_key = create_api_key(ledger, Role.rights_holder, "studio")
    studio = client_for(server, studio_key.token)
    other = client_for(server, create_api_key(ledger, Role.rights_holder, "other").token)
    anonymous = client_for(server, None)
    device = Account.create()

    # Consent signed for another owner is refused before anything is sent; then enrolled.
    wrong = _enrol(ledger, other, str(studio_key.holder_address), device, ["create", "edit"])
    assert wrong.status_code == 422 and "not by the device" in wrong.text
    enrolled = _enrol(ledger, studio, str(studio_key.holder_address), device, ["create", "edit"])
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["actions"] == ["create", "edit"] and enrolled.json()["owner"] == studio_key.holder_address
    assert _enrol(ledger, studio, str(studio_key.holder_address), device, ["create"]).status_code == 409  # a key is enrolled once

    sketch, inked = os.urandom(32), os.urandom(32)
    batch = [_record(ledger, device, "create", sketch), _record(ledger, device, "edit", inked, (sketch,))]
    sent = anonymous.post("/records", json={"records": batch})  # no API key: the signatures authenticate
    assert sent.status_code == 200, sent.text
    assert (sent.json()["accepted"], sent.json()["known"]) == (2, 0)
    again = anonymous.post("/records", json={"records": batch})
    assert (again.json()["accepted"], again.json()["known"], again.json()["hashes"]) == (0, 2, sent.json()["hashes"])

    # All or nothing: one record outside the scope refuses the batch, and nothing of it is stored.
    fresh = _record(ledger, device, "create", os.urandom(32))
    refused = anonymous.post("/records", json={"records": [fresh, _record(ledger, device, "generate", os.urandom(32))]})
    assert refused.status_code == 422 and "records[1]" in refused.text and "not generate" in refused.text
    assert studio.get(f"/records/{_hash(ledger, fresh)}").status_code == 404
    stranger = anonymous.post("/records", json={"records": [_record(ledger, Account.create(), "create", os.urandom(32))]})
    assert stranger.status_code == 422 and "no device with this key" in stranger.text
    future = anonymous.post("/records", json={"records": [_record(ledger, device, "create", os.urandom(32), created=int(time.time()) + 3600)]})
    assert future.status_code == 422 and "in the future" in future.text
    forged = dict(batch[0], tool="Photoshop")  # the signature no longer matches: another key "signed" it
    assert anonymous.post("/records", json={"records": [forged]}).status_code == 422

    # Anchored in one batch; each record proves itself against the contract.
    made = records.anchor_pending(ledger)
    assert made is not None and made.count == 2
    shown = studio.get(f"/records/{sent.json()['hashes'][1]}").json()
    assert shown["inputs"] == ["0x" + sketch.hex()] and shown["action"] == "edit" and shown["device"] == device.address
    proof = shown["anchor"]
    assert proof["verified_on_chain"] and proof["tx_hash"] == made.tx_hash
    tree = StandardMerkleTree.of([(bytes.fromhex(h[2:]),) for h in sent.json()["hashes"]], ["bytes32"])
    assert "0x" + tree.root.hex() == proof["root"]
    assert records.anchor_pending(ledger) is None  # nothing left

    # Revoked: refused from now on; what it recorded before stays, with its proof.
    address = device.address
    assert other.post(f"/devices/{address}/revocation").status_code == 403
    revoked = studio.post(f"/devices/{address}/revocation")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert studio.post(f"/devices/{address}/revocation").json() == revoked.json()  # a retry answers the same
    later = operation_outcome(studio, studio.post(f"/devices/{address}/revocation", headers={"Prefer": "respond-async"}))
    assert later["kind"] == "revoke_device" and later["http_status"] == 200 and later["result"] == revoked.json()
    late = anonymous.post("/records", json={"records": [_record(ledger, device, "create", os.urandom(32), created=int(time.time()) - 3600)]})
    assert late.status_code == 422 and "revoked" in late.text  # backdating does not help
    assert studio.get(f"/records/{sent.json()['hashes'][0]}").json()["anchor"]["verified_on_chain"]

    # The devices are on chain: a database rebuilt from it has them as they are.
    fresh_ledger = rebuilt_from_chain(ledger, tmp_path / "fresh")
    with Session(fresh_ledger.engine) as s:
        [d] = s.exec(select(Device)).all()
        assert (d.address, d.owner, d.scope, d.revoked_at) == (address, studio_key.holder_address, 3, revoked.json()["revoked_at"])


def _hash(ledger: Ledger, body: dict[str, object]) -> str:
    r = typed.Record(
        typed.ACTIONS.index(str(body["action"])), bytes.fromhex(str(body["content_hash"])[2:]),
        tuple(bytes.fromhex(i[2:]) for i in body["inputs"]), str(body["tool"]), str(body["tool_version"]),  # type: ignore[attr-defined]
        int(body["model_id"]), bytes.fromhex(str(body["author"])[2:]), int(body["created_at"]),  # type: ignore[call-overload]
    )  # fmt: skip
    return "0x" + typed.record_digest(records.domain(ledger), r).hex()


def test_concurrent_duplicate_submissions_store_each_record_once(ledger: Ledger, server: Server) -> None:
    studio_key = create_api_key(ledger, Role.platform, "render farm")
    studio = client_for(server, studio_key.token)
    device = Account.create()
    assert _enrol(ledger, studio, str(studio_key.holder_address), device, ["generate", "export"]).status_code == 201
    batch = [_record(ledger, device, "generate", os.urandom(32)) for _ in range(200)]
    answers: list[dict[str, int]] = []

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            resp = c.post("/records", json={"records": batch})
            assert resp.status_code == 200, resp.text
            answers.append(resp.json())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(a["accepted"] for a in answers) == 200 and sum(a["known"] for a in answers) == 600
