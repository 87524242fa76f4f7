"""Statement lines: where each holder's money comes from.

The engine splits a work's period total among its co-owners; a statement must also say which
usage reports that money came from. Each co-owner's amount of a work is apportioned over the
groups (usage reports) that brought the work its total, by what each brought, largest remainder
with ties to the earlier group: the lines of an (owner, work) add up to its amount exactly, and
a line only names a group that brought the work something.

Vectorised in int64 where amount x contribution cannot overflow (a work total up to about
3 x 10^9 minor units); larger works go through the scalar reference in Python integers, with the
same result.
"""

from dataclasses import dataclass

import numpy as np

from ledger.accounting.allocation import I64, allocate, allocate_groups
from ledger.accounting.splits import Facts, SplitResult

#: floor(sqrt(2^63 - 1)): below it, amount x contribution (both at most the work total) fits int64.
SAFE_WORK_TOTAL = 3_037_000_499


@dataclass(frozen=True)
class Traced:
    """Parallel arrays, one entry per (owner entry, group) with a positive amount, ordered by owner entry then group."""

    owner: I64  # index into facts.own_* (gives the work and the payee)
    work: I64  # dense work index
    group: I64
    amount: I64


def trace(facts: Facts, result: SplitResult) -> Traced:
    c = result.contributions
    if c is None:
        raise ValueError("tracing needs a split run with groups")
    n_works = facts.n_works
    cptr = np.searchsorted(c.work, np.arange(n_works + 1, dtype=np.int64))
    own_work = np.repeat(np.arange(n_works, dtype=np.int64), np.diff(facts.own_ptr))
    rows = np.flatnonzero(result.owner_amounts > 0)
    works = own_work[rows]
    sizes = cptr[works + 1] - cptr[works]
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    row_of = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
    pos = np.arange(int(ptr[-1]), dtype=np.int64) - ptr[:-1][row_of] + cptr[works][row_of]
    weights = c.amount[pos]
    amounts = result.owner_amounts[rows]
    out = np.zeros(int(ptr[-1]), dtype=np.int64)
    safe = result.work_totals[works] <= SAFE_WORK_TOTAL
    if safe.any():
        mask = safe[row_of]
        sub_ptr = np.concatenate(([0], np.cumsum(sizes[safe]))).astype(np.int64)
        out[mask] = allocate_groups(amounts[safe], sub_ptr, weights[mask])
    for r in np.flatnonzero(~safe).tolist():
        lo, hi = int(ptr[r]), int(ptr[r + 1])
        out[lo:hi] = allocate(int(amounts[r]), weights[lo:hi].tolist())
    keep = out > 0
    owner = rows[row_of]
    return Traced(owner[keep], own_work[owner][keep], c.group[pos][keep], out[keep])
