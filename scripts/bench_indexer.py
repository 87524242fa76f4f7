"""Benchmark of the indexer: a projection rebuilt from the chain.

Starts its own anvil, registers works through the ledger (batches of 200, so the projection is
mostly works, the busiest projector), then rebuilds the projection into a fresh SQLite
database from the chain's events and prints works and events per second (median of three
rebuilds). Since 2026-11-29 a WorksRegistered event logs a whole batch, so events no longer
count works: the figure comparable with the issue's is works (and other events) projected a
second, what the indexer's work is proportional to.
Issue 14 measured about 900 events/s before batching block timestamps and writing a new work's
first owner version without a flush and a query per event; its target is 20,000. To compare with
older code, run this script from a worktree of it (PYTHONPATH=<worktree>/backend), alternating.

    .venv/bin/python scripts/bench_indexer.py [--works 6000]
"""

import argparse
import hashlib
import statistics
import time

from ledger.chain.registry import Terms
from ledger.consent.uses import from_flags
from ledger.content.store import LocalBlockStore
from ledger.db import init_db, make_engine
from ledger.indexer.runner import Indexer
from ledger.models import Role
from ledger.reliability.scratch import key_for, scratch_ledger
from ledger.services.works import WorkRequest, register_works


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--works", type=int, default=6000)
    args = parser.parse_args()
    with scratch_ledger() as (ledger, tmp):
        key = key_for(ledger, Role.rights_holder)
        terms = Terms(from_flags(True, False), 500)
        start = time.perf_counter()
        for lo in range(0, args.works, 200):
            batch = [WorkRequest(f"w{i}", terms, content_hash=hashlib.sha256(f"bench-{i}".encode()).digest()) for i in range(lo, min(lo + 200, args.works))]
            register_works(ledger, key, batch)
        print(f"registered {args.works:,} works in {time.perf_counter() - start:.1f} s (setup)")
        runs, events = [], 0
        for n in range(3):
            engine = make_engine(f"sqlite:///{tmp}/rebuild{n}.db")
            init_db(engine)
            indexer = Indexer(ledger.w3, engine, ledger.indexed_contracts, LocalBlockStore(tmp / "data" / "blocks"), ledger.deployment.start_block)
            start = time.perf_counter()
            result = indexer.sync()
            runs.append(time.perf_counter() - start)
            events = result.events
            engine.dispose()
        seconds = statistics.median(runs)
        records = args.works + events - -(-args.works // 200)  # each work, and every event but the batches' own
        print(f"rebuild:    {events:,} events holding {args.works:,} works in {seconds:.2f} s (median of 3)")
        print(f"            {records / seconds:,.0f} records/s: works and other events (issue 14's starting figure: about 900 events/s, one a work)")


if __name__ == "__main__":
    main()
