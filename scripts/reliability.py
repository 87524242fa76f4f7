#!/usr/bin/env python
"""Reliability figures of the ledger, measured on a ledger of its own (anvil, SQLite, the API in
its own process), printed as a table and as JSON:

- access: the matrix from the route table (every endpoint x no key / wrong key / each role);
- limits: hostile requests (deep nesting, huge bodies, fields, numbers, not UTF-8) on every
  route with a body, with and without a key, and the API process's peak memory;
- fuzz: schemathesis against the OpenAPI schema, every operation, as every caller;
- load: readers and writers at once for a fixed time: throughput, p50/p99, statuses;
- crash: kill -9 of the API in the middle of batch registrations and usage imports, restart,
  retry: nothing lost, nothing duplicated;
- reorgs: forks of depth 1 to 64 (anvil snapshot and revert): every projected table equals a
  fresh index of the same chain.

    .venv/bin/python scripts/reliability.py            # short form (about a minute; what CI runs)
    .venv/bin/python scripts/reliability.py --full     # the full form (more examples, longer load, 100 crash trials)

Exits 1 if any server error, access mismatch, lost or duplicated row appears.
"""

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.api.app import create_app
from ledger.chain.node import AnvilNode
from ledger.config import Settings
from ledger.models import Role, UsageLine, UsageReport, Work
from ledger.reliability.access import endpoints, failures, matrix
from ledger.reliability.api_process import ApiProcess, ApiThread, free_port
from ledger.reliability.fuzz import fuzz
from ledger.reliability.hostile import probe_all
from ledger.reliability.load import TERMS, run_load
from ledger.reliability.reorgs import reorg_trials
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key

console = Console()
RSS_BOUND_MIB = 600


def _client(api: ApiProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _seed(api: ApiProcess, keys: dict[Role, str]) -> tuple[list[int], str, list[str]]:
    """Works, a model and outputs, so reads and usage imports have something to find."""
    with _client(api, keys[Role.rights_holder]) as holder, _client(api, keys[Role.platform]) as platform:
        works = holder.post("/works/batch", json={"works": [{"title": f"seed {i}", "terms": TERMS, "content_hash": "0x" + f"{0x5EED00 + i:064x}"} for i in range(20)]})
        assert works.status_code == 201, works.text
        ids = [w["work_id"] for w in works.json()]
        model = platform.post("/models", json={"name": "seed", "weights_hash": "0x" + "11" * 32, "work_ids": ids})
        assert model.status_code == 201, model.text
        hashes = ["0x" + f"{0x0D7700 + i:064x}" for i in range(10)]
        body = {"outputs": [{"output_hash": h, "model_id": model.json()["model_id"], "links": [{"work_id": ids[i], "weight_bps": 10_000}]} for i, h in enumerate(hashes)]}
        assert platform.post("/outputs/batch", json=body).status_code == 201
        me = platform.get("/keys/me").json()["holder_address"]
    return ids, me, hashes


def access(api: ApiProcess, keys: dict[Role, str]) -> dict[str, Any]:
    with httpx.Client(base_url=api.url, timeout=120) as client:
        cells = matrix(client, create_app(), keys)
    wrong = failures(cells)
    return {"endpoints": len({(c.endpoint.method, c.endpoint.path) for c in cells}), "requests": len(cells), "mismatches": len(wrong), "first": wrong[:5]}


def limits(api: ApiProcess, keys: dict[Role, str]) -> dict[str, Any]:
    routes = endpoints(create_app())
    answers = []
    with httpx.Client(base_url=api.url, timeout=120) as client:
        for token in (None, keys[Role.rights_holder], keys[Role.admin]):
            answers += probe_all(client, routes, token)
    bad = [f"{a.endpoint.method} {a.endpoint.path} / {a.probe}: {a.status}" for a in answers if not a.ok]
    return {"requests": len(answers), "not_4xx": len(bad), "first": bad[:5], "alive": api.alive(), "peak_rss_mib": round(api.peak_rss_mib()), "rss_bound_mib": RSS_BOUND_MIB}


def fuzzing(api: ApiProcess, keys: dict[Role, str], workdir: Path, examples: int, seconds: int) -> dict[str, Any]:
    callers: list[tuple[str, str | None]] = [("no-key", None), *((r.value, t) for r, t in keys.items())]
    results = [fuzz(api.url, name, token, workdir / "fuzz", examples, seconds) for name, token in callers]
    return {
        "callers": len(results), "requests": sum(r.requests for r in results), "failures": sum(len(r.failures) for r in results),
        "first": [f for r in results for f in r.failures][:5], "alive": api.alive(),
    }  # fmt: skip


def load(api: ApiProcess, keys: dict[Role, str], work_ids: list[int], seconds: float) -> dict[str, Any]:
    return run_load(api.url, keys[Role.rights_holder], work_ids, seconds, seed=random.randrange(2**32)).figures()


def _reorgs(api: ApiProcess, ledger: Ledger, keys: dict[Role, str], depths: list[int], root: Path) -> dict[str, Any]:
    """Forks need one indexer: the API process's is stopped, and an API thread over this
    process's ledger serves the registrations meanwhile."""
    api.stop()
    try:
        with ApiThread(ledger) as server:
            clients = lambda: (httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys[Role.rights_holder]}"}, timeout=120),  # noqa: E731
                               httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys[Role.platform]}"}, timeout=120))  # fmt: skip
            return reorg_trials(ledger, clients, depths, root)
    finally:
        api.start()


def _counts(ledger: Ledger) -> dict[str, int]:
    with Session(ledger.engine) as s:
        return {
            "works": int(s.exec(select(func.count()).select_from(Work)).one()),
            "reports": int(s.exec(select(func.count()).select_from(UsageReport)).one()),
            "lines": int(s.exec(select(func.count()).select_from(UsageLine)).one()),
        }


def crash_trials(api: ApiProcess, ledger: Ledger, keys: dict[Role, str], platform: str, outputs: list[str], trials: int, rng: random.Random) -> dict[str, Any]:
    """kill -9 of the API at a random moment of a batch registration or a usage import, restart,
    retry the same request until it is answered: each request's effect exists exactly once."""
    lost = duplicated = unanswered = 0
    kinds = {"works": 0, "usage": 0}
    for trial in range(trials):
        kind = "works" if trial % 2 == 0 else "usage"
        kinds[kind] += 1
        if kind == "works":
            path, body = "/works/batch", {"works": [{"title": f"crash {trial}.{i}", "terms": TERMS, "content_hash": "0x" + f"{0xC4A500 + trial:032x}{i:032x}"} for i in range(25)]}
            token, done = keys[Role.rights_holder], (201, 409)
        else:
            lines = [f"LINE,T{trial}-{i},{outputs[i % len(outputs)]},r,generation,free,JP,1,{100 + i}" for i in range(2000)]
            csv = "\n".join([f"HEAD,CRASH-{trial},{platform},2026-01-01,2026-01-31,JPY", *lines, f"FOOT,{len(lines)},{sum(100 + i for i in range(2000))}"]) + "\n"
            path, body, token, done = "/usage/reports", csv, keys[Role.platform], (201, 200)

        def send(body: Any = body, path: str = path, token: str = token) -> int:
            with _client(api, token) as c:
                try:
                    if isinstance(body, str):
                        return c.post(path, content=body.encode(), headers={"content-type": "text/csv"}).status_code
                    return c.post(path, json=body).status_code
                except httpx.HTTPError:
                    return 0

        first = threading.Thread(target=send)
        first.start()
        time.sleep(rng.uniform(0.0, 1.5))
        api.kill()
        first.join()
        api.start()
        status = 0
        for _ in range(5):
            status = send()
            if status in done:
                break
        if status not in done:
            unanswered += 1
        counts = _counts(ledger)
        chain_works = int(ledger.registry.contract.functions.workCount().call())
        if kind == "works":
            with Session(ledger.engine) as s:
                mine = int(s.exec(select(func.count()).select_from(Work).where(Work.content_hash.startswith("0x" + f"{0xC4A500 + trial:032x}"))).one())  # type: ignore[attr-defined]
            lost += mine < 25
            duplicated += mine > 25 or counts["works"] != chain_works
        else:
            with Session(ledger.engine) as s:
                reports = s.exec(select(UsageReport).where(UsageReport.report_id == f"CRASH-{trial}")).all()
                lines_n = int(s.exec(select(func.count()).select_from(UsageLine).where(UsageLine.line_id.startswith(f"T{trial}-"))).one())  # type: ignore[attr-defined]
            lost += len(reports) == 0 or lines_n < 2000 or not reports[0].anchor_tx
            duplicated += len(reports) > 1 or lines_n > 2000
    return {"trials": trials, **kinds, "lost": lost, "duplicated": duplicated, "unanswered": unanswered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full form: more fuzzing, longer load, 100 crash trials")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    random.seed(seed)
    short = not args.full
    with tempfile.TemporaryDirectory(prefix="ledger-reliability-") as tmp:
        root = Path(tmp)
        node = AnvilNode(root / "chain", free_port())
        node.start()
        settings = Settings(data_dir=root / "data", rpc_url=node.url, database_url=f"sqlite:///{root / 'ledger.db'}")
        ledger = open_ledger(settings, deploy=True)
        keys = {role: create_api_key(ledger, role, role.value).token for role in Role}
        api = ApiProcess(settings, root / "api.log", LEDGER_AUTH_FAILURES_PER_MINUTE="1000000000").start()
        try:
            work_ids, platform, outputs = _seed(api, keys)
            figures: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "form": "short" if short else "full", "seed": seed}
            steps = [
                ("access", lambda: access(api, keys)),
                ("limits", lambda: limits(api, keys)),
                ("fuzz", lambda: fuzzing(api, keys, root, 5 if short else 100, 15 if short else 300)),
                ("load", lambda: load(api, keys, work_ids, 10 if short else 60)),
                ("crash", lambda: crash_trials(api, ledger, keys, platform, outputs, 6 if short else 100, rng)),
                ("reorgs", lambda: _reorgs(api, ledger, keys, [1, 64] if short else [1, 2, 3, 4, 8, 16, 32, 48, 64], root)),
            ]  # fmt: skip
            for name, step in steps:
                started = time.monotonic()
                console.print(f"[bold]{name}[/bold] ...")
                figures[name] = step()
                figures[name]["took_s"] = round(time.monotonic() - started, 1)
                api.start() if not api.alive() else None
        finally:
            api.stop()
            ledger.engine.dispose()
            node.stop()
    table = Table("check", "figures")
    for name in ("access", "limits", "fuzz", "load", "crash", "reorgs"):
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in figures[name].items() if k != "first"))
    console.print(table)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    problems = [
        figures["access"]["mismatches"], figures["limits"]["not_4xx"], not figures["limits"]["alive"],
        figures["limits"]["peak_rss_mib"] >= RSS_BOUND_MIB, figures["fuzz"]["failures"], not figures["fuzz"]["alive"],
        figures["load"]["server_errors"], figures["crash"]["lost"], figures["crash"]["duplicated"], figures["crash"]["unanswered"],
        figures["reorgs"]["mismatches"],
    ]  # fmt: skip
    if any(problems):
        console.print("[red]reliability: problems found (see above)[/red]")
        return 1
    console.print("[green]reliability: 0 server errors, 0 access mismatches, 0 lost, 0 duplicated[/green]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
