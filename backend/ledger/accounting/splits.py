"""The royalty split engine: pure functions over integer arrays, no database or network inside.

Policy, per usage line (revenue R in minor units, for one output):

1. **Platform share**: R is split between the rights pool and the platform by the platform's
   share in basis points (largest remainder; a tie goes to the pool).
2. **Attribution**: the pool is split across the output's links by their weights (basis points
   summing to 10000; ties to the lower work id). A **pooled** output (a model's training set:
   model-level revenue such as subscriptions and training fees, and output lines whose output
   has no links) is split once per group instead of once per line: the pools of its lines in a
   group (a usage report) are added up and the sum is split over its works by their weights (1
   each: equal per work; ties to the lower work id). Per line that would round each work's tiny
   part of a line away, unit by unit; per group each work is within a unit of its exact share.
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

from dataclasses import dataclass, replace

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
    #: Per output: True for a pool (split once per group, over weights of any total); None: none.
    out_pooled: np.ndarray | None = None

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
    if len(lines.output) and (np.diff(facts.out_ptr)[lines.output] == 0).any():
        raise ValueError("a line's output has no links: it would pay no one (lines of such outputs go to their model's pool)")
    if len(lines.revenue) and lines.revenue.min() < 0:
        raise ValueError("revenue must not be negative")
    if len(lines.platform_bps) and (lines.platform_bps.min() < 0 or lines.platform_bps.max() > BPS):
        raise ValueError(f"platform_bps must be between 0 and {BPS}")


def _spread(amount: I64, start: I64, size: I64, to: I64, weight: I64, total: I64 | None = None) -> tuple[I64, I64, I64]:
    """Splits each amount over its group ``to[start:start+size]`` by ``weight`` (summing to BPS,
    or to ``total`` per row); rows are grouped by size so each group size is one vectorised
    allocation. Returns (parent row, target, amount)."""
    parents, targets, amounts = [], [], []
    for k in np.unique(size):
        rows = np.flatnonzero(size == k)
        gather = start[rows][:, None] + np.arange(k, dtype=np.int64)
        row_total = BPS if total is None else total[rows][:, None]
        amounts.append(allocate_rows(amount[rows], weight[gather], row_total).ravel())
        targets.append(to[gather].ravel())
        parents.append(np.repeat(rows, k))
    if not targets:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    return np.concatenate(parents), np.concatenate(targets), np.concatenate(amounts)


def _attribute(facts: Facts, output: I64, pool: I64, totals: I64 | None = None) -> tuple[I64, I64, I64]:
    """(work, amount, row) entries: each row's pool over its output's links (``totals``: the
    outputs' weight totals, for pools)."""
    sizes = np.diff(facts.out_ptr)
    row, works, amounts = _spread(
        pool, facts.out_ptr[output], sizes[output], facts.link_work, facts.link_weight, None if totals is None else totals[output]
    )
    return works, amounts, row


def _weight_totals(facts: Facts) -> I64:
    """Each output's weight total (0 for an output without links)."""
    sums = np.concatenate(([0], np.cumsum(facts.link_weight))).astype(np.int64)
    return sums[facts.out_ptr[1:]] - sums[facts.out_ptr[:-1]]


def _pooled(facts: Facts, lines: Lines, pool: I64, groups: I64 | None, n_groups: int) -> tuple[I64, I64, I64, I64]:
    """(regular line numbers, and the pooled lines summed per (output, group): output, group,
    amount), in output then group order."""
    if facts.out_pooled is None or not len(lines.output):
        return np.arange(len(lines.output), dtype=np.int64), *(np.zeros(0, np.int64) for _ in range(3))  # type: ignore[return-value]
    pooled = facts.out_pooled[lines.output].astype(bool)
    at = np.flatnonzero(pooled)
    group = groups[at] if groups is not None else np.zeros(len(at), np.int64)
    keys, sums = _sum_by_key(lines.output[at] * n_groups + group, pool[at])
    return np.flatnonzero(~pooled), keys // n_groups, keys % n_groups, sums


def _pool_batches(size: I64, cells: int) -> list[slice]:
    """Consecutive rows whose groups hold at most ``cells`` entries together (a larger row alone)."""
    out, lo, used = [], 0, 0
    for i, k in enumerate(size.tolist()):
        if used and used + k > cells:
            out.append(slice(lo, i))
            lo, used = i, 0
        used += k
    if lo < len(size):
        out.append(slice(lo, len(size)))
    return out


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
#: Entries per vectorised pass over pooled outputs (a model's pool reaches every work of its set).
CHUNK_CELLS = 1 << 20
#: Largest works x groups table kept dense while tracing contributions (8 bytes per cell: 256 MiB).
DENSE_CONTRIBUTIONS = 1 << 25


def split(facts: Facts, lines: Lines, max_depth: int = 3, groups: I64 | None = None, contributions: bool = True) -> SplitResult:
    """Splits every line. With ``groups`` (a non-negative group number per line, e.g. its usage
    report), pooled outputs are split once per group, and (unless ``contributions`` is False) the
    result says how much each group brought each work; the work totals are the same."""
    if groups is not None and (len(groups) != len(lines.revenue) or (len(groups) and groups.min() < 0)):
        raise ValueError("groups: one non-negative group number per line")
    n_groups = int(groups.max()) + 1 if groups is not None and len(groups) else 1
    splitter = Splitter(facts, max_depth, n_groups, tracing=groups is not None and contributions)
    platform, pool = splitter.add(lines, groups)
    return replace(splitter.finish(), platform=platform, pool=pool)


class Splitter:
    """The engine fed a period in pieces, so millions of usage lines are split in the memory of one
    piece: steps 1 to 3 run on each piece as it comes (they are per line), the pools of pooled
    outputs are added up per (output, group) across pieces and split in ``finish``, and step 4
    runs there once on the period's work totals. Any cut into pieces gives what ``split`` gives
    for all the lines at once, to the unit.

    ``n_groups`` bounds the group numbers pieces may use; ``tracing`` keeps what each group
    brought each work (``SplitResult.contributions``)."""

    def __init__(self, facts: Facts, max_depth: int = 3, n_groups: int = 1, tracing: bool = False) -> None:
        if n_groups < 1:
            raise ValueError("n_groups: at least one group")
        self.facts, self.max_depth, self.n_groups, self.tracing = facts, max_depth, n_groups, tracing
        self.work_totals = np.zeros(facts.n_works, dtype=np.int64)
        self._keyed: list[tuple[I64, I64]] = []
        self._pooled: list[tuple[I64, I64]] = []  # (output * n_groups + group, pool) sums, per piece
        # (work, group) totals: a dense array when it is small enough (one add per entry), else
        # sorted keys per chunk. Both exact in int64.
        small = facts.n_works * n_groups <= DENSE_CONTRIBUTIONS
        self._dense = np.zeros(facts.n_works * n_groups, dtype=np.int64) if tracing and small else None

    def add(self, lines: Lines, groups: I64 | None = None) -> tuple[I64, I64]:
        """Splits a piece of lines (``groups``: each line's group, default 0); returns each line's
        platform share and pool, the only per-line results, for the caller to keep or sum."""
        _validate(self.facts, lines)
        if groups is not None and (len(groups) != len(lines.revenue) or (len(groups) and (groups.min() < 0 or groups.max() >= self.n_groups))):
            raise ValueError(f"groups: one group number in [0, {self.n_groups}) per line")
        pool, platform = split_two(lines.revenue, BPS - lines.platform_bps, BPS)
        regular, pool_output, pool_group, pool_amount = _pooled(self.facts, lines, pool, groups, self.n_groups)
        if len(pool_output):
            self._pooled.append((pool_output * self.n_groups + pool_group, pool_amount))
        line_group = groups if groups is not None else np.zeros(len(pool), np.int64)
        everything = len(regular) == len(pool)
        for lo in range(0, len(regular), CHUNK_LINES):
            at = slice(lo, lo + CHUNK_LINES) if everything else regular[lo : lo + CHUNK_LINES]
            self._settle(lines.output[at], pool[at], line_group[at], None)
        return platform, pool

    def finish(self) -> SplitResult:
        """Splits the pools and the work totals among co-owners. Per-line results are left empty:
        ``add`` returned them."""
        facts, empty = self.facts, np.zeros(0, np.int64)
        if self._pooled:
            keys, sums = _sum_by_key(np.concatenate([k for k, _ in self._pooled]), np.concatenate([v for _, v in self._pooled]))
            self._pooled = []
            pool_output, pool_group = keys // self.n_groups, keys % self.n_groups
            totals = _weight_totals(facts)
            for part in _pool_batches(np.diff(facts.out_ptr)[pool_output], CHUNK_CELLS):
                self._settle(pool_output[part], sums[part], pool_group[part], totals)
        traced = None
        if self.tracing:
            if self._dense is not None:
                keys = np.flatnonzero(self._dense)
                sums = self._dense[keys]
            else:
                keys, sums = _sum_by_key(np.concatenate([k for k, _ in self._keyed] or [empty]), np.concatenate([v for _, v in self._keyed] or [empty]))
            nonzero = sums > 0
            traced = Contributions(keys[nonzero] // self.n_groups, keys[nonzero] % self.n_groups, sums[nonzero])
        owner_amounts = allocate_groups(self.work_totals, facts.own_ptr, facts.own_share)
        payee_totals = _sum_into(facts.own_payee, owner_amounts, facts.n_payees)
        return SplitResult(empty, empty, self.work_totals, owner_amounts, payee_totals, traced)

    def _settle(self, output: I64, amount: I64, group: I64, totals: I64 | None) -> None:
        work, paid, row = _attribute(self.facts, output, amount, totals)
        work, paid, row = _upstream(self.facts, work, paid, row, self.max_depth)
        np.add.at(self.work_totals, work, paid)
        if self.tracing:
            key = work * self.n_groups + group[row]
            if self._dense is not None:
                np.add.at(self._dense, key, paid)
            else:
                self._keyed.append(_sum_by_key(key, paid))


def split_reference(facts: Facts, lines: Lines, max_depth: int = 3, groups: I64 | None = None) -> SplitResult:
    """The same policy, line by line in plain Python: the baseline the engine is checked and
    benchmarked against."""
    _validate(facts, lines)
    pooled: dict[tuple[int, int], int] = {}  # (pooled output, group) -> the pools of its lines
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

    group_of = groups.tolist() if groups is not None else [0] * len(lines.output)
    for o, revenue, p, g in zip(lines.output.tolist(), lines.revenue.tolist(), lines.platform_bps.tolist(), group_of):
        pool, platform = allocate(revenue, [BPS - p, p])
        platform_out.append(platform)
        pool_out.append(pool)
        if facts.out_pooled is not None and facts.out_pooled[o]:
            pooled[(o, g)] = pooled.get((o, g), 0) + pool
            continue
        lo, hi = int(facts.out_ptr[o]), int(facts.out_ptr[o + 1])
        for w, amount in zip(facts.link_work[lo:hi].tolist(), allocate(pool, facts.link_weight[lo:hi].tolist())):
            credit(w, amount, 0)
    for (o, _), pool in sorted(pooled.items()):
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
