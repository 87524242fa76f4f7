"""`ledger up` as a user runs it (a real process): chain, deployment and API come up, a work
registered through the CLI survives a SIGTERM and a second start, with no indexer incident."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ledger.chain.node import rpc_answers
from tests.conftest import free_port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ledger up exited with {proc.returncode}"
        try:
            resp = httpx.get(f"{url}/health", timeout=2)
            if resp.status_code == 200:
                return dict(resp.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("ledger did not become healthy")


def _ledger(*args: str, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args], env=env, capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def test_ledger_up_runs_and_restarts(tmp_path: Path) -> None:
    chain_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "LEDGER_DATA_DIR": str(tmp_path / "data"),
        "LEDGER_CHAIN_PORT": str(chain_port),
        "LEDGER_RPC_URL": f"http://127.0.0.1:{chain_port}",
        "LEDGER_API_PORT": str(api_port),
    }
    api = f"http://127.0.0.1:{api_port}"
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli.main", "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = _wait_healthy(api, proc)
        assert health["works"] == 0
        assert httpx.get(f"{api}/docs").status_code == 200
        created = _ledger("keys", "create", "--role", "rights_holder", "--label", "studio", env=env)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        (tmp_path / "cel.png").write_bytes(b"\x89PNG one cel")
        reg = _ledger("works", "register", str(tmp_path / "cel.png"), "--api-url", api, "--api-key", token, env=env)
        assert reg.returncode == 0 and "registered 1" in reg.stdout, reg.stdout + reg.stderr
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert not rpc_answers(f"http://127.0.0.1:{chain_port}")  # anvil was stopped with the ledger
    assert (tmp_path / "data" / "chain" / "state.json").exists()

    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli.main", "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = _wait_healthy(api, proc)
        assert health["works"] == 1 and health["incidents"] == []
        works = httpx.get(f"{api}/works", headers={"Authorization": f"Bearer {token}"}).json()
        assert works[0]["metadata_cid"].startswith("bafkrei")
    finally:
        _stop(proc)


def test_ledger_up_with_several_workers_on_postgresql(tmp_path: Path, postgres_server: str) -> None:
    """`ledger up --workers 3`: three API processes and one background indexer on PostgreSQL.
    Concurrent writes land in different workers (each answered with its own work, every one in
    the chain's saved state), reads see them all, and SQLite is refused for several workers."""
    from concurrent.futures import ThreadPoolExecutor

    from ledger.reliability.scratch import fresh_postgres_database

    chain_port, api_port = free_port(), free_port()
    env = {
        **os.environ, "LEDGER_DATA_DIR": str(tmp_path / "data"), "LEDGER_CHAIN_PORT": str(chain_port),
        "LEDGER_RPC_URL": f"http://127.0.0.1:{chain_port}", "LEDGER_API_PORT": str(api_port),
        "LEDGER_DATABASE_URL": fresh_postgres_database(postgres_server, f"ledger_up_workers_{os.getpid()}"),
    }  # fmt: skip
    refused = _ledger("up", "--workers", "2", env={**env, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}", "LEDGER_DATA_DIR": str(tmp_path / "sq")})
    assert refused.returncode == 2 and "several API workers need PostgreSQL" in refused.stdout, refused.stdout + refused.stderr
    api = f"http://127.0.0.1:{api_port}"
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli.main", "up", "--workers", "3"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(api, proc)
        token = _ledger("keys", "create", "--role", "rights_holder", "--label", "studio", env=env).stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}

        def register(i: int) -> httpx.Response:
            body = {"title": f"w{i}", "content_hash": "0x" + f"{i + 1:064x}", "terms": {"training_allowed": True, "royalty_bps": 100}}
            with httpx.Client(timeout=120) as c:  # a connection each: the workers share the port
                return c.post(f"{api}/works", headers=auth, json=body)

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(register, range(24)))
        assert [a.status_code for a in answers] == [201] * 24, [a.text for a in answers if a.status_code != 201]
        ids = {a.json()["work_id"] for a in answers}
        assert len(ids) == 24
        listed = httpx.get(f"{api}/works", headers=auth, params={"limit": 100}).json()
        assert {w["work_id"] for w in listed} == ids
        assert "ERROR" not in (tmp_path / "up.log").read_text() and "Traceback" not in (tmp_path / "up.log").read_text()
    finally:
        _stop(proc)
    assert proc.returncode == 0
