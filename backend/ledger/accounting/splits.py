"""The royalty split engine: pure functions over integer arrays, no database or network inside.

Policy, per usage line (revenue R in minor units, for one output):

1. **Platform share**: R is split between the rights pool and the platform by the platform's
   share in basis points (largest remainder; a tie goes to the pool).
2. **Attribution**: the pool is split across the output's links by their weights (basis points
   summing to 10000; ties to the lower work id).
3. **Upstream**: a work that is itself a registered output (a derivative) passes part of what it
   receives to the works that output links to: its amount is split by those link weights, and
   each source takes its royalty share (its terms in force when the output was registered: a
   later revocation is not retroactive) of its part; the derivative keeps the rest. This repeats
   for sources that are derivatives themselves, up to ``max_depth`` levels.
4. **Co-owners**: each work's total for the period is split among its owners by their shares.

Steps 1 to 3 run per line, so every line conserves its revenue exactly (platform + pool = R, and
the pool reaches works unit for unit) and batches can be split any way without changing a
result. Step 4 runs once per work on its period total: the same for any batching, and with less
rounding than per line. Every split is largest-remainder, so the sum of all payouts plus the
platform's share equals the reported revenue to the unit, deterministically.
"""

from dataclasses import dataclass

import numpy as np

from ledger.accounting.allocation import I64, allocate, allocate_groups, allocate_rows, split_two

BPS = 10_000


@dataclass(frozen=True)
class Facts:
    """What the ledger knows, as arrays indexed by dense output / work / payee numbers.

    out_ptr[o]..out_ptr[o+1] index the links of output o (link_work, link_weight; sorted by work).
    src_ptr[w]..src_ptr[w+1] index the sources of work w when it is a derivative (src_work,
    src_weight, src_royalty: the source's royalty bps when the output was registered).
    own_ptr[w]..own_ptr[w+1] index the owners of work w (own_payee, own_share in bps).
    """

    out_ptr: I64
    link_work: I64
    link_weight: I64
    src_ptr: I64
    src_work: I64
    src_weight: I64
    src_royalty: I64
    own_ptr: I64
    own_payee: I64
    own_share: I64
    n_payees: int

    @property
    def n_works(self) -> int:
        return len(self.own_ptr) - 1


@dataclass(frozen=True)
class Lines:
    output: I64
    revenue: I64
    platform_bps: I64


@dataclass(frozen=True)
class Contributions:
    """What each group of lines (e.g. a usage report) brought each work, after upstream flows:
    parallel arrays sorted by (work, group), zero amounts left out."""

    work: I64
    group: I64
    amount: I64


@dataclass(frozen=True)
class SplitResult:
    platform: I64  # per line
    pool: I64  # per line
    work_totals: I64  # per work: what reached the work after upstream flows
    owner_amounts: I64  # per owner entry (facts.own_*): its share of its work's total
    payee_totals: I64  # per payee: work totals split among co-owners
    contributions: Contributions | None = None  # with ``groups``: work totals broken down by group


def _sum_into(index: I64, values: I64, size: int) -> I64:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, index, values)
    return out


def _validate(facts: Facts, lines: Lines) -> None:
    if not (len(lines.output) == len(lines.revenue) == len(lines.platform_bps)):
        raise ValueError("lines: output, revenue and platform_bps must have the same length")
    if len(lines.revenue) and lines.revenue.min() < 0:
        raise ValueError("revenue must not be negative")
    if len(lines.platform_bps) and (lines.platform_bps.min() < 0 or lines.platform_bps.max() > BPS):
        raise ValueError(f"platform_bps must be between 0 and {BPS}")


def _spread(amount: I64, start: I64, size: I64, to: I64, weight: I64) -> tuple[I64, I64, I64]:
    """Splits each amount over its group ``to[start:start+size]`` by ``weight``; rows are grouped
    by size so each group size is one vectorised allocation. Returns (parent row, target, amount)."""
    parents, targets, amounts = [], [], []
    for k in np.unique(size):
        rows = np.flatnonzero(size == k)
        gather = start[rows][:, None] + np.arange(k, dtype=np.int64)
        amounts.append(allocate_rows(amount[rows], weight[gather], BPS).ravel())
        targets.append(to[gather].ravel())
        parents.append(np.repeat(rows, k))
    if not targets:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    return np.concatenate(parents), np.concatenate(targets), np.concatenate(amounts)


def _attribute(facts: Facts, lines: Lines, pool: I64) -> tuple[I64, I64, I64]:
    """(work, amount, line) entries: each line's pool over its output's links."""
    sizes = np.diff(facts.out_ptr)
    line, works, amounts = _spread(pool, facts.out_ptr[lines.output], sizes[lines.output], facts.link_work, facts.link_weight)
    return works, amounts, line


def _upstream(facts: Facts, work: I64, amount: I64, line: I64, max_depth: int) -> tuple[I64, I64, I64]:
    """Moves royalties from derivative works to their sources, level by level; every entry keeps
    the line it came from, so statements can trace an amount back to its usage report."""
    src_sizes = np.diff(facts.src_ptr)
    derived = (src_sizes[work] > 0) & (amount > 0)
    settled_w, settled_a, settled_l = [work[~derived]], [amount[~derived]], [line[~derived]]
    work, amount, line = work[derived], amount[derived], line[derived]
    for _ in range(max_depth):
        if not len(work):
            break
        parent, child_pos, portions = _spread(
            amount, facts.src_ptr[work], src_sizes[work], np.arange(len(facts.src_work), dtype=np.int64), facts.src_weight
        )
        up, _ = split_two(portions, facts.src_royalty[child_pos], BPS)
        kept = amount - _sum_into(parent, up, len(amount))
        settled_w.append(work)
        settled_a.append(kept)
        settled_l.append(line)
        work, amount, line = facts.src_work[child_pos], up, line[parent]
        derived = (src_sizes[work] > 0) & (amount > 0)
        settled_w.append(work[~derived])
        settled_a.append(amount[~derived])
        settled_l.append(line[~derived])
        work, amount, line = work[derived], amount[derived], line[derived]
    settled_w.append(work)  # whatever is still derived at max_depth stays where it is
    settled_a.append(amount)
    settled_l.append(line)
    return np.concatenate(settled_w), np.concatenate(settled_a), np.concatenate(settled_l)


def _sum_by_key(keys: I64, values: I64) -> tuple[I64, I64]:
    """(distinct keys ascending, the sum of the values of each)."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros(len(distinct), dtype=np.int64)
    np.add.at(sums, inverse, values)
    return distinct, sums


#: Lines per vectorised pass. Steps 1-3 are per line, so chunking changes no result; it bounds
#: the temporaries (about 8 links x 8 bytes x a few arrays per line) to tens of MiB, which the
#: allocator reuses between chunks instead of faulting in fresh pages for one huge pass.
CHUNK_LINES = 1 << 16
#: Largest works x groups table kept dense while tracing contributions (8 bytes per cell: 256 MiB).
DENSE_CONTRIBUTIONS = 1 << 25


def split(facts: Facts, lines: Lines, max_depth: int = 3, groups: I64 | None = None) -> SplitResult:
    """Splits every line. With ``groups`` (a non-negative group number per line, e.g. its usage
    report), also says how much each group brought each work; the work totals are the same."""
    _validate(facts, lines)
    if groups is not None and (len(groups) != len(lines.revenue) or (len(groups) and groups.min() < 0)):
        raise ValueError("groups: one non-negative group number per line")
    n_groups = int(groups.max()) + 1 if groups is not None and len(groups) else 1
    pool, platform = split_two(lines.revenue, BPS - lines.platform_bps, BPS)
    work_totals = np.zeros(facts.n_works, dtype=np.int64)
    keyed: list[tuple[I64, I64]] = []
    # (work, group) totals: a dense array when it is small enough (one add per entry), else
    # sorted keys per chunk. Both exact in int64.
    dense = np.zeros(facts.n_works * n_groups, dtype=np.int64) if groups is not None and facts.n_works * n_groups <= DENSE_CONTRIBUTIONS else None
    for lo in range(0, len(pool), CHUNK_LINES):
        part = slice(lo, lo + CHUNK_LINES)
        chunk = Lines(lines.output[part], lines.revenue[part], lines.platform_bps[part])
        work, amount, line = _attribute(facts, chunk, pool[part])
        work, amount, line = _upstream(facts, work, amount, line, max_depth)
        np.add.at(work_totals, work, amount)
        if groups is not None:
            key = work * n_groups + groups[part][line]
            if dense is not None:
                np.add.at(dense, key, amount)
            else:
                keyed.append(_sum_by_key(key, amount))
    contributions = None
    if groups is not None:
        empty = np.zeros(0, np.int64)
        if dense is not None:
            keys = np.flatnonzero(dense)
            sums = dense[keys]
        else:
            keys, sums = _sum_by_key(np.concatenate([k for k, _ in keyed] or [empty]), np.concatenate([v for _, v in keyed] or [empty]))
        nonzero = sums > 0
        contributions = Contributions(keys[nonzero] // n_groups, keys[nonzero] % n_groups, sums[nonzero])
    owner_amounts = allocate_groups(work_totals, facts.own_ptr, facts.own_share)
    payee_totals = _sum_into(facts.own_payee, owner_amounts, facts.n_payees)
    return SplitResult(platform, pool, work_totals, owner_amounts, payee_totals, contributions)


def split_reference(facts: Facts, lines: Lines, max_depth: int = 3) -> SplitResult:
    """The same policy, line by line in plain Python: the baseline the engine is checked and
    benchmarked against."""
    _validate(facts, lines)
    work_totals = [0] * facts.n_works
    platform_out, pool_out = [], []

    def credit(work: int, amount: int, depth: int) -> None:
        lo, hi = int(facts.src_ptr[work]), int(facts.src_ptr[work + 1])
        if depth >= max_depth or lo == hi or amount == 0:
            work_totals[work] += amount
            return
        portions = allocate(amount, [int(x) for x in facts.src_weight[lo:hi]])
        kept = amount
        for j, portion in zip(range(lo, hi), portions):
            royalty = int(facts.src_royalty[j])
            up = allocate(portion, [royalty, BPS - royalty])[0]
            kept -= up
            credit(int(facts.src_work[j]), up, depth + 1)
        work_totals[work] += kept

    for o, revenue, p in zip(lines.output.tolist(), lines.revenue.tolist(), lines.platform_bps.tolist()):
        pool, platform = allocate(revenue, [BPS - p, p])
        platform_out.append(platform)
        pool_out.append(pool)
        lo, hi = int(facts.out_ptr[o]), int(facts.out_ptr[o + 1])
        for w, amount in zip(facts.link_work[lo:hi].tolist(), allocate(pool, facts.link_weight[lo:hi].tolist())):
            credit(w, amount, 0)
    payees = [0] * facts.n_payees
    owner_amounts = [0] * len(facts.own_payee)
    for w in range(facts.n_works):
        lo, hi = int(facts.own_ptr[w]), int(facts.own_ptr[w + 1])
        for j, amount in zip(range(lo, hi), allocate(work_totals[w], facts.own_share[lo:hi].tolist())):
            payees[int(facts.own_payee[j])] += amount
            owner_amounts[j] = amount
    as_array = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return SplitResult(as_array(platform_out), as_array(pool_out), as_array(work_totals), as_array(owner_amounts), as_array(payees))
