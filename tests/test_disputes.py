"""Disputes through the API: the squatting case contested, decided by an arbiter, and carried out
on chain; attribution disputes; every step rebuilt from the chain alone."""

import hashlib
import json
from pathlib import Path

import httpx
from eth_utils import to_checksum_address
from sqlmodel import Session

from ledger.evidence import specimens
from ledger.models import Dispute, Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, operation_outcome, rebuilt_from_chain
from tests.factories import _platform_with_outputs

TERMS = {"training_allowed": True, "royalty_bps": 500}


def _key(ledger: Ledger, server: Server, role: Role, label: str) -> tuple[httpx.Client, str]:
    key = create_api_key(ledger, role, label)
    assert key.holder_address is not None
    return client_for(server, key.token), key.holder_address


def test_a_squatted_registration_is_contested_upheld_and_given_back(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    artist, artist_account = _key(ledger, server, Role.rights_holder, "artist")
    squatter, squatter_account = _key(ledger, server, Role.rights_holder, "squatter")
    arbiter, arbiter_account = _key(ledger, server, Role.arbiter, "arbiter")
    art = specimens.png(specimens.image(77))
    content_hash = "0x" + hashlib.sha256(art).hexdigest()

    squatted = squatter.post("/works", json={"title": "mine now", "content_hash": content_hash, "terms": TERMS}).json()["work_id"]
    refused = artist.post("/works", files={"file": ("a.png", art, "image/png")}, data={"work": json.dumps({"title": "key frame", "terms": TERMS})})
    assert refused.status_code == 409 and refused.json()["registered_with_file"] is False

    spec = {"kind": "registration", "work_id": squatted, "statement": "I drew this key frame; here is the file."}
    opened = artist.post("/disputes", files={"file": ("a.png", art, "image/png")}, data={"dispute": json.dumps(spec)})
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["state"], dispute["kind"], dispute["claimant"], dispute["work_id"]) == ("open", "registration", artist_account, squatted)
    evidence = json.loads(ledger.store.get(dispute["evidence_cid"]))
    assert evidence["file"]["identicalToContested"] is True and evidence["subject"]["registeredWithFile"] is False
    assert evidence["subject"]["registeredBy"] == squatter_account

    # Guards: one open dispute per subject and claimant; the registrant cannot contest itself;
    # only an arbiter decides.
    again = artist.post("/disputes", json=spec)
    assert again.status_code == 409 and again.json()["dispute_id"] == dispute["dispute_id"]
    assert squatter.post("/disputes", json=spec).status_code == 422
    assert squatter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": False, "reason": "mine"}).status_code == 403
    assert squatter.post(f"/disputes/{dispute['dispute_id']}/withdrawal").status_code == 403
    later = {"Prefer": "respond-async"}  # not waiting: the same answers, kept for the key that asked
    repeated = operation_outcome(artist, artist.post("/disputes", json=spec, headers=later))
    assert repeated["kind"] == "open_dispute" and repeated["http_status"] == 409 and repeated["result"]["dispute_id"] == dispute["dispute_id"]  # type: ignore[index]
    assert operation_outcome(squatter, squatter.post(f"/disputes/{dispute['dispute_id']}/withdrawal", headers=later))["http_status"] == 403
    # The role is checked before accepting: only the service's own checks come in the operation.
    assert squatter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": False, "reason": "mine"}, headers=later).status_code == 403

    decided = arbiter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": True, "reason": "The claimant holds the original file; the registrant registered a hash without it."})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["state"] == "upheld" and body["arbiter"] == arbiter_account and body["correction_tx"].startswith("0x")
    work = artist.get(f"/works/{squatted}").json()
    assert work["manager"] == artist_account
    assert [(o["account"], o["share_bps"]) for o in work["owners"]] == [(artist_account, 10_000)]
    # The same decision again is answered as done; the opposite one is a conflict.
    assert arbiter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": True, "reason": "again"}).json()["state"] == "upheld"
    assert arbiter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": False, "reason": "changed my mind"}).status_code == 409
    assert [d["dispute_id"] for d in artist.get("/disputes", params={"work_id": squatted}).json()] == [dispute["dispute_id"]]

    # Everything above is on chain: a new database synced from the logs alone agrees.
    fresh = rebuilt_from_chain(ledger, tmp_path / "fresh")
    with Session(fresh.engine) as s:
        row = s.get(Dispute, dispute["dispute_id"])
        assert row is not None and (row.state, row.correction_tx) == ("upheld", body["correction_tx"])


def test_attribution_disputes_are_opened_rejected_or_withdrawn(ledger: Ledger, server: Server) -> None:
    studio, _ = _key(ledger, server, Role.rights_holder, "studio")
    other, _ = _key(ledger, server, Role.rights_holder, "other")
    arbiter, _ = _key(ledger, server, Role.arbiter, "arbiter")
    platform, _ = _key(ledger, server, Role.platform, "gen")
    works = [studio.post("/works", json={"title": f"w{i}", "content_hash": "0x" + f"{0xD15 + i:064x}", "terms": TERMS}).json()["work_id"] for i in range(2)]
    mine = other.post("/works", json={"title": "mine", "content_hash": "0x" + f"{0xD1F:064x}", "terms": TERMS}).json()["work_id"]
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "22" * 32, "work_ids": works}).json()["model_id"]
    output = "0x" + "ab" * 32
    assert platform.post("/outputs", json={"output_hash": output, "model_id": model, "links": [{"work_id": works[0], "weight_bps": 10_000}]}).status_code == 201

    spec = {"kind": "attribution", "output_hash": output, "claimed_work_id": mine, "statement": "This output copies my work."}
    assert studio.post("/disputes", json=spec).status_code == 403  # claimed work must be the claimant's
    assert other.post("/disputes", json={**spec, "output_hash": "0x" + "cd" * 32}).status_code == 404
    first = other.post("/disputes", json=spec)
    assert first.status_code == 201, first.text
    d1 = first.json()
    assert (d1["kind"], d1["output_hash"], d1["claimed_work_id"], d1["work_id"]) == ("attribution", output, mine, None)
    rejected = arbiter.post(f"/disputes/{d1['dispute_id']}/decision", json={"upheld": False, "reason": "no resemblance"}).json()
    assert rejected["state"] == "rejected" and rejected["correction_tx"] is None

    d2 = other.post("/disputes", json=spec).json()  # a new dispute once the first is decided
    withdrawn = other.post(f"/disputes/{d2['dispute_id']}/withdrawal")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert other.post(f"/disputes/{d2['dispute_id']}/withdrawal").status_code == 409
    states = {d["dispute_id"]: d["state"] for d in studio.get("/disputes").json()}
    assert states == {d1["dispute_id"]: "rejected", d2["dispute_id"]: "withdrawn"}
    assert studio.get("/disputes", params={"state": "open"}).json() == []


def test_the_cli_opens_and_decides_a_dispute(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    def run(key: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")} | {"LEDGER_API_URL": server.url, "LEDGER_API_KEY": key}
        return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args], env=env, capture_output=True, text=True, timeout=300)

    artist_key = create_api_key(ledger, Role.rights_holder, "artist").token
    squatter, _ = _key(ledger, server, Role.rights_holder, "squatter")
    arbiter_key = create_api_key(ledger, Role.arbiter, "arbiter").token
    art = specimens.png(specimens.image(78))
    (tmp_path / "mine.png").write_bytes(art)
    work = squatter.post("/works", json={"title": "x", "content_hash": "0x" + hashlib.sha256(art).hexdigest(), "terms": TERMS}).json()["work_id"]

    opened = run(artist_key, "disputes", "open", "--work", str(work), "--statement", "my file", "--file", str(tmp_path / "mine.png"))
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "dispute 1" in opened.stdout and "open" in opened.stdout
    refused = run(artist_key, "disputes", "decide", "1", "--uphold", "--reason", "not mine to decide")
    assert refused.returncode == 1 and "403" in refused.stdout
    decided = run(arbiter_key, "disputes", "decide", "1", "--uphold", "--reason", "the claimant holds the file")
    assert decided.returncode == 0 and "upheld" in decided.stdout and "correction_tx" in decided.stdout, decided.stdout
    listed = run(artist_key, "disputes", "list", "--state", "upheld")
    assert listed.returncode == 0 and f"work {work}" in listed.stdout

    # An attribution dispute, upheld with the output's corrected links.
    mine = client_for(server, artist_key).post("/works", json={"title": "m", "content_hash": "0x" + f"{0xC11:064x}", "terms": TERMS}).json()["work_id"]
    _, _, (output,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC1)
    opened = run(artist_key, "disputes", "open", "--output", output, "--mine", str(mine), "--statement", "it copies my frame")
    assert opened.returncode == 0 and "dispute 2" in opened.stdout, opened.stdout + opened.stderr
    garbled = run(arbiter_key, "disputes", "decide", "2", "--uphold", "--reason", "r", "--link", f"{mine}=7000")
    assert garbled.returncode == 2 and "WORK:WEIGHT_BPS" in garbled.stdout + garbled.stderr
    decided = run(arbiter_key, "disputes", "decide", "2", "--uphold", "--reason", "copies", "--link", f"{mine}:7000", "--link", f"{work}:3000")
    assert decided.returncode == 0 and "correction_tx" in decided.stdout, decided.stdout + decided.stderr
    corrected = client_for(server, artist_key).get(f"/outputs/{output}").json()["link_corrections"]
    assert [(link["work_id"], link["weight_bps"]) for link in corrected[0]["links"]] == [(work, 3000), (mine, 7000)]  # by work id


def test_an_arbiters_owner_list_is_checked_before_anything_is_sent(ledger: Ledger, server: Server) -> None:
    """Regression: an owner list the contract refuses (an account twice) was found out only by
    the reassignment, after the decision was already on chain (an upheld dispute left
    uncorrected, 422). Now it is a 422 before anything is sent; accounts in any case are
    checksummed."""
    artist, artist_account = _key(ledger, server, Role.rights_holder, "artist")
    squatter, _ = _key(ledger, server, Role.rights_holder, "squatter")
    arbiter, _ = _key(ledger, server, Role.arbiter, "arbiter")
    work = squatter.post("/works", json={"title": "x", "content_hash": "0x" + f"{0xAB1:064x}", "terms": TERMS}).json()["work_id"]
    d = artist.post("/disputes", json={"kind": "registration", "work_id": work, "statement": "mine"}).json()["dispute_id"]
    odd_case = "0x" + "aBcDeF0123" * 4
    bad = {"upheld": True, "reason": "r", "owners": [{"account": odd_case, "share_bps": 6000}, {"account": odd_case.lower(), "share_bps": 4000}]}
    resp = arbiter.post(f"/disputes/{d}/decision", json=bad)
    assert resp.status_code == 422 and "distinct" in resp.text
    assert artist.get(f"/disputes/{d}").json()["state"] == "open"  # nothing was sent
    good = {"upheld": True, "reason": "r", "owners": [{"account": odd_case, "share_bps": 6000}, {"account": artist_account.lower(), "share_bps": 4000}]}
    resp = arbiter.post(f"/disputes/{d}/decision", json=good)
    assert resp.status_code == 200, resp.text
    owners = {o["account"]: o["share_bps"] for o in artist.get(f"/works/{work}").json()["owners"]}
    assert owners == {to_checksum_address(odd_case): 6000, artist_account: 4000}
