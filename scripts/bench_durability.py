"""What a durable 201 costs on the embedded node: registering works one at a time, durable by the
outbox's row alone (a restarted node gets the transaction replayed into the same block: today's
way) and, as before 2026-11-29, with anvil's whole state also written to disk after each
transaction, alternating in the same process on the same chain, so the ratio compares like with like.

    .venv/bin/python scripts/bench_durability.py [N]     # N registrations per mode (default 60)
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ledger.chain.durability import ChainStateSaver
from ledger.chain.node import AnvilNode
from ledger.chain.registry import Terms
from ledger.config import Settings
from ledger.models import Role
from ledger.reliability.api_process import free_port
from ledger.reliability.scratch import key_for
from ledger.runtime import open_ledger
from ledger.services.works import WorkRequest, register_works


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        node = AnvilNode(root / "chain", free_port(), state_interval_s=3600)
        node.start()
        try:
            ledger = open_ledger(Settings(data_dir=root / "data", rpc_url=node.url, database_url=f"sqlite:///{root / 'l.db'}"), deploy=True)
            key = key_for(ledger, Role.rights_holder)
            saver = ChainStateSaver(ledger.w3, node.state_file)
            times: dict[str, list[float]] = {"the outbox row (now)": [], "and the whole state written (before)": []}
            for i in range(2 * n):
                mode = "and the whole state written (before)" if i % 2 else "the outbox row (now)"
                ledger.sender.after_mined = saver.save if i % 2 else None
                started = time.perf_counter()
                register_works(ledger, key, [WorkRequest(title=f"w{i}", terms=Terms.from_flags(True, 0, 0), content_hash=(i + 1).to_bytes(32, "big"))])
                times[mode].append(time.perf_counter() - started)
            size = node.state_file.stat().st_size
            blocks = ledger.w3.eth.block_number
        finally:
            node.stop()
    table = Table("mode", "registrations", "median ms", "p90 ms")
    for mode, xs in times.items():
        table.add_row(mode, str(len(xs)), f"{statistics.median(xs) * 1000:.1f}", f"{sorted(xs)[int(0.9 * len(xs))] * 1000:.1f}")
    Console().print(table)
    ratio = statistics.median(times["and the whole state written (before)"]) / statistics.median(times["the outbox row (now)"])
    print(f"before / now: {ratio:.2f}x the median registration time; state file {size / 2**20:.1f} MiB at block {blocks}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
