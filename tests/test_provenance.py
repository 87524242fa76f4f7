"""Proof of safe AI use for a finished work: its production graph walked back from its content
hash, every AI generation's model checked by the clean-model audit, the files nobody recorded
named, the authors' shares proposed."""

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from eth_account import Account
from pypdf import PdfReader

from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services import devices, records
from ledger.services.keys import create_api_key
from ledger.services.provenance_verifier import verify_certificate
from ledger_recorder.typed import ACTIONS, Record, enrolment_digest, record_digest, sign
from tests.conftest import Server, client_for

ALLOWED = {"training_allowed": True, "royalty_bps": 500}
FORBIDDEN = {"training_allowed": False, "royalty_bps": 500}


def test_a_finished_work_is_safe_only_if_every_ai_ingredient_came_from_a_clean_model(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    studio_key = create_api_key(ledger, Role.rights_holder, "studio")
    studio = client_for(server, studio_key.token)
    platform = client_for(server, create_api_key(ledger, Role.platform, "gen").token)
    ref = os.urandom(32)
    licensed = studio.post("/works", json={"title": "reference", "content_hash": "0x" + ref.hex(), "terms": ALLOWED}).json()["work_id"]
    withheld = studio.post("/works", json={"title": "withheld", "content_hash": "0x" + os.urandom(32).hex(), "terms": FORBIDDEN}).json()["work_id"]
    clean = platform.post("/models", json={"name": "clean", "weights_hash": "0x" + "11" * 32, "work_ids": [licensed]})
    dirty = platform.post("/models", json={"name": "dirty", "weights_hash": "0x" + "12" * 32, "work_ids": [licensed, withheld]})
    assert clean.status_code == dirty.status_code == 201, clean.text + dirty.text
    clean_id, dirty_id = clean.json()["model_id"], dirty.json()["model_id"]

    # Two people at two machines of the studio.
    people = [Account.create(), Account.create()]
    machines = [Account.create(), Account.create()]
    expires = int(time.time()) + 86_400
    for m in machines:
        consent = sign(bytes(m.key), enrolment_digest(devices.domain(ledger), str(studio_key.holder_address), 1 | 2 | 4, expires))
        devices.enrol(ledger, studio_key, m.address, ["create", "edit", "generate"], expires, "workstation", consent)
    now = int(time.time()) - 600

    def made(who: int, action: str, inputs: list[bytes] = [], model: int = 0) -> bytes:  # noqa: B006
        content = os.urandom(32)
        r = Record(ACTIONS.index(action), content, tuple(inputs), "Clip Studio Paint", "3.0", model, bytes.fromhex(people[who].address[2:]), now)
        records.submit(ledger, [records.SignedRecord(r, sign(bytes(machines[who].key), record_digest(records.domain(ledger), r)))])
        return content

    sketch = made(0, "create")
    inked = made(0, "edit", [sketch])
    background = made(1, "generate", [ref], model=clean_id)
    unregistered = made(1, "generate", [], model=999_999)
    stray = os.urandom(32)  # a file nobody recorded
    composite = made(0, "edit", [inked, background, unregistered, stray])
    records.anchor_pending(ledger)
    finished = studio.post("/works", json={"title": "cut 12", "content_hash": "0x" + composite.hex(), "terms": ALLOWED}).json()["work_id"]

    p = studio.get(f"/works/{finished}/provenance").json()
    v = p["verdict"]
    assert v["safeAiUse"] is False and v["complete"] is False
    assert v["failures"] == [{"contentHash": "0x" + unregistered.hex(), "modelId": 999_999, "reason": "the model is not registered here"}]
    assert v["unrecorded"] == ["0x" + stray.hex()]
    files = {f["contentHash"]: f for f in p["files"]}
    assert set(files) == {"0x" + h.hex() for h in (composite, inked, sketch, background, unregistered, stray, ref)}
    assert files["0x" + ref.hex()]["workId"] == licensed and files["0x" + background.hex()]["aiGenerated"]
    assert files["0x" + inked.hex()]["inputs"] == ["0x" + sketch.hex()]
    assert all(r["anchorTx"] for f in p["files"] for r in f["records"])  # every record proven on chain
    assert p["models"][str(clean_id)]["clean"] is True
    # Authorship: person 0 made 3 of the 5 records, person 1 made 2.
    assert [(a["account"], a["records"], a["proposedShareBps"]) for a in p["authors"]] == [
        (people[0].address, 3, 6_000), (people[1].address, 2, 4_000)]  # fmt: skip

    # Without the unregistered generation and the stray file: safe and complete, as the studio
    # sees before registering it (with the shares it may give the authors).
    redone = made(0, "edit", [inked, background])
    records.anchor_pending(ledger)
    before = studio.get(f"/provenance/0x{redone.hex()}").json()
    assert before["workId"] is None and before["verdict"]["safeAiUse"] is True
    assert [(a["account"], a["proposedShareBps"]) for a in before["authors"]] == [(people[0].address, 7_500), (people[1].address, 2_500)]
    second = studio.post("/works", json={"title": "cut 12 v2", "content_hash": "0x" + redone.hex(), "terms": ALLOWED}).json()["work_id"]
    v2 = studio.get(f"/works/{second}/provenance").json()["verdict"]
    assert (v2["safeAiUse"], v2["complete"], v2["failures"], v2["unrecorded"]) == (True, True, [], [])

    # A registered model trained on a work whose terms forbid it fails its audit, and the work made with it fails.
    tainted = made(1, "generate", [], model=dirty_id)
    third = studio.post("/works", json={"title": "cut 13", "content_hash": "0x" + tainted.hex(), "terms": ALLOWED}).json()["work_id"]
    [failure] = studio.get(f"/works/{third}/provenance").json()["verdict"]["failures"]
    assert failure["modelId"] == dirty_id and "audit fails" in failure["reason"]

    # The certificate: checked from the chain (and the content store, for the models' training
    # sets) alone; tampering with any claim fails a check.
    cert = studio.get(f"/works/{finished}/provenance/certificate").json()
    raw = json.dumps(cert).encode()
    checks = verify_certificate(ledger.w3, raw, ledger.store, _fresh(tmp_path, "v1"))
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert [c.name for c in checks][-1] == "verdict recomputed"
    claims_safe = json.loads(raw)
    claims_safe["verdict"] |= {"safeAiUse": True, "failures": []}
    assert _failed(ledger, claims_safe, tmp_path, "v2") == {"verdict recomputed"}
    hides_model = json.loads(raw)
    hides_model["models"]["999999"] = {"registered": True, "clean": True}
    assert "models checked on chain" in _failed(ledger, hides_model, tmp_path, "v3")
    retouched = json.loads(raw)
    first = next(iter(retouched["records"]))
    retouched["records"][first]["tool"] = "Photoshop"
    assert "records signed by their devices" in _failed(ledger, retouched, tmp_path, "v4")
    dropped = json.loads(raw)  # a record left out of the certificate changes the graph it claims
    dropped["records"].pop(next(r["recordHash"] for f in dropped["files"] if f["contentHash"] == "0x" + unregistered.hex() for r in f["records"]))
    assert "graph as the records describe it" in _failed(ledger, dropped, tmp_path, "v5")
    (tmp_path / "cert.json").write_bytes(raw)
    as_served = studio.get(f"/works/{finished}/provenance/certificate").content
    pdf = studio.get(f"/works/{finished}/provenance/certificate", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Safe AI use: no" in printed and hashlib.sha256(as_served).hexdigest() in printed and "999999" in printed

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")} | {"LEDGER_API_URL": server.url, "LEDGER_API_KEY": studio_key.token, "COLUMNS": "250"}
    shown = subprocess.run([sys.executable, "-m", "ledger.cli.main", "works", "provenance", str(finished)], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "safe AI use: no" in shown.stdout and "not registered" in shown.stdout, shown.stdout + shown.stderr
    verified = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "works", "verify-provenance", str(tmp_path / "cert.json"), "--rpc-url", ledger.settings.rpc_url,
         "--blocks", str(ledger.settings.blocks_dir)], env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert verified.returncode == 0 and "FAILED" not in verified.stdout, verified.stdout + verified.stderr


def _fresh(parent: Path, name: str) -> Path:
    (parent / name).mkdir()
    return parent / name


def _failed(ledger: Ledger, doc: dict[str, object], tmp_path: Path, name: str) -> set[str]:
    return {c.name for c in verify_certificate(ledger.w3, json.dumps(doc).encode(), ledger.store, _fresh(tmp_path, name)) if not c.ok}
