"""Evidence through the API: contested registrations, similarity searches, reliance reports."""

import hashlib
import json
import random
import time

import httpx
import pytest
from PIL import Image

from ledger.evidence import specimens
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for

TERMS = {"training_allowed": True, "royalty_bps": 500}


def _png(seed: int) -> bytes:
    return specimens.png(specimens.image(seed))


def _copy(seed: int, transform: str, salt: int = 0) -> bytes:
    return specimens.png(specimens.COPIES[transform](specimens.image(seed), random.Random(f"{seed}:{transform}:{salt}")))


def _sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def _register(client: httpx.Client, data: bytes, title: str, **extra: object) -> httpx.Response:
    spec = {"title": title, "terms": TERMS, **extra}
    return client.post("/works", files={"file": (f"{title}.png", data, "image/png")}, data={"work": json.dumps(spec)})


def test_a_squatter_is_caught_both_ways(ledger: Ledger, server: Server) -> None:
    owner = client_for(server, create_api_key(ledger, Role.rights_holder, "artist").token)
    squatter = client_for(server, create_api_key(ledger, Role.rights_holder, "squatter").token)
    art, stolen = _png(1), _png(2)

    # The squatter registers the hash of a file it never had: the owner's upload says so.
    first = squatter.post("/works", json={"title": "mine", "content_hash": _sha(stolen), "terms": TERMS})
    assert first.status_code == 201, first.text
    refused = _register(owner, stolen, "key frame")
    assert refused.status_code == 409
    body = refused.json()
    assert body["work_id"] == first.json()["work_id"]
    assert body["registered_with_file"] is False and body["registered_by"] != ""
    assert "by hash, without the file" in body["detail"]

    # The owner registers a picture; the squatter's altered copy of it is reported...
    original = _register(owner, art, "original")
    assert original.status_code == 201, original.text
    assert original.json()["warnings"] == [] and original.json()["evidence_report"].startswith("0x")
    work_id = original.json()["work_id"]
    copy = _copy(1, "crop+jpeg")
    refused = _register(squatter, copy, "copy", on_similar="refuse")
    assert refused.status_code == 409, refused.text
    match = refused.json()["matches"][0]
    assert match["workId"] == work_id and match["method"] == "phash@1" and match["distance"] <= match["threshold"]
    assert squatter.get("/works", params={"limit": 100}).json()[-1]["work_id"] == work_id  # nothing registered
    # ... and registered with a warning when the squatter only asks to be warned.
    warned = _register(squatter, copy, "copy")
    assert warned.status_code == 201, warned.text
    assert [w["workId"] for w in warned.json()["warnings"]] == [work_id]
    report = owner.get(f"/evidence/reports/{warned.json()['evidence_report']}").json()
    assert report["outcome"] == "warned" and report["document"]["matches"][0]["workId"] == work_id
    assert report["document_hash"] == "0x" + _keccak(report["document"])

    # The owner's own work is no warning for its own variant; the squatter's copy is.
    mine = _register(owner, _copy(1, "resize"), "resized by me")
    assert mine.status_code == 201, mine.text
    assert [w["workId"] for w in mine.json()["warnings"]] == [warned.json()["work_id"]]

    # Searches: by file, by work id.
    found = owner.post("/similar", files={"file": ("q.png", _copy(1, "flip+colour"), "image/png")}).json()
    assert found["similar"][0]["match"] and found["similar"][0]["work_id"] in {work_id, mine.json()["work_id"], warned.json()["work_id"]}
    assert 0 < found["similar"][0]["score"] <= 1 and found["iscc"]["iscc"].startswith("ISCC:")
    near = owner.get(f"/works/{work_id}/similar").json()["similar"]
    assert {m["work_id"] for m in near if m["match"]} == {mine.json()["work_id"], warned.json()["work_id"]}
    unrelated = owner.post("/similar", files={"file": ("q.png", _png(99), "image/png")}).json()
    assert not any(m["match"] for m in unrelated["similar"])


def _keccak(document: dict[str, object]) -> str:
    import rfc8785
    from eth_utils import keccak

    return keccak(rfc8785.dumps(document)).hex()


def test_reliance_report_names_the_work_an_output_copies(ledger: Ledger, server: Server) -> None:
    studio = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
    trained = [_register(studio, _png(10 + i), f"trained {i}").json()["work_id"] for i in range(2)]
    copied = _register(studio, _png(20), "not in the set").json()["work_id"]
    platform_key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, platform_key.token)
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "22" * 32, "work_ids": trained}).json()["model_id"]

    # An output that is a copy of a work, linked to another: registered (policy warn) with the report.
    out = _copy(20, "text")
    spec = {"output_hash": _sha(out), "model_id": model, "links": [{"work_id": trained[0], "weight_bps": 10_000}]}
    resp = platform.post("/outputs", files={"file": ("o.png", out, "image/png")}, data={"output": json.dumps(spec)})
    assert resp.status_code == 201, resp.text
    rel = resp.json()["reliance"]
    assert rel["outcome"] == "warned"
    kinds = {(f["kind"], f["workId"]) for f in rel["findings"]}
    assert ("undeclared_similar", copied) in kinds and ("declared_dissimilar", trained[0]) in kinds
    stored = platform.get(f"/outputs/{spec['output_hash']}/reliance").json()
    assert [r["document_hash"] for r in stored] == [rel["report"]]
    similar = platform.get(f"/outputs/{spec['output_hash']}/similar").json()["similar"]
    assert similar[0]["work_id"] == copied and similar[0]["match"]

    # A file that does not match its hash is refused before anything else.
    bad = platform.post("/outputs", files={"file": ("o.png", out + b"x", "image/png")}, data={"output": json.dumps(spec)})
    assert bad.status_code == 422 and "SHA-256" in bad.text

    # Refuse: the same kind of output is answered 409 with the report, and nothing is registered.
    assert platform.put(f"/models/{model}/reliance-policy", json={"policy": "refuse"}).json()["policy"] == "refuse"
    other = client_for(server, create_api_key(ledger, Role.platform, "other").token)
    assert other.put(f"/models/{model}/reliance-policy", json={"policy": "warn"}).status_code == 403
    out2 = _copy(20, "crop")
    spec2 = {**spec, "output_hash": _sha(out2)}
    refused = platform.post("/outputs", files={"file": ("o.png", out2, "image/png")}, data={"output": json.dumps(spec2)})
    assert refused.status_code == 409, refused.text
    assert refused.json()["reliance"]["outcome"] == "refused"
    assert platform.get(f"/outputs/{spec2['output_hash']}").status_code == 404

    # Declaring the copied work: not as training (outside the model's set), as the generation's
    # reference input once its terms allow that. Fingerprints sent instead of the file are checked the same way.
    from ledger.evidence.fingerprints import fingerprint

    prints = fingerprint(out2)
    spec3 = {**spec2, "links": [{"work_id": copied, "weight_bps": 10_000}],
             "fingerprints": {m: ["0x" + c.hex() for c in codes] for m, codes in prints.queries.items()}}  # fmt: skip
    resp = platform.post("/outputs", json=spec3)
    assert resp.status_code == 422 and "not in the training set" in resp.text, resp.text
    spec3["links"][0]["kind"] = "reference"
    assert studio.put(f"/works/{copied}/terms", json={**TERMS, "reference_allowed": True}).status_code == 200
    resp = platform.post("/outputs", json=spec3)
    assert resp.status_code == 201, resp.text
    assert resp.json()["reliance"]["outcome"] == "clear" and resp.json()["reliance"]["findings"] == []
    assert resp.json()["links"][0]["kind"] == "reference"
    bad_codes = platform.post("/outputs", json={**spec3, "output_hash": "0x" + "ab" * 32, "fingerprints": {"nope@1": ["0x00"]}})
    assert bad_codes.status_code == 422 and "unknown fingerprint method" in bad_codes.text


def test_backfill_and_rebuilt_index_find_the_same(ledger: Ledger, server: Server, tmp_path: object) -> None:
    from sqlmodel import Session, delete

    from ledger.models import FileEvidence, Fingerprint
    from ledger.services.fingerprints import backfill

    studio = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
    ids = [_register(studio, _png(30 + i), f"w{i}").json()["work_id"] for i in range(3)]
    query = {"file": ("q.png", _copy(31, "crop"), "image/png")}
    before = studio.post("/similar", files=query).json()["similar"]
    assert before[0]["work_id"] == ids[1] and before[0]["match"]

    with Session(ledger.engine) as s:  # as if registered before fingerprinting existed
        s.exec(delete(Fingerprint))  # type: ignore[call-overload]
        s.exec(delete(FileEvidence))  # type: ignore[call-overload]
        s.commit()
    result = backfill(ledger)
    assert (result.fingerprinted, result.no_file) == (3, 0)
    assert backfill(ledger).already == 3
    counts = ledger.similarity.rebuild()
    assert counts["phash@1"] == 3 * 49
    after = studio.post("/similar", files=query).json()["similar"]
    assert [(m["work_id"], m["distance"]) for m in after] == [(m["work_id"], m["distance"]) for m in before]


def test_pictures_too_large_or_broken_are_refused_clearly(ledger: Ledger, server: Server) -> None:
    import io

    studio = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
    big = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(big, "PNG")  # 400 M pixels, a few kB compressed
    resp = studio.post("/similar", files={"file": ("big.png", big.getvalue(), "image/png")})
    assert resp.status_code == 422 and "fingerprints at most" in resp.text
    resp = _register(studio, big.getvalue(), "bomb")
    assert resp.status_code == 422 and "fingerprints at most" in resp.text
    broken = _png(5)[:200]
    resp = studio.post("/similar", files={"file": ("broken.png", broken, "image/png")})
    assert resp.status_code == 422 and "not a readable picture" in resp.text
    text = studio.post("/similar", files={"file": ("t.txt", "a short poem about rain".encode(), "text/plain")})
    assert text.status_code == 200 and text.json()["media"] == "text"


def test_reports_are_anchored_in_batches_and_provable(ledger: Ledger, server: Server) -> None:
    from sqlmodel import Session, select

    from ledger.models import EvidenceReport
    from ledger.services.evidence_anchoring import BATCH_SCHEMA, anchor_pending, tree_of

    studio = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
    reports = [_register(studio, _png(40 + i), f"w{i}").json()["evidence_report"] for i in range(3)]
    assert studio.get(f"/evidence/reports/{reports[0]}").json()["anchor"] is None

    batch = anchor_pending(ledger)
    assert batch is not None and batch.count == 3
    assert anchor_pending(ledger) is None  # nothing left
    for h in reports:
        anchor = studio.get(f"/evidence/reports/{h}").json()["anchor"]
        assert anchor["batch_id"] == batch.batch_id and anchor["verified_on_chain"] is True
        assert anchor["root"] == batch.root and anchor["tx_hash"] == batch.tx_hash

    # The process stopped after the anchor was mined and before it was recorded: the next pass
    # reads the batch back from the chain instead of anchoring those reports again.
    more = [_register(studio, _png(50 + i), f"v{i}").json()["evidence_report"] for i in range(2)]
    tree = tree_of(more)
    cid = ledger.store.put(json.dumps({"schema": BATCH_SCHEMA, "reports": more}).encode())
    ledger.sender.send(ledger.call("EvidenceAnchor", "anchor", tree.root, 2, cid))
    assert anchor_pending(ledger) is None
    with Session(ledger.engine) as s:
        assert {r.batch_id for r in s.exec(select(EvidenceReport).where(EvidenceReport.document_hash.in_(more)))} == {batch.batch_id + 1}  # type: ignore[attr-defined]
    assert studio.get(f"/evidence/reports/{more[1]}").json()["anchor"]["verified_on_chain"] is True

    # The API anchors by itself once its interval is set: wait for it, without assuming how long it takes.
    late = _register(studio, _png(59), "late").json()["evidence_report"]
    ledger.settings.evidence_anchor_interval_s = 0.1
    for _ in range(600):
        if studio.get(f"/evidence/reports/{late}").json()["anchor"] is not None:
            break
        time.sleep(0.1)
    assert studio.get(f"/evidence/reports/{late}").json()["anchor"]["verified_on_chain"] is True


def test_index_files_left_by_another_database_are_rebuilt(ledger: Ledger, server: Server) -> None:
    from ledger.services.similarity import SimilarityIndexes

    studio = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
    ids = [_register(studio, _png(60 + i), f"w{i}").json()["work_id"] for i in range(2)]
    query = {"file": ("q.png", _copy(61, "crop"), "image/png")}
    assert studio.post("/similar", files=query).json()["similar"][0]["work_id"] == ids[1]
    ledger.similarity.save()
    path = ledger.settings.similarity_dir / "phash-v1.usearch"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["high_row"] > 0 and meta["stamp"].startswith("0x")

    reopened = SimilarityIndexes(ledger).index("phash@1")  # the same database: the file is used as is
    assert (len(reopened), reopened.stamp) == (2 * 49, meta["stamp"])
    path.with_suffix(".json").write_text(json.dumps({**meta, "stamp": "0x" + "ab" * 32 + ":phash@1"}))  # as if from another database
    rebuilt = SimilarityIndexes(ledger).index("phash@1")
    assert (len(rebuilt), rebuilt.stamp) == (2 * 49, meta["stamp"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_evidence_commands_work_on_the_ledgers_own_data(ledger: Ledger, server: Server) -> None:
    """`ledger evidence backfill | reindex | anchor` run on this machine's data directory, and
    `ledger evidence show` reads a work's checks over HTTP."""
    import os
    import subprocess
    import sys

    from sqlmodel import Session, delete

    from ledger.models import FileEvidence, Fingerprint

    key = create_api_key(ledger, Role.rights_holder, "studio").token
    studio = client_for(server, key)
    work = _register(studio, _png(70), "w").json()["work_id"]
    with Session(ledger.engine) as s:  # as if registered before fingerprinting existed
        s.exec(delete(Fingerprint))  # type: ignore[call-overload]
        s.exec(delete(FileEvidence))  # type: ignore[call-overload]
        s.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")} | {
        "LEDGER_DATA_DIR": str(ledger.settings.data_dir), "LEDGER_DATABASE_URL": ledger.settings.db_url,
        "LEDGER_RPC_URL": ledger.settings.rpc_url, "LEDGER_API_URL": server.url, "LEDGER_API_KEY": key,
    }  # fmt: skip

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "ledger.cli.main", "evidence", *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "fingerprinted 1, already done 0, file not in the store 0, unreadable 0" in run("backfill")
    assert "phash@1: 49 codes" in run("reindex")
    assert "batch 1: 1 reports" in run("anchor")
    assert "nothing to anchor" in run("anchor")
    assert "registration clear" in run("show", str(work))
