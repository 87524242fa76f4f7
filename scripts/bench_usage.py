"""Usage ingestion end to end: a platform uploads an N-line CSV with the `ledger usage import` CLI
(its own process, as a platform runs it) to an API server, which validates, stores and anchors it;
then the same file again (nothing changes). For each size and database the import is timed on a
fresh ledger, so lines/s across sizes shows whether ingestion stays linear (issue 14: >= 50,000
lines/s from 100k to 10M lines, on SQLite and on PostgreSQL).

With ``--close-up-to`` (sizes up to 1M by default) an accountant then computes the period's
royalties and closes the period (the conservation of the total is checked), exports the statement
(JSON and CSV through the CLI) and verifies it against the chain and the usage file, recomputing
every amount (``ledger statements verify --usage``, its own process). Each step's peak memory is
printed: the server's (this process, its peak reset before the royalty run) and the CLI's
(issue 14: a 10M-line period closes, exports and verifies in under 1 GiB).

    .venv/bin/python scripts/bench_usage.py [--lines 100000,1000000,10000000] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres] [--close-up-to 1000000]
"""

import argparse
import hashlib
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from ledger.api.app import create_app
from ledger.models import Role
from ledger.reliability.scratch import fresh_postgres_database, scratch_ledger
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key

OUTPUTS = 1000


def _serve(ledger: Ledger) -> tuple[uvicorn.Server, threading.Thread, str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(ledger=ledger), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _outputs(url: str, holder: str, platform: str) -> list[str]:
    """20 works, a model over them and 1,000 outputs of 8 links each; their hashes."""
    h, p = {"Authorization": f"Bearer {holder}"}, {"Authorization": f"Bearer {platform}"}
    works = httpx.post(f"{url}/works/batch", headers=h, timeout=120, json={"works": [
        {"title": f"w{i}", "content_hash": "0x" + f"{i + 1:064x}", "terms": {"training_allowed": True, "royalty_bps": 500}} for i in range(20)
    ]}).json()  # fmt: skip
    ids = [w["work_id"] for w in works]
    model = httpx.post(f"{url}/models", headers=p, timeout=120, json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": ids}).json()
    hashes = ["0x" + hashlib.sha256(f"out{i}".encode()).hexdigest() for i in range(OUTPUTS)]
    outs = [{"output_hash": x, "model_id": model["model_id"], "links": sorted(
        ({"work_id": ids[(i + k) % 20], "weight_bps": 1250} for k in range(8)), key=lambda link: link["work_id"])} for i, x in enumerate(hashes)]  # fmt: skip
    httpx.post(f"{url}/outputs/batch", headers=p, timeout=600, json={"outputs": outs}).raise_for_status()
    return hashes


def _body(path: Path, lines: int) -> int:
    """The report's LINE records and FOOT (the HEAD names the platform, which differs per ledger)."""
    hashes = ["0x" + hashlib.sha256(f"out{i}".encode()).hexdigest() for i in range(OUTPUTS)]
    total = 0
    with path.open("w") as fh:
        for lo in range(0, lines, 100_000):
            chunk = []
            for i in range(lo, min(lines, lo + 100_000)):
                revenue = (i * 7919) % 100_000
                total += revenue
                chunk.append(f"LINE,B{i},{hashes[i % OUTPUTS]},gen-{i},generation,subscription,JP,1,{revenue}\n")
            fh.write("".join(chunk))
        fh.write(f"FOOT,{lines},{total}\n")
    return total


def _cli(url: str, key: str, report: Path) -> tuple[float, str]:
    took, said, _ = _ledger("usage", "import", str(report), "--api-url", url, "--api-key", key)
    return took, said


#: Runs a command and prints its peak RSS last. A child's ru_maxrss counts the address space it
#: was forked with (kept across exec), so the CLI is started from this small process, not from
#: the bench, whose hundreds of MiB would be counted as the CLI's.
_MEASURED = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(f'peak-rss-kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}'); sys.exit(code)"
)


def _ledger(*args: str) -> tuple[float, str, float]:
    """Runs the ``ledger`` CLI in its own process: (seconds, what it printed, its peak RSS in MiB)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(Path(sys.executable).with_name("ledger")), *args], capture_output=True, text=True, check=False
    )  # fmt: skip
    took = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    said, _, peak = done.stdout.rpartition("peak-rss-kib=")
    return took, said, int(peak) / 1024


def _reset_peak() -> None:
    """From now on this process's peak RSS (VmHWM) counts only what comes next (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _run(database: str, database_url: str | None, body: Path, lines: int, total: int, close: bool, console: Console) -> list[str]:
    with scratch_ledger(database_url, max_upload_bytes=4 * 2**30) as (ledger, tmp):  # a 10M-line report is 1.3 GB
        server, thread, url = _serve(ledger)
        try:
            holder = create_api_key(ledger, Role.rights_holder, "studio").token
            platform = create_api_key(ledger, Role.platform, "gen")
            _outputs(url, holder, platform.token)
            (tmp / "reports").mkdir()
            report = tmp / "reports" / "usage.csv"
            with report.open("w") as fh:
                fh.write(f"HEAD,BENCH-1,{platform.holder_address},2026-10-01,2026-10-31,JPY\n")
            with report.open("ab") as out, body.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 24)
            took, _ = _cli(url, platform.token, report)
            again, said = _cli(url, platform.token, report)
            assert "nothing changed" in said, said
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the API server runs in this process
            row = [database, f"{lines:,}", f"{report.stat().st_size / 2**20:,.0f}", f"{took:,.1f}", f"{lines / took:,.0f}", f"{again:,.1f}", f"{peak:,.0f}"]
            if not close:
                return [*row, *[""] * 6]
            accountant = create_api_key(ledger, Role.accountant, "acct").token
            acct = {"Authorization": f"Bearer {accountant}"}
            period = {"period_start": "2026-10-01", "period_end": "2026-10-31"}
            _reset_peak()
            start = time.perf_counter()
            runs = httpx.get(f"{url}/royalties", headers=acct, timeout=3600, params=period).json()
            computed = time.perf_counter() - start
            assert runs[0]["holders_total"] + runs[0]["platform_total"] == total, "not conserved"
            start = time.perf_counter()
            closed = httpx.post(f"{url}/statements", headers=acct, timeout=3600, json={**period, "currency": "JPY"})
            assert closed.status_code == 201 and closed.json()["holders_total"] == runs[0]["holders_total"], closed.text
            took_close, server_peak = time.perf_counter() - start, _peak()
            statement = closed.json()["statement_id"]
            console.print(f"  {database} {lines:,}: conserved, holders {runs[0]['holders_total']:,} + platform {runs[0]['platform_total']:,} = {total:,}")
            exported = [_ledger("statements", "export", statement, "-o", str(tmp / f"statement.{fmt}"), "--format", fmt, "--api-url", url, "--api-key", accountant)
                        for fmt in ("json", "csv")]  # fmt: skip
            verified, said, verify_peak = _ledger(
                "statements", "verify", str(tmp / "statement.json"), "--rpc-url", ledger.settings.rpc_url, "--usage", str(tmp / "reports")
            )  # fmt: skip
            assert "verified" in said, said
            export = " / ".join(f"{t:,.1f}" for t, _, _ in exported)
            export_peak = max(peak for _, _, peak in exported)
            return [*row, f"{computed:,.1f}", f"{took_close:,.1f}", f"{server_peak:,.0f}", export, f"{export_peak:,.0f}", f"{verified:,.1f}", f"{verify_peak:,.0f}"]
        finally:
            server.should_exit = True
            thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", default="100000,1000000", help="comma-separated report sizes")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL: also run there (database ledger_bench_usage)")
    parser.add_argument("--no-sqlite", action="store_true", help="only the PostgreSQL runs")
    parser.add_argument("--close-up-to", type=int, default=1_000_000, help="royalty run and period close for reports up to this size")
    args = parser.parse_args()
    console = Console(width=160)
    table = Table(
        "database", "lines", "MiB", "import s", "lines/s", "re-import s", "server peak RSS MiB", "royalty run s", "close s",
        "run + close peak MiB", "export s (json / csv)", "export peak MiB", "verify s", "verify peak MiB",
        title="usage ingestion through the CLI",
    )  # fmt: skip
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for lines in (int(n) for n in args.lines.split(",")):
            body = Path(tmp) / "body.csv"
            total = _body(body, lines)
            for database, url in (("sqlite", None), ("postgresql", args.postgres)):
                if (database == "postgresql" and url is None) or (database == "sqlite" and args.no_sqlite):
                    continue
                target = fresh_postgres_database(url, "ledger_bench_usage") if url else None
                table.add_row(*_run(database, target, body, lines, total, lines <= args.close_up_to, console))
                console.print(f"  {database} {lines:,} done")
    console.print(table)


if __name__ == "__main__":
    main()
