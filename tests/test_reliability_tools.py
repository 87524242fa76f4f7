"""The reliability checks can fail: run against a deliberately broken app, they report what is
broken. And the short form of `scripts/reliability.py` passes on the ledger (what CI runs)."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ledger import PROJECT_ROOT
from ledger.reliability.fuzz import fuzz
from tests.conftest import free_port


def _broken_app() -> FastAPI:
    """A server error on one route, a 4xx without a detail on another: what the fuzzer must find."""
    app = FastAPI()

    @app.get("/crash/{n}")
    def crash(n: int) -> dict[str, int]:
        return {"inverse": 1 // (n - n)}  # ZeroDivisionError: 500

    @app.get("/silent")
    def silent() -> JSONResponse:
        return JSONResponse(status_code=418, content={})

    return app


@pytest.fixture
def broken_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_broken_app(), host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_the_fuzzer_reports_server_errors_and_4xx_without_a_detail(broken_url: str, tmp_path: Path) -> None:
    result = fuzz(broken_url, "nobody", None, tmp_path, max_examples=5, seconds=30)
    assert result.requests > 0 and result.returncode != 0
    assert result.failures, (tmp_path / "nobody.log").read_text()[-2000:]
    log = (tmp_path / "nobody.log").read_text()
    assert "Server error" in log and "without a detail" in log


def test_the_short_reliability_run_passes_on_the_ledger(tmp_path: Path) -> None:
    """0 server errors, 0 access mismatches, 0 lost, 0 duplicated (the figures in the README
    come from the full form, `scripts/reliability.py --full`)."""
    run = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "reliability.py"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "0 server errors, 0 access mismatches, 0 lost, 0 duplicated" in run.stdout
