"""Schemathesis against the ledger's own OpenAPI schema, every operation, as each caller: it
generates requests from the schema (valid and not), sends them, and fails any 5xx; a hook of
ours also fails any 4xx without a ``detail``. Runs the schemathesis CLI (a test dependency)
and reads its NDJSON event stream for the figures."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HOOKS = '''
import schemathesis


@schemathesis.check
def four_xx_has_a_detail(ctx, response, case):
    """Every 4xx says what is wrong."""
    if 400 <= response.status_code < 500:
        try:
            detail = response.json().get("detail")
        except Exception:
            detail = None
        if not detail:
            raise AssertionError(f"{response.status_code} without a detail")
'''


@dataclass(frozen=True)
class FuzzResult:
    caller: str
    requests: int
    failures: list[str]
    returncode: int


def fuzz(url: str, caller: str, token: str | None, workdir: Path, max_examples: int, seconds: int, seed: int = 1) -> FuzzResult:
    workdir.mkdir(parents=True, exist_ok=True)
    hooks = workdir / "ledger_fuzz_hooks.py"
    hooks.write_text(HOOKS)
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
        "--checks", "not_a_server_error,four_xx_has_a_detail", "--max-examples", str(max_examples), "--max-time", str(seconds),
        "--seed", str(seed), "--no-shrink", "--request-timeout", "60",
        "--continue-on-failure", "--warnings", "off",
    ]  # fmt: skip
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": hooks.stem, "PYTHONPATH": str(workdir), "NO_COLOR": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds * 4 + 300)
    (workdir / f"{caller}.log").write_text(proc.stdout + proc.stderr)
    requests, failures = _read(proc.stdout + proc.stderr)
    if proc.returncode != 0 and not failures:
        failures = [f"schemathesis exited with {proc.returncode} (see {workdir / (caller + '.log')})"]
    return FuzzResult(caller, requests, failures, proc.returncode)


def _read(output: str) -> tuple[int, list[str]]:
    """Test cases sent, from the run's summary ("N generated, M passed, K failed"), and the
    failures: each distinct failing check the log names, or the count when it names none."""
    generated = re.search(r"(\d+) generated", output)
    if generated is None:
        return 0, ["schemathesis printed no summary (see the log)"]
    failed = re.search(r"(\d+) failed", output)
    if failed is None:
        return int(generated.group(1)), []
    named = sorted({line.strip() for line in output.splitlines() if "Server error" in line or "without a detail" in line})
    return int(generated.group(1)), named or [f"{failed.group(1)} failed test cases (see the log)"]
