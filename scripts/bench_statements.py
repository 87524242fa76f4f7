"""What closing a period adds to a royalty run, on bench_splits.py's synthetic ledger (100,000
works x 3 co-owners, 1M lines, here spread over 12 usage reports): the split with per-report
tracing, the traced (holder, work, report) lines, the Merkle tree of the entries, and the
canonical document; then what a verifier does with the document: parse it (its lines into an
array) and compare every line. The database and the chain are left out (bench_usage.py closes,
exports and verifies a period end to end).

The lines go through the engine in pieces of ``--piece`` lines, generated piece by piece, as a
royalty run reads them from the database: with ``--lines 10000000`` the peak memory printed is
what a 10M-line period needs (issue 14: under 1 GiB). ``--whole`` splits all lines at once and
parses the document with ``json`` instead, the way both were done before.

    .venv/bin/python scripts/bench_statements.py [--lines 1000000] [--reports 12] [--piece 200000] [--whole]
"""

import argparse
import hashlib
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_splits import synthetic  # noqa: E402

from ledger.accounting.balances import settle  # noqa: E402
from ledger.accounting.splits import Lines, Splitter, split  # noqa: E402
from ledger.content.statement_document import canonical_with_lines, lines_array, lines_json, parse_statement  # noqa: E402
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree, process_proof  # noqa: E402
from ledger.services.royalties import _by_address, _traces  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reports", type=int, default=12)
    parser.add_argument("--piece", type=int, default=200_000, help="lines per piece through the engine")
    parser.add_argument("--whole", action="store_true", help="all lines at once and the document parsed by json (the code before)")
    parser.add_argument("--memory", action="store_true", help="trace Python allocations (much slower)")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    facts, _ = synthetic(rng, 100_000, 50_000, 0)
    n_outputs = len(facts.out_ptr) - 1
    payees = [("0x" + f"{p + 1:040x}", "0x" + f"{p + 1:040x}") for p in range(facts.n_payees)]
    print(f"ledger: {facts.n_works:,} works x 3 owners, {args.lines:,} lines in {args.reports} reports" + (" at once" if args.whole else f", pieces of {args.piece:,}"))

    def piece(n: int) -> tuple[Lines, np.ndarray]:
        lines = Lines(rng.integers(0, n_outputs, size=n).astype(np.int64), rng.integers(0, 1_000_000, size=n).astype(np.int64), np.full(n, 3000, dtype=np.int64))
        return lines, rng.integers(0, args.reports, size=n).astype(np.int64)

    tracemalloc.start() if args.memory else None
    start = time.perf_counter()
    if args.whole:
        lines, groups = piece(args.lines)
        result = split(facts, lines, groups=groups)
        revenue = int(lines.revenue.sum())
        del lines, groups
    else:
        splitter = Splitter(facts, n_groups=args.reports, tracing=True)
        revenue = platform_total = 0
        for lo in range(0, args.lines, args.piece):
            lines, groups = piece(min(args.piece, args.lines - lo))
            platform, _ = splitter.add(lines, groups)
            revenue += int(lines.revenue.sum())
            platform_total += int(platform.sum())
        result = splitter.finish()
        assert int(result.payee_totals.sum()) + platform_total == revenue, "not conserved"
    t_traced = time.perf_counter() - start
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
    del head
    t_doc = time.perf_counter() - start
    start = time.perf_counter()
    if args.whole:
        parsed = json.loads(document)
        theirs = np.array(parsed["lines"], dtype=np.int64).reshape(-1, 4)
    else:
        parsed = parse_statement(document)
        theirs = lines_array(parsed["lines"])
    columns = (traces.payee, traces.work_id, traces.report, traces.amount)
    assert len(theirs) == len(traces) and all((theirs[:, i] == c).all() for i, c in enumerate(columns)) and len(parsed["entries"]) == len(entries)
    t_parse = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if args.memory else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"split:     {t_traced:.2f} s with per-report tracing ({len(result.contributions.work):,} work x report amounts)")  # type: ignore[union-attr]
    print(f"lines:     {len(traces):,} (holder, work, report) lines in {t_traces:.2f} s")
    print(f"entries:   {len(entries):,} entries, Merkle tree in {t_tree:.2f} s; balances settled in {t_settle:.2f} s ({len(owed):,} owing)")
    print(f"document:  {len(document) / 2**20:,.1f} MiB canonical JSON in {t_doc:.2f} s; read back and every line compared in {t_parse:.2f} s")
    print(f"peak memory {peak / 2**20:,.0f} MiB for {args.lines:,} lines")


if __name__ == "__main__":
    main()
