"""What closing a period adds to a royalty run, on bench_splits.py's synthetic ledger (100,000
works x 3 co-owners, 1M lines, here spread over 12 usage reports): the split with per-report
tracing, the traced (holder, work, report) lines, the Merkle tree of the entries, and the
canonical document. The database and the chain are left out (bench_usage.py closes a period end
to end).

    .venv/bin/python scripts/bench_statements.py [--lines 1000000] [--reports 12]
"""

import argparse
import hashlib
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_splits import synthetic  # noqa: E402

from ledger.accounting.balances import settle  # noqa: E402
from ledger.accounting.splits import split  # noqa: E402
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree, process_proof  # noqa: E402
from ledger.services.royalties import _by_address, _traces  # noqa: E402
from ledger.services.statements import canonical_with_lines, lines_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reports", type=int, default=12)
    parser.add_argument("--memory", action="store_true", help="trace Python allocations (much slower)")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    facts, lines = synthetic(rng, 100_000, 50_000, args.lines)
    groups = rng.integers(0, args.reports, size=len(lines.revenue)).astype(np.int64)
    payees = [("0x" + f"{p + 1:040x}", "0x" + f"{p + 1:040x}") for p in range(facts.n_payees)]
    print(f"ledger: {facts.n_works:,} works x 3 owners, {len(lines.revenue):,} lines in {args.reports} reports")

    tracemalloc.start() if args.memory else None
    start = time.perf_counter()
    plain = split(facts, lines)
    t_plain = time.perf_counter() - start
    start = time.perf_counter()
    result = split(facts, lines, groups=groups)
    t_traced = time.perf_counter() - start
    assert result.payee_totals.tolist() == plain.payee_totals.tolist()
    start = time.perf_counter()
    order = _by_address(payees, result.payee_totals.tolist())
    every_report = np.arange(args.reports, dtype=np.int64)  # one engine group per report, no dispute holding any
    traces = _traces(facts, result, list(range(facts.n_works)), order, every_report, np.zeros(args.reports, dtype=np.int64))
    t_traces = time.perf_counter() - start
    assert int(traces.amount.sum()) == int(result.payee_totals.sum())
    entries = [(i, *payees[p], int(result.payee_totals[p])) for i, p in enumerate(order)]
    start = time.perf_counter()
    owed = {a: 1_000 for a, _ in payees[::10]}  # a tenth of the holders bring a balance forward
    settled = settle([(a, v) for _, a, _, v in entries], owed)
    t_settle = time.perf_counter() - start
    assert sum(settled.payable) - sum(b.carried_forward for b in settled.balances) == sum(e[3] for e in entries) - sum(owed.values())
    start = time.perf_counter()
    leaves = [(a, p, v, hashlib.sha256(f"{a}{p}".encode()).digest()) for _, a, p, v in entries]  # (account, payout, cumulative, salt)
    tree = StandardMerkleTree.of(leaves, STATEMENT_LEAF_TYPES)
    t_tree = time.perf_counter() - start
    assert process_proof(tree.leaf(leaves[0]), tree.proof_of(leaves[0])) == tree.root
    start = time.perf_counter()
    head = {"entries": [{"index": i, "account": a, "payout": p, "amount": v} for i, a, p, v in entries], "root": "0x" + tree.root.hex()}
    document = canonical_with_lines(head, lines_json(traces))
    t_doc = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if args.memory else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"split:     {t_plain:.2f} s plain, {t_traced:.2f} s with per-report tracing ({len(result.contributions.work):,} work x report amounts)")  # type: ignore[union-attr]
    print(f"lines:     {len(traces):,} (holder, work, report) lines in {t_traces:.2f} s")
    print(f"entries:   {len(entries):,} entries, Merkle tree in {t_tree:.2f} s; balances settled in {t_settle:.2f} s ({len(owed):,} owing)")
    print(f"document:  {len(document) / 2**20:,.1f} MiB canonical JSON in {t_doc:.2f} s; peak memory {peak / 2**20:,.0f} MiB")
    print(f"close adds {t_traced - t_plain + t_traces + t_settle + t_tree + t_doc:.1f} s to the royalty run (before the database and the chain)")


if __name__ == "__main__":
    main()
