"""Reads and writes per second with 1 and with N API workers (issue 14: "reads scale with workers").

For each worker count it starts the ledger as an operator would, `ledger up --workers N` on
PostgreSQL (its own anvil, a fresh database), in a process of its own; registers some works; then
32 concurrent clients (asyncio, this process) read works for a fixed time, and 32 write one work
each per request. Prints requests/s and the ratio to one worker, measured the same way, and the
CPU the ledger's processes spent a work written (anvil apart): throughput on two shared cores
follows the load of the moment, CPU a work much less.

    .venv/bin/python scripts/bench_workers.py [--workers 1,4] [--seconds 10] [--repeat 3] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres] [--block-time 1]

With ``--repeat N`` each worker count runs N times, the counts taking turns (1, 4, 1, 4, ...), so
a change in the machine's load falls on all of them; the table gives the lowest, median and
highest figure. Beside the ledger's own CPU a work it prints where the rest of the machine's went
(the load generator, this process; anvil; PostgreSQL) and how many of the cores were busy: a
figure that stops rising with free cores left is the ledger's latency, one with none left is the
machine's.

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
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def _postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of each of the PostgreSQL server's processes (the bench's database is on
    it), by process id: a connection's process may end during a run, taking its count with it."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")] == "postgres":
                fields = stat[stat.rindex(")") + 2 :].split()
                found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def _postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds PostgreSQL's processes spent since ``before``: those that lived through the run
    and those that started in it (one that ended in it is not counted: a lower bound)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in _postgres_cpu_seconds().items())


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (not idle, not waiting on the disk)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One run of one worker count; CPU figures are milliseconds a work written."""

    reads: float  # a second
    writes: float  # works a second
    errors: int  # non-2xx answers, reads and writes
    per_tx: float  # works a transaction
    per_block: float  # transactions a block
    ledger_ms: float  # the ledger's processes
    loadgen_ms: float  # the 32 clients (this process)
    node_ms: float  # anvil
    postgres_ms: float
    busy_cores: float  # of the machine, while writing


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


def _run(workers: int, postgres: str, seconds: float, tmp: Path, block_time: float = 0) -> Run:
    api_port, chain_port = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(dir=tmp))  # a directory of its own: a worker count runs more than once
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
        ledger_before, node_before = _cpu_seconds(up.pid)
        own_before, postgres_before, busy_before = time.process_time(), _postgres_cpu_seconds(), _busy_cpu_seconds()
        started = time.perf_counter()
        writes, write_errors = asyncio.run(_hammer(url, seconds, write, txs))
        elapsed = time.perf_counter() - started
        busy = _busy_cpu_seconds() - busy_before
        own, postgres_cpu = time.process_time() - own_before, _postgres_cpu_since(postgres_before)
        ledger_cpu, node_cpu = (after - before for after, before in zip(_cpu_seconds(up.pid), (ledger_before, node_before)))
        per_work = 1000 / max(1, writes)
        return Run(
            reads / seconds, writes / seconds, read_errors + write_errors, writes / max(1, len(txs)), len(txs) / max(1, len({block for _, block in txs})),
            ledger_cpu * per_work, own * per_work, (node_cpu if node is None else 0.0) * per_work, postgres_cpu * per_work, busy / elapsed,
        )  # fmt: skip
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


def _spread(values: list[float], digits: int = 1, unit: str = "") -> str:
    """"median (lowest-highest)" of several runs; the figure alone for one."""
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}{unit}"
    return f"{statistics.median(values):,.{digits}f}{unit} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each worker count, the counts taking turns")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/postgres")
    parser.add_argument("--block-time", type=float, default=0, help="mine a block every this many seconds (0: one per transaction, the embedded node)")
    args = parser.parse_args()
    console = Console(width=200)
    counts = [int(n) for n in args.workers.split(",")]
    runs: dict[int, list[Run]] = {n: [] for n in counts}
    speed_before = host_speed()
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(args.repeat):
            for workers in counts:
                run = _run(workers, args.postgres, args.seconds, Path(tmp), args.block_time)
                runs[workers].append(run)
                console.print(
                    f"  {workers} worker(s), run {turn + 1}: {run.reads:,.0f} reads/s, {run.writes:,.1f} writes/s; a work: ledger {run.ledger_ms:.2f} ms, "
                    f"load generator {run.loadgen_ms:.2f}, anvil {run.node_ms:.2f}, PostgreSQL {run.postgres_ms:.2f}; {run.busy_cores:.2f} cores busy"
                )  # fmt: skip
    repeat = f", median (lowest-highest) of {args.repeat} runs" if args.repeat > 1 else ""
    table = Table(
        "API workers", "reads/s", "× one worker", "writes (works)/s", "× one worker", "works per transaction", "transactions per block",
        "ledger CPU a work", "load generator, anvil, PostgreSQL a work", "cores busy", "non-2xx",
        title=f"{CLIENTS} concurrent clients, PostgreSQL" + (f", a block every {args.block_time:g} s" if args.block_time else "") + repeat,
    )  # fmt: skip
    base = runs[counts[0]]
    for workers in counts:
        each = runs[workers]
        med = lambda field: statistics.median(getattr(r, field) for r in each)  # noqa: E731
        table.add_row(
            str(workers), _spread([r.reads for r in each], 0), f"{med('reads') / statistics.median(r.reads for r in base):.2f}",
            _spread([r.writes for r in each]), f"{med('writes') / statistics.median(r.writes for r in base):.2f}",
            f"{med('per_tx'):.1f}", f"{med('per_block'):.1f}", _spread([r.ledger_ms for r in each], 2, " ms"),
            f"{med('loadgen_ms'):.2f}, {med('node_ms'):.2f}, {med('postgres_ms'):.2f} ms", f"{med('busy_cores'):.2f}", str(sum(r.errors for r in each)),
        )  # fmt: skip
    console.print(table)
    console.print(f"host speed: the reference work took {speed_before:.0f} ms of CPU before, {host_speed():.0f} ms after (lower is faster; compare figures of different days beside it)")


if __name__ == "__main__":
    main()
