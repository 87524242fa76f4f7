"""The API in a process of its own, configured through the environment as `ledger up` is.

What the reliability checks and some tests need: a request that kills the process fails a check
instead of the caller, the process can be killed with SIGKILL mid-request, and its peak memory
can be read from /proc.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import threading

import httpx
import uvicorn

from ledger.config import Settings
from ledger.runtime import Ledger


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiProcess:
    """The API in a process of its own, configured through the environment as `ledger up` is: a
    request that kills it fails a test instead of the test run, and its peak memory can be read."""

    def __init__(self, settings: Settings, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LEDGER_DATA_DIR": str(settings.data_dir),
            "LEDGER_RPC_URL": settings.rpc_url,
            "LEDGER_DATABASE_URL": settings.db_url,
            "LEDGER_INDEX_INTERVAL_S": "0.2",
            **env,
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "ApiProcess":
        args = [sys.executable, "-m", "uvicorn", "--factory", "ledger.api.app:create_app", "--port", str(self.port), "--log-level", "warning"]
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the API process exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the API process did not become healthy")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss_mib(self) -> float:
        """The process's high-water mark of resident memory (VmHWM), in MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ApiThread:
    """uvicorn serving the app in a thread of this process, on a free port, over a Ledger the
    caller holds (so the caller's indexer calls and the API's share one lock): real HTTP, real
    lifespan. A context manager."""

    def __init__(self, ledger: Ledger) -> None:
        from ledger.api.app import create_app  # the app imports routers: only when serving

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(ledger=ledger), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ApiThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
