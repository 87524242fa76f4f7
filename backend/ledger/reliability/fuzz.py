"""Schemathesis against the ledger's own OpenAPI schema, every operation, as each caller: it
generates requests from the schema (valid and not), sends them, and fails any 5xx; a hook of
ours also fails any 4xx without a ``detail``. Runs the schemathesis CLI (a test dependency)
and reads its NDJSON event stream for the figures."""

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
    env = {"SCHEMATHESIS_HOOKS": hooks.stem, "PYTHONPATH": str(workdir), "NO_COLOR": "1", **_base_env()}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds * 4 + 300)
    (workdir / f"{caller}.log").write_text(proc.stdout + proc.stderr)
    requests, failures = _read(proc.stdout + proc.stderr)
    if proc.returncode != 0 and not failures:
        failures = [f"schemathesis exited with {proc.returncode} (see {workdir / (caller + '.log')})"]
    return FuzzResult(caller, requests, failures, proc.returncode)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}


def _read(output: str) -> tuple[int, list[str]]:
    """Test cases sent and failures, from the run's summary ("N generated, M passed, K failed")
    and its failure lines."""
    generated = re.search(r"(\d+) generated", output)
    failed = re.search(r"(\d+) failed", output)
    failures = [line.strip() for line in output.splitlines() if line.strip().startswith(("- ", "[")) and ("error" in line.lower() or "detail" in line)]
    if failed and not failures:
        failures = [f"{failed.group(1)} failed test cases (see the log)"]
    if not generated:
        failures.append("schemathesis printed no summary (see the log)")
    return int(generated.group(1)) if generated else 0, failures if (failed or not generated) else []
