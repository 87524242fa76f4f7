"""A bounded load on loopback: readers and writers at once for a fixed time, then throughput,
latency percentiles and every status seen. Writers register works with fresh content hashes
(each a chain transaction); readers fetch works, lists and health."""

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


@dataclass
class LoadResult:
    seconds: float
    reads: list[float] = field(default_factory=list)  # latencies, seconds
    writes: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors by type

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def figures(self) -> dict[str, object]:
        def pct(xs: list[float], q: float) -> float | None:
            return round(sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1) if xs else None

        return {
            "seconds": round(self.seconds, 1),
            "reads": len(self.reads), "reads_per_s": round(len(self.reads) / self.seconds, 1),
            "read_p50_ms": pct(self.reads, 0.5), "read_p99_ms": pct(self.reads, 0.99),
            "writes": len(self.writes), "writes_per_s": round(len(self.writes) / self.seconds, 1),
            "write_p50_ms": pct(self.writes, 0.5), "write_p99_ms": pct(self.writes, 0.99),
            "statuses": dict(sorted(self.statuses.items())), "transport_errors": dict(self.errors), "server_errors": self.server_errors,
        }  # fmt: skip


def run_load(url: str, token: str, work_ids: list[int], seconds: float, readers: int = 4, writers: int = 2, seed: int = 0) -> LoadResult:
    result = LoadResult(seconds)
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = itertools.count()

    def worker(send: Callable[[httpx.Client, int], httpx.Response], into: list[float]) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while time.monotonic() < stop:
                n = next(counter)
                t0 = time.perf_counter()
                try:
                    status = send(client, n).status_code
                except httpx.HTTPError as exc:
                    with lock:
                        result.errors[type(exc).__name__] += 1
                    continue
                with lock:
                    into.append(time.perf_counter() - t0)
                    result.statuses[status] += 1

    def read(client: httpx.Client, n: int) -> httpx.Response:
        kind = n % 4
        if kind == 0:
            return client.get("/works", params={"limit": 20})
        if kind == 1:
            return client.get("/health")
        return client.get(f"/works/{work_ids[n % len(work_ids)]}")

    def write(client: httpx.Client, n: int) -> httpx.Response:
        content_hash = "0x" + f"{seed:016x}{n:048x}"
        return client.post("/works", json={"title": f"load {n}", "terms": TERMS, "content_hash": content_hash})

    threads = [threading.Thread(target=worker, args=(read, result.reads)) for _ in range(readers)]
    threads += [threading.Thread(target=worker, args=(write, result.writes)) for _ in range(writers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result
