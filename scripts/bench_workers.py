"""Reads and writes per second with 1 and with N API workers (issue 14: "reads scale with workers").

For each worker count it starts the ledger as an operator would, `ledger up --workers N` on
PostgreSQL (its own anvil, a fresh database), in a process of its own; registers some works; then
32 concurrent clients (asyncio, this process) read works for a fixed time, and 32 write one work
each per request. Prints requests/s and the ratio to one worker, measured the same way, and the
CPU the ledger's processes spent a work written (anvil apart): throughput on two shared cores
follows the load of the moment, CPU a work much less.

    .venv/bin/python scripts/bench_workers.py [--workers 1,4] [--seconds 10] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres] [--block-time 1]

With ``--block-time``, the chain is an anvil of its own mining a block every so many seconds
(``ledger up --no-chain``), as a public chain does: the throughput is then how many works the
relayed transactions of one block carry, and several workers' transactions share a block only if
one worker's need not be mined before the next is sent.
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from ledger.chain.node import AnvilNode
from ledger.reliability.api_process import free_port
from ledger.reliability.scratch import fresh_postgres_database

CLIENTS = 32
TERMS = {"training_allowed": True, "royalty_bps": 500}


def _ledger_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(Path(sys.executable).with_name("ledger")), *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def _hammer(url: str, seconds: float, request: "callable", seen: set[tuple[str, int]] | None = None) -> tuple[int, int]:  # type: ignore[valid-type]
    """(answers 2xx, other answers) from CLIENTS clients sending back to back for ``seconds``;
    ``seen`` collects the transactions (and their blocks) writes were answered with."""
    ok = failed = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal ok, failed
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            i = 0
            while time.perf_counter() < deadline:
                resp = await request(c, n, i)
                i += 1
                if resp.is_success:
                    ok += 1
                    if seen is not None:
                        answer = resp.json()
                        seen.add((answer["tx_hash"], answer["block_number"]))
                else:
                    failed += 1

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return ok, failed


def _cpu_seconds(root: int) -> tuple[float, float]:
    """CPU seconds (user + system) so far of ``root`` and its descendants: the ledger's processes,
    and apart the embedded anvil's (Linux /proc)."""
    parents: dict[int, int] = {}
    cpu: dict[int, tuple[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    ledger = node = 0.0
    for pid, (name, seconds) in cpu.items():
        p = pid
        while p not in (root, 0, 1) and p in parents:
            p = parents[p]
        if p == root:
            if name == "anvil":
                node += seconds
            else:
                ledger += seconds
    return ledger, node


def host_speed() -> float:
    """Milliseconds of CPU this machine takes for a fixed piece of pure Python (JSON and hashing,
    a request's kind of work), lower is faster: the shared machines these figures come from
    differed by three times from one day to the next, so figures of different days compare only
    beside it."""
    doc = {"title": "w", "content_hash": "0x" + "ab" * 32, "terms": TERMS}
    start = time.process_time()
    for i in range(20_000):
        hashlib.sha256(json.dumps({**doc, "i": i}).encode()).digest()
    return 1000 * (time.process_time() - start)


def _run(workers: int, postgres: str, seconds: float, tmp: Path, block_time: float = 0) -> tuple[float, float, int, float, float, float]:
    api_port, chain_port = free_port(), free_port()
    # With a block time, an anvil of the bench's own that mines a block every so many seconds, as a
    # public chain does: a write then waits for the next block, and how many relayed transactions
    # go into one decides the throughput.
    node = AnvilNode(tmp / f"chain-{workers}", chain_port, block_time_s=block_time) if block_time else None
    if node is not None:
        node.start()
    env = {
        **os.environ, "LEDGER_DATA_DIR": str(tmp / f"data-{workers}"), "LEDGER_DATABASE_URL": fresh_postgres_database(postgres, "ledger_bench_workers"),
        "LEDGER_API_PORT": str(api_port), "LEDGER_CHAIN_PORT": str(chain_port), "LEDGER_RPC_URL": f"http://127.0.0.1:{chain_port}",
        "LEDGER_AUTH_FAILURES_PER_MINUTE": "1000",
    }  # fmt: skip
    log = (tmp / f"up-{workers}.log").open("wb")
    no_chain = ["--no-chain"] if node is not None else []
    up = subprocess.Popen([str(Path(sys.executable).with_name("ledger")), "up", *no_chain, "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert up.poll() is None and time.monotonic() < deadline, (tmp / f"up-{workers}.log").read_text()[-3000:]
            time.sleep(0.5)
        token = _ledger_cli(env, "keys", "create", "--role", "rights_holder", "--label", "bench").strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        seeded = httpx.post(f"{url}/works/batch", headers=auth, timeout=300, json={"works": [
            {"title": f"seed {i}", "content_hash": "0x" + f"{i + 1:064x}", "terms": TERMS} for i in range(100)]})  # fmt: skip
        assert seeded.status_code == 201, seeded.text
        ids = [w["work_id"] for w in seeded.json()]

        async def read(c: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
            return await c.get(f"/works/{random.choice(ids)}", headers=auth)

        async def write(c: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
            h = "0x" + f"{(workers << 40) + (n << 20) + i + 1_000_000:064x}"
            return await c.post("/works", headers=auth, json={"title": f"w{n}-{i}", "content_hash": h, "terms": TERMS})

        reads, read_errors = asyncio.run(_hammer(url, seconds, read))
        txs: set[tuple[str, int]] = set()
        before = _cpu_seconds(up.pid)[0]
        writes, write_errors = asyncio.run(_hammer(url, seconds, write, txs))
        cpu_a_work = (_cpu_seconds(up.pid)[0] - before) / max(1, writes)
        per_block = len(txs) / max(1, len({block for _, block in txs}))
        return reads / seconds, writes / seconds, read_errors + write_errors, writes / max(1, len(txs)), per_block, cpu_a_work
    except httpx.HTTPError:
        print((tmp / f"up-{workers}.log").read_text()[-4000:])  # what the ledger said before it failed us
        raise
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
        if node is not None:
            node.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/postgres")
    parser.add_argument("--block-time", type=float, default=0, help="mine a block every this many seconds (0: one per transaction, the embedded node)")
    args = parser.parse_args()
    console = Console(width=160)
    table = Table(
        "API workers", "reads/s", "× one worker", "writes (works)/s", "× one worker", "works per transaction", "transactions per block", "ledger CPU a work", "non-2xx",
        title=f"{CLIENTS} concurrent clients, PostgreSQL" + (f", a block every {args.block_time:g} s" if args.block_time else ""),
    )  # fmt: skip
    base: tuple[float, float] | None = None
    speed_before = host_speed()
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(n) for n in args.workers.split(",")):
            reads, writes, errors, per_tx, per_block, cpu = _run(workers, args.postgres, args.seconds, Path(tmp), args.block_time)
            base = base or (reads, writes)
            table.add_row(
                str(workers), f"{reads:,.0f}", f"{reads / base[0]:.2f}", f"{writes:,.1f}", f"{writes / base[1]:.2f}", f"{per_tx:.1f}", f"{per_block:.1f}", f"{1000 * cpu:.2f} ms", str(errors)
            )  # fmt: skip
            console.print(f"  {workers} worker(s): {reads:,.0f} reads/s, {writes:,.1f} writes/s")
    console.print(table)
    console.print(f"host speed: the reference work took {speed_before:.0f} ms of CPU before, {host_speed():.0f} ms after (lower is faster; compare figures of different days beside it)")


if __name__ == "__main__":
    main()
