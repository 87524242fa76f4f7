"""End-to-end usage benchmark: a platform reports an N-line CSV through the CLI, re-imports it
(nothing changes), and an accountant computes the period's royalties and closes the period.

Starts its own anvil and API server in a temporary directory; prints import lines/s, royalty
run time, and the conservation check.

    .venv/bin/python scripts/bench_usage.py [--lines 1000000]
"""

import argparse
import hashlib
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from typer.testing import CliRunner

from ledger.api.app import create_app
from ledger.chain.node import AnvilNode
from ledger.cli.main import app
from ledger.config import Settings
from ledger.models import Role
from ledger.runtime import open_ledger
from ledger.services.keys import create_api_key


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--outputs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = AnvilNode(Path(tmp) / "chain", _port())
        node.start()
        server = None
        try:
            ledger = open_ledger(Settings(data_dir=Path(tmp) / "data", rpc_url=node.url, index_interval_s=5), deploy=True)
            port = _port()
            server = uvicorn.Server(uvicorn.Config(create_app(ledger=ledger), host="127.0.0.1", port=port, log_level="warning"))
            threading.Thread(target=server.run, daemon=True).start()
            while not server.started:
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
            holder = create_api_key(ledger, Role.rights_holder, "studio").token
            platform = create_api_key(ledger, Role.platform, "gen")
            accountant = create_api_key(ledger, Role.accountant, "acct").token
            h = {"Authorization": f"Bearer {holder}"}
            p = {"Authorization": f"Bearer {platform.token}"}
            works = httpx.post(f"{url}/works/batch", headers=h, timeout=120, json={"works": [
                {"title": f"w{i}", "content_hash": "0x" + f"{i + 1:064x}", "terms": {"training_allowed": True, "royalty_bps": 500}} for i in range(20)
            ]}).json()  # fmt: skip
            ids = [w["work_id"] for w in works]
            model = httpx.post(f"{url}/models", headers=p, timeout=120, json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": ids}).json()
            hashes = ["0x" + hashlib.sha256(f"out{i}".encode()).hexdigest() for i in range(args.outputs)]
            outs = [{"output_hash": x, "model_id": model["model_id"], "links": [
                {"work_id": ids[(i + k) % 20], "weight_bps": 1250} for k in range(8)]} for i, x in enumerate(hashes)]  # fmt: skip
            for o in outs:
                o["links"].sort(key=lambda link: link["work_id"])
            httpx.post(f"{url}/outputs/batch", headers=p, timeout=600, json={"outputs": outs}).raise_for_status()

            report = Path(tmp) / "usage.csv"
            total = 0
            with report.open("w") as fh:
                fh.write(f"HEAD,BENCH-1,{platform.holder_address},2026-10-01,2026-10-31,JPY\n")
                for i in range(args.lines):
                    revenue = (i * 7919) % 100_000
                    total += revenue
                    fh.write(f"LINE,B{i},{hashes[i % args.outputs]},gen-{i},generation,subscription,JP,1,{revenue}\n")
                fh.write(f"FOOT,{args.lines},{total}\n")
            print(f"report: {args.lines:,} lines, {report.stat().st_size / 2**20:,.0f} MiB, revenue {total:,}")
            runner = CliRunner()
            start = time.perf_counter()
            result = runner.invoke(app, ["usage", "import", str(report), "--api-url", url, "--api-key", platform.token])
            took = time.perf_counter() - start
            assert result.exit_code == 0, result.output
            print(f"import:   {took:,.1f} s = {args.lines / took:,.0f} lines/s (validated, stored, anchored)")
            start = time.perf_counter()
            again = runner.invoke(app, ["usage", "import", str(report), "--api-url", url, "--api-key", platform.token])
            assert again.exit_code == 0 and "nothing changed" in again.output, again.output
            print(f"re-import: {time.perf_counter() - start:,.1f} s, nothing changed")
            start = time.perf_counter()
            runs = httpx.get(f"{url}/royalties", headers={"Authorization": f"Bearer {accountant}"}, timeout=3600,
                             params={"period_start": "2026-10-01", "period_end": "2026-10-31"}).json()  # fmt: skip
            print(f"royalties: {time.perf_counter() - start:,.1f} s (load + split)")
            run = runs[0]
            assert run["holders_total"] + run["platform_total"] == total
            print(f"conserved: holders {run['holders_total']:,} + platform {run['platform_total']:,} = revenue {total:,}")
            start = time.perf_counter()
            closed = httpx.post(f"{url}/statements", headers={"Authorization": f"Bearer {accountant}"}, timeout=3600,
                                json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"})  # fmt: skip
            assert closed.status_code == 201, closed.text
            st = closed.json()
            assert st["holders_total"] == run["holders_total"] and st["publish_tx"]
            size = len(ledger.store.get(st["document_cid"]))
            print(f"statement: {time.perf_counter() - start:,.1f} s to close the period (load, traced split, document "
                  f"{size / 2**10:,.0f} KiB, {st['line_count']:,} lines, {st['entry_count']:,} entries, published on chain)")  # fmt: skip
        finally:
            if server is not None:
                server.should_exit = True
            node.stop()


if __name__ == "__main__":
    main()
