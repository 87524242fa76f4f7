"""Benchmark of the split engine on a synthetic ledger.

100,000 works with 3 co-owners each, 10 % of them derivatives (up to depth 3), 50,000 outputs
with 8 attribution links, 1,000,000 usage lines. Prints lines/s and peak memory of the engine,
and its speed against the straightforward line-by-line implementation (same policy, same
results) run in the same process on a 10,000-line sample. The engine runs five times (the median is
reported, with the first and slowest runs: the first one also pays for faulting in fresh memory).

Then model-level revenue: one model whose pool is the whole 100,000-work training set, 1,000,000
model-level lines over 12 usage reports, split the same way; the ratio to the output lines'
speed is printed (the target is the same speed).

    .venv/bin/python scripts/bench_splits.py [--lines 1000000]
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from ledger.accounting.splits import Facts, Lines, split, split_reference

BPS = 10_000


def _weights(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    cuts = np.sort(rng.choice(np.arange(1, BPS), size=(rows, k - 1)), axis=1) if k > 1 else np.zeros((rows, 0), np.int64)
    # distinct cuts are not needed for weights >= 0, but zero weights are invalid: nudge duplicates apart
    edges = np.concatenate([np.zeros((rows, 1), np.int64), cuts, np.full((rows, 1), BPS)], axis=1)
    w = np.diff(edges, axis=1)
    w[w == 0] = 1
    w[:, -1] = BPS - w[:, :-1].sum(axis=1)
    bad = w[:, -1] <= 0
    w[bad] = BPS // k
    w[bad, -1] = BPS - (BPS // k) * (k - 1)
    return w.astype(np.int64)


def synthetic(rng: np.random.Generator, n_works: int, n_outputs: int, n_lines: int) -> tuple[Facts, Lines]:
    owners = 3
    own_ptr = np.arange(0, owners * n_works + 1, owners, dtype=np.int64)
    own_payee = rng.integers(0, n_works * 2, size=owners * n_works).astype(np.int64)
    own_payee = own_payee.reshape(n_works, owners)
    own_payee[:, 1] = (own_payee[:, 0] + 1) % (n_works * 2)  # distinct owners per work
    own_payee[:, 2] = (own_payee[:, 0] + 2) % (n_works * 2)
    own_share = _weights(rng, n_works, owners).ravel()

    derived = np.flatnonzero((rng.random(n_works) < 0.10) & (np.arange(n_works) > 10))
    src_counts = np.zeros(n_works, np.int64)
    src_counts[derived] = rng.integers(1, 4, size=len(derived))
    src_ptr = np.concatenate(([0], np.cumsum(src_counts))).astype(np.int64)
    src_work = np.concatenate([np.sort(rng.choice(w, size=c, replace=False)) for w, c in zip(derived, src_counts[derived])]).astype(np.int64)
    src_weight = np.concatenate([_weights(rng, 1, c)[0] for c in src_counts[derived]])
    src_royalty = rng.integers(0, 3001, size=len(src_work)).astype(np.int64)

    links = 8
    out_ptr = np.arange(0, links * n_outputs + 1, links, dtype=np.int64)
    link_work = np.sort(np.stack([rng.choice(n_works, size=links, replace=False) for _ in range(n_outputs)]), axis=1).ravel().astype(np.int64)
    link_weight = _weights(rng, n_outputs, links).ravel()

    facts = Facts(out_ptr, link_work, link_weight, src_ptr, src_work, src_weight, src_royalty, own_ptr, own_payee.ravel(), own_share, n_works * 2)
    lines = Lines(
        rng.integers(0, n_outputs, size=n_lines).astype(np.int64),
        rng.integers(0, 1_000_000, size=n_lines).astype(np.int64),
        np.full(n_lines, 3000, dtype=np.int64),
    )
    return facts, lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    facts, lines = synthetic(rng, 100_000, 50_000, args.lines)
    print(f"ledger: {facts.n_works:,} works x 3 owners, {len(facts.src_work):,} derivative links, "
          f"{len(facts.out_ptr) - 1:,} outputs x 8 links, {len(lines.revenue):,} lines")  # fmt: skip

    split(facts, Lines(lines.output[:1000], lines.revenue[:1000], lines.platform_bps[:1000]))  # imports, caches
    tracemalloc.start()
    start = time.perf_counter()
    result = split(facts, lines)
    first_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.payee_totals.sum() + result.platform.sum() == lines.revenue.sum()
    runs = [first_s]
    for _ in range(args.repeat - 1):
        start = time.perf_counter()
        again = split(facts, lines)
        runs.append(time.perf_counter() - start)
        assert again.payee_totals.tolist() == result.payee_totals.tolist()  # deterministic
    engine_s = statistics.median(runs)
    engine_rate = len(lines.revenue) / engine_s
    print(f"engine:    {engine_s:.2f} s for {len(lines.revenue):,} lines = {engine_rate:,.0f} lines/s "
          f"(median of {len(runs)}; first run {first_s:.2f} s, slowest {max(runs):.2f} s), peak memory {peak / 2**20:,.0f} MiB")  # fmt: skip

    sample = Lines(lines.output[: args.sample], lines.revenue[: args.sample], lines.platform_bps[: args.sample])
    start = time.perf_counter()
    reference = split_reference(facts, sample)
    baseline_s = time.perf_counter() - start
    baseline_rate = args.sample / baseline_s
    assert reference.payee_totals.tolist() == split(facts, sample).payee_totals.tolist()
    print(f"baseline:  {baseline_s:.2f} s for {args.sample:,} lines = {baseline_rate:,.0f} lines/s (line-by-line Python, same results)")
    print(f"speed-up:  {engine_rate / baseline_rate:,.0f}x (median run; {len(lines.revenue) / max(runs) / baseline_rate:,.0f}x for the slowest)")
    print(f"conserved: payees {result.payee_totals.sum():,} + platform {result.platform.sum():,} = revenue {lines.revenue.sum():,}")
    bench_pools(facts, lines, rng, args.repeat, engine_rate)


def pooled(facts: Facts, lines: Lines, rng: np.random.Generator, reports: int) -> tuple[Facts, Lines, np.ndarray]:
    """The same ledger with one more output: a pool over every work (weight 1 each), and as many
    model-level lines as ``lines``, spread over ``reports`` groups."""
    n_works = facts.n_works
    out_ptr = np.concatenate([facts.out_ptr, [facts.out_ptr[-1] + n_works]]).astype(np.int64)
    link_work = np.concatenate([facts.link_work, np.arange(n_works, dtype=np.int64)])
    link_weight = np.concatenate([facts.link_weight, np.ones(n_works, dtype=np.int64)])
    flags = np.zeros(len(out_ptr) - 1, dtype=bool)
    flags[-1] = True
    with_pool = Facts(out_ptr, link_work, link_weight, facts.src_ptr, facts.src_work, facts.src_weight, facts.src_royalty,
                      facts.own_ptr, facts.own_payee, facts.own_share, facts.n_payees, flags)  # fmt: skip
    model_lines = Lines(np.full(len(lines.revenue), len(out_ptr) - 2, dtype=np.int64), lines.revenue, lines.platform_bps)
    return with_pool, model_lines, np.sort(rng.integers(0, reports, size=len(lines.revenue))).astype(np.int64)


def bench_pools(facts: Facts, lines: Lines, rng: np.random.Generator, repeat: int, output_rate: float) -> None:
    with_pool, model_lines, groups = pooled(facts, lines, rng, 12)
    print(f"model-level: 1 model pooling all {facts.n_works:,} works, {len(model_lines.revenue):,} lines in 12 reports")
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = split(with_pool, model_lines, groups=groups)
        runs.append(time.perf_counter() - start)
    assert result.payee_totals.sum() + result.platform.sum() == model_lines.revenue.sum()
    rate = len(model_lines.revenue) / statistics.median(runs)
    sample = slice(0, 10_000)
    reference = split_reference(with_pool, Lines(*(a[sample] for a in (model_lines.output, model_lines.revenue, model_lines.platform_bps))), groups=groups[sample])
    assert reference.payee_totals.tolist() == split(
        with_pool, Lines(*(a[sample] for a in (model_lines.output, model_lines.revenue, model_lines.platform_bps))), groups=groups[sample]
    ).payee_totals.tolist()
    print(f"engine:    {statistics.median(runs):.2f} s = {rate:,.0f} model-level lines/s (median of {len(runs)}, traced by report), "
          f"{rate / output_rate:.2f}x the output lines' speed; same results as the reference on 10,000 lines")  # fmt: skip


if __name__ == "__main__":
    main()
