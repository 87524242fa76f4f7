"""The quick benchmark scripts run to their figures: a bench that no longer runs leaves the
README's figure without its source (``reliability.scratch.key_for`` once broke six of them
unnoticed). Each starts its own anvil and scratch ledger, as an operator would run it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (script, arguments, text its output must hold): the ones that take seconds, not minutes.
QUICK = [
    ("bench_rpc.py", [], "RPC calls per registration"),
    ("bench_indexer.py", ["--works", "400"], "records/s"),
    ("bench_durability.py", [], "median registration time"),
    ("bench_claims.py", [], "merkle-distributor"),
    ("bench_workers.py", ["--workers", "1", "--seconds", "1"], "writes (works)/s"),  # `ledger up` on PostgreSQL, as an operator starts it
]


@pytest.mark.parametrize(("script", "args", "figure"), QUICK, ids=[q[0] for q in QUICK])
def test_a_quick_bench_runs_to_its_figure(script: str, args: list[str], figure: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert figure in done.stdout, done.stdout[-2000:]
