#!/usr/bin/env python
"""Reliability figures of the ledger, measured on a ledger of its own (anvil, SQLite, the API in
its own process), printed as a table and as JSON:

- access: the matrix from the route table (every endpoint x no key / wrong key / each role);
- limits: hostile requests (deep nesting, huge bodies, fields, numbers, not UTF-8) on every
  route with a body, with and without a key, and the API process's peak memory;
- fuzz: schemathesis against the OpenAPI schema, every operation, as every caller;
- load: readers and writers at once for a fixed time: throughput, p50/p99, statuses;
- crash: kill -9 of the API in the middle of batch registrations, usage imports, period closes
  and claims, restart, retry: nothing lost, nothing duplicated;
- node_crash: kill -9 of the chain node during batch registrations, restart from its state
  file, retry: every answered batch exactly once on chain and in the database;
- reorgs: forks of depth 1 to 64 (anvil snapshot and revert): every projected table equals a
  fresh index of the same chain.

    .venv/bin/python scripts/reliability.py            # short form (about a minute; what CI runs)
    .venv/bin/python scripts/reliability.py --full     # the full form (more examples, longer load, 100 crash trials)

Exits 1 if any server error, access mismatch, lost or duplicated row appears.
"""

import argparse
import calendar
import json
import random
import sys
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import Session, col, select

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
    failed = [r for r in results if r.failures]
    if failed:  # the run's folder is temporary: keep what shows the failures (requests, and the server's tracebacks)
        kept = Path("reliability-failures")
        kept.mkdir(exist_ok=True)
        for r in failed:
            shutil.copy(workdir / "fuzz" / f"{r.caller}.log", kept / f"fuzz-{r.caller}.log")
        shutil.copy(workdir / "api.log", kept / "api.log")
        print(f"fuzzing failures: logs kept in {kept.resolve()}", file=sys.stderr)
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


def _kill_during(api: ApiProcess, send: Callable[[], int], done: tuple[int, ...], rng: random.Random) -> bool:
    """Sends a request, kills the API at a random moment of it, restarts it and sends the same
    request again until it is answered as done; whether it was."""
    first = threading.Thread(target=send)
    first.start()
    time.sleep(rng.uniform(0.0, 1.5))
    api.kill()
    first.join()
    api.start()
    return any(send() in done for _ in range(5))


def _post(api: ApiProcess, token: str, path: str, body: Any) -> int:
    with _client(api, token) as c:
        try:
            if isinstance(body, str):
                return c.post(path, content=body.encode(), headers={"content-type": "text/csv"}).status_code
            return c.post(path, json=body).status_code
        except httpx.HTTPError:
            return 0


def crash_trials(api: ApiProcess, ledger: Ledger, keys: dict[Role, str], platform: str, outputs: list[str], trials: int, rng: random.Random) -> dict[str, Any]:
    """kill -9 of the API at a random moment of a batch registration, a usage import, a period
    close or a claim; restart; the same request again until it is answered: each request's
    effect must then exist exactly once (rows, chain, statements, claims)."""
    lost = duplicated = unanswered = 0
    kinds = {"works": 0, "usage": 0, "close": 0, "claim": 0}
    holder = httpx.get(f"{api.url}/keys/me", headers={"Authorization": f"Bearer {keys[Role.rights_holder]}"}).json()["holder_address"]
    last_day: str | None = None
    last_statement: str | None = None
    for trial in range(trials):
        kind = ("works", "usage", "close", "claim")[trial % 4]
        kinds[kind] += 1
        if kind == "works":
            prefix = "0x" + f"{0xC4A500 + trial:032x}"
            body = {"works": [{"title": f"crash {trial}.{i}", "terms": TERMS, "content_hash": prefix + f"{i:032x}"} for i in range(25)]}
            unanswered += not _kill_during(api, lambda: _post(api, keys[Role.rights_holder], "/works/batch", body), (201, 409), rng)
            with Session(ledger.engine) as s:
                mine = int(s.exec(select(func.count()).select_from(Work).where(col(Work.content_hash).startswith(prefix))).one())
                total = int(s.exec(select(func.count()).select_from(Work)).one())
            lost += mine < 25
            duplicated += mine > 25 or total != int(ledger.registry.contract.functions.workCount().call())
        elif kind == "usage":
            day = f"2025-{1 + trial // 28 % 12:02d}-{1 + trial % 28:02d}"
            lines = [f"LINE,T{trial}-{i},{outputs[i % len(outputs)]},r,generation,free,JP,1,{100 + i}" for i in range(2000)]
            csv = "\n".join([f"HEAD,CRASH-{trial},{platform},{day},{day},JPY", *lines, f"FOOT,{len(lines)},{sum(100 + i for i in range(2000))}"]) + "\n"
            unanswered += not _kill_during(api, lambda: _post(api, keys[Role.platform], "/usage/reports", csv), (201, 200), rng)
            with Session(ledger.engine) as s:
                reports = s.exec(select(UsageReport).where(UsageReport.report_id == f"CRASH-{trial}")).all()
                n_lines = int(s.exec(select(func.count()).select_from(UsageLine).where(col(UsageLine.line_id).startswith(f"T{trial}-"))).one())
            lost += len(reports) == 0 or n_lines < 2000 or not reports[0].anchor_tx
            duplicated += len(reports) > 1 or n_lines > 2000
            last_day = day
        elif kind == "close" and last_day is not None:
            body = {"period_start": last_day, "period_end": last_day, "currency": "JPY"}
            unanswered += not _kill_during(api, lambda: _post(api, keys[Role.accountant], "/statements", body), (201, 200), rng)
            start = calendar.timegm(time.strptime(last_day, "%Y-%m-%d"))
            first, second = (ledger.distributor.functions.statementAt("JPY", start, start + 86_399, n).call()[0] for n in (0, 1))
            lost += int.from_bytes(first, "big") == 0
            duplicated += int.from_bytes(second, "big") != 0
            last_statement = "0x" + bytes(first).hex()
        elif kind == "claim" and last_statement is not None:
            path = f"/statements/{last_statement}/claims"
            unanswered += not _kill_during(api, lambda: _post(api, keys[Role.rights_holder], path, {"account": holder}), (200, 409), rng)
            sid = bytes.fromhex(last_statement[2:])
            events = ledger.distributor.events.Claimed().get_logs(argument_filters={"statementId": sid}, from_block=0)
            claims = [(e["args"]["account"], e["args"]["payout"], int(e["args"]["cumulative"])) for e in events]  # cumulative: one per payee and amount
            lost += not claims
            duplicated += len(claims) != len(set(claims))
    return {"trials": trials, **kinds, "lost": lost, "duplicated": duplicated, "unanswered": unanswered}


def node_crash_trials(api: ApiProcess, node: AnvilNode, ledger: Ledger, keys: dict[Role, str], trials: int, rng: random.Random) -> dict[str, Any]:
    """kill -9 of the chain node in the middle of batch registrations, restart from its state
    file and the outbox's replay (the API commits each mined transaction's row before answering),
    retry: every answered batch is on chain and in the database exactly once, whatever moment the
    node died at."""
    lost = duplicated = unanswered = projection_wrong = 0
    for trial in range(trials):
        prefix = "0x" + f"{0xDEAD00 + trial:032x}"
        body = {"works": [{"title": f"node crash {trial}.{i}", "terms": TERMS, "content_hash": prefix + f"{i:032x}"} for i in range(25)]}
        first = threading.Thread(target=lambda: _post(api, keys[Role.rights_holder], "/works/batch", body))
        first.start()
        time.sleep(rng.uniform(0.0, 1.0))
        node.kill()
        first.join()
        node.start()
        answered = False
        for _ in range(10):
            if _post(api, keys[Role.rights_holder], "/works/batch", body) in (201, 409):
                answered = True
                break
            time.sleep(1)
        unanswered += not answered
        hashes = [bytes.fromhex(w["content_hash"][2:]) for w in body["works"]]
        on_chain_ids = [int(ledger.registry.contract.functions.workIdOf(h).call()) for h in hashes]
        lost += 0 in on_chain_ids  # the truth: an answered batch must be on the chain
        duplicated += len(set(on_chain_ids)) != len(on_chain_ids)
        # The API's projection catches up (it may rebuild from the chain after the node restarted).
        deadline = time.monotonic() + 300
        while True:
            with Session(ledger.engine) as s:
                mine = int(s.exec(select(func.count()).select_from(Work).where(col(Work.content_hash).startswith(prefix))).one())
                total = int(s.exec(select(func.count()).select_from(Work)).one())
            if (mine == 25 and total == int(ledger.registry.contract.functions.workCount().call())) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        projection_wrong += mine != 25
    return {"trials": trials, "lost": lost, "duplicated": duplicated, "unanswered": unanswered, "projection_wrong": projection_wrong}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full form: more fuzzing, longer load, 100 crash trials")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--only", default=None, help="comma-separated steps to run (default: all)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    random.seed(seed)
    short = not args.full
    with tempfile.TemporaryDirectory(prefix="ledger-reliability-") as tmp:
        root = Path(tmp)
        node = AnvilNode(root / "chain", free_port(), state_interval_s=3600)  # durable only by what the API writes
        node.start()
        settings = Settings(data_dir=root / "data", rpc_url=node.url, database_url=f"sqlite:///{root / 'ledger.db'}")
        node.outbox_path = settings.outbox_path  # a restart replays what the node mined since its state file, as `ledger up` does
        ledger = open_ledger(settings, deploy=True)
        keys = {role: create_api_key(ledger, role, role.value).token for role in Role}
        api = ApiProcess(
            settings, root / "api.log", LEDGER_AUTH_FAILURES_PER_MINUTE="1000000000", LEDGER_CHAIN_STATE_FILE=str(node.state_file)
        ).start()  # fmt: skip
        try:
            work_ids, platform, outputs = _seed(api, keys)
            figures: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "form": "short" if short else "full", "seed": seed}
            steps = [
                ("access", lambda: access(api, keys)),
                ("limits", lambda: limits(api, keys)),
                ("fuzz", lambda: fuzzing(api, keys, root, 5 if short else 100, 15 if short else 150)),
                ("load", lambda: load(api, keys, work_ids, 10 if short else 60)),
                ("crash", lambda: crash_trials(api, ledger, keys, platform, outputs, 8 if short else 100, rng)),
                ("node_crash", lambda: node_crash_trials(api, node, ledger, keys, 4 if short else 40, rng)),
                ("reorgs", lambda: _reorgs(api, ledger, keys, [1, 64] if short else [1, 2, 3, 4, 8, 16, 32, 48, 64], root)),
            ]  # fmt: skip
            wanted = set(args.only.split(",")) if args.only else {name for name, _ in steps}
            for name, step in steps:
                if name not in wanted:
                    continue
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
    for name in ("access", "limits", "fuzz", "load", "crash", "node_crash", "reorgs"):
        if name not in figures:
            continue
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in figures[name].items() if k != "first"))
    console.print(table)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    get = lambda step, k: figures.get(step, {}).get(k, 0)  # noqa: E731
    problems = [
        get("access", "mismatches"), get("limits", "not_4xx"), get("limits", "alive") is False,
        get("limits", "peak_rss_mib") >= RSS_BOUND_MIB, get("fuzz", "failures"), get("fuzz", "alive") is False,
        get("load", "server_errors"), get("crash", "lost"), get("crash", "duplicated"), get("crash", "unanswered"),
        get("node_crash", "lost"), get("node_crash", "duplicated"), get("node_crash", "unanswered"), get("node_crash", "projection_wrong"), get("reorgs", "mismatches"),
    ]  # fmt: skip
    if any(problems):
        console.print("[red]reliability: problems found (see above)[/red]")
        return 1
    console.print("[green]reliability: 0 server errors, 0 access mismatches, 0 lost, 0 duplicated[/green]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
