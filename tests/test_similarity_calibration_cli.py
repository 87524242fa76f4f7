"""The issue's done-when, through the CLI: 200 generated pictures registered with `ledger works
register`, then their 2000 transformed copies and 200 distinct pictures compared with
`ledger similar`; the matches reproduce the documented precision/recall of the deciding method.

The calibration is deterministic (seeded pictures and transformations, the same bytes through
the same upload path), so the counts must be equal, not merely close: any drift in decoding,
hashing, windows, the index or the thresholds shows here.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.evidence import specimens
from ledger.evidence.calibration_set import DISTINCT, ORIGINALS
from ledger.evidence.thresholds import CALIBRATION_FILE
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server


def _ledger(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args], env={**clean, **env}, capture_output=True, text=True, timeout=1200)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_reproduces_the_documented_precision_and_recall(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    originals, queries = tmp_path / "originals", tmp_path / "queries"
    originals.mkdir()
    queries.mkdir()
    truth: dict[str, int | None] = {}
    original_of: dict[str, int] = {}  # content hash -> original number
    for s in specimens.originals(ORIGINALS):
        (originals / s.name).write_bytes(s.data)
        original_of["0x" + hashlib.sha256(s.data).hexdigest()] = s.original  # type: ignore[assignment]
    for s in [*specimens.copies(ORIGINALS), *specimens.distinct(DISTINCT)]:
        (queries / s.name).write_bytes(s.data)
        truth[s.name] = s.original
    key = create_api_key(ledger, Role.rights_holder, "studio").token
    env = {"LEDGER_API_URL": server.url, "LEDGER_API_KEY": key}

    run = _ledger("works", "register", str(originals), **env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"registered {ORIGINALS}, already registered 0, failed 0" in run.stdout

    run = _ledger("similar", str(queries), "--k", "10", "--json", **env)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == len(truth)

    doc = json.loads(CALIBRATION_FILE.read_text())["methods"]["phash@1"]
    threshold = doc["threshold"]
    documented = doc["table"][threshold]
    true_matches = false_matches = 0
    for r in rows:
        expected = truth[r["file"]]
        for m in r["matches"]:
            assert m["method"] == "phash@1" and m["threshold"] == threshold and m["work_id"] is not None
            if expected is not None and original_of[m["content_hash"]] == expected:
                true_matches += 1
            else:
                false_matches += 1
    assert (true_matches, false_matches) == (documented["true_matches"], documented["false_matches"])
