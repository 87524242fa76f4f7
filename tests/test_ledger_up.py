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
