"""What a newcomer meets in a second terminal: one line saying what to do, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import Server, free_port

TERMS = {"training_allowed": True, "royalty_bps": 0, "expires_at": 0}


def _ledger(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args], env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_keys_create_without_a_chain_says_what_to_set(tmp_path: Path) -> None:
    """Regression: a 42-line traceback ending in ChainUnavailable."""
    run = _ledger("keys", "create", "--role", "admin", LEDGER_DATA_DIR=str(tmp_path / "data"), LEDGER_RPC_URL=f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2
    out = run.stdout + run.stderr
    assert "Traceback" not in out and "LEDGER_RPC_URL" in out and len(out.strip().splitlines()) <= 3, out


def test_commands_without_an_api_key_say_how_to_give_one(server: Server) -> None:
    """Regression: "cannot reach the ledger ...: Illegal header value b'Bearer '"."""
    for args in (["works", "list"], ["works", "show", "1"], ["statements", "list"]):
        run = _ledger(*args, LEDGER_API_URL=server.url)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "give --api-key KEY or set LEDGER_API_KEY" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_works_list_says_when_there_are_more(server: Server, holder: httpx.Client, holder_key: str) -> None:
    """Regression: `works list` stopped at 100 without saying there were more."""
    for i in range(3):
        assert holder.post("/works", json={"title": f"w{i}", "terms": TERMS, "content_hash": "0x" + f"{0xE0 + i:064x}"}).status_code == 201
    first = _ledger("works", "list", "--limit", "2", LEDGER_API_URL=server.url, LEDGER_API_KEY=holder_key)
    assert first.returncode == 0 and "add --offset 2" in first.stdout, first.stdout
    last = _ledger("works", "list", "--limit", "2", "--offset", "2", LEDGER_API_URL=server.url, LEDGER_API_KEY=holder_key)
    assert last.returncode == 0 and "there are more" not in last.stdout
