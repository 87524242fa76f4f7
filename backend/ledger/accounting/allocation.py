"""Largest-remainder allocation of an integer amount by integer weights, exactly and
deterministically: every unit is allocated, no party gets a negative amount, and ties in the
remainders go to the earlier party. A scalar reference version and two vectorised ones (rows of
equal width; variable-size groups) that give identical results.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]

#: The largest amount split at once. Each amount is split as ``q * total + r`` (``r < total``), so
#: only ``r * weight`` is ever multiplied: products stay below total^2 whatever the amount, and
#: the results equal the plain ``amount * weight // total`` exactly. 2^62 leaves room for sums.
MAX_AMOUNT = 2**62


def _divmod_products(amounts: I64, weights: I64, totals: I64 | int) -> tuple[I64, I64]:
    """``divmod(amounts * weights, totals)`` without forming ``amounts * weights`` (which passes
    2^63 for amounts past about 10^14 with basis-point weights)."""
    q, r = np.divmod(amounts, totals)
    rw = r * weights
    return q * weights + rw // totals, rw % totals


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Splits ``amount`` by ``weights`` (non-negative, not all zero); the reference the vectorised
    versions are tested against."""
    total = sum(weights)
    if amount < 0 or total <= 0 or any(w < 0 for w in weights):
        raise ValueError("amount must be >= 0 and weights non-negative with a positive total")
    shares = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    leftover = amount - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        shares[i] += 1
    return shares


def allocate_rows(amounts: I64, weights: I64, total: int | I64) -> I64:
    """Row-wise ``allocate``: ``amounts[n]`` split by ``weights[n, k]`` whose rows sum to ``total``
    (one total for every row, or an ``(n, 1)`` column of them).

    Zero-weight padding columns receive nothing: a leftover unit only goes to a column whose
    remainder is positive, and there are always more of those than leftover units.
    """
    if amounts.size and (amounts.min() < 0 or amounts.max() > MAX_AMOUNT):
        raise ValueError(f"amounts must be between 0 and {MAX_AMOUNT}")
    shares, remainders = _divmod_products(amounts[:, None], weights, total)
    leftover = amounts - shares.sum(axis=1)
    n, k = weights.shape
    if k == 1:
        return shares
    # Priority key: larger remainder first, then earlier column; keys are unique within a row.
    # The `leftover` smallest keys of a row get one unit each: compare with the row's
    # leftover-th smallest key (cheaper than ranking every column).
    key = np.arange(k, dtype=np.int64) - remainders * k
    threshold = np.take_along_axis(np.sort(key, axis=1), np.maximum(leftover - 1, 0)[:, None], axis=1)
    return shares + ((key <= threshold) & (leftover > 0)[:, None]).astype(np.int64)


def split_two(amounts: I64, first_bps: I64, total: int) -> tuple[I64, I64]:
    """``allocate(a, [w, total - w])`` for every row, in closed form (the hot two-party case:
    platform vs. pool, royalty vs. kept)."""
    if amounts.size and (amounts.min() < 0 or amounts.max() > MAX_AMOUNT):
        raise ValueError(f"amounts must be between 0 and {MAX_AMOUNT}")
    s0, r0 = _divmod_products(amounts, first_bps, total)
    s1, r1 = _divmod_products(amounts, total - first_bps, total)
    leftover = amounts - s0 - s1  # 0 or 1
    to_first = r0 >= r1
    return s0 + leftover * to_first, s1 + leftover * ~to_first


def allocate_groups(amounts: I64, ptr: I64, weights: I64) -> I64:
    """``allocate`` for groups of any size: entry ``e`` is split over ``weights[ptr[e]:ptr[e+1]]``
    (each group's weights must have a positive total). Returns one amount per weight."""
    sizes = np.diff(ptr)
    if amounts.size and (amounts.min() < 0 or amounts.max() > MAX_AMOUNT):
        raise ValueError(f"amounts must be between 0 and {MAX_AMOUNT}")
    if np.any((sizes == 0) & (amounts > 0)):
        raise ValueError("an amount has no one to go to (empty group)")
    group = np.repeat(np.arange(len(amounts), dtype=np.int64), sizes)
    totals = np.add.reduceat(weights, ptr[:-1]) if len(weights) else np.zeros(0, np.int64)
    totals = np.where(sizes > 0, totals, 1)
    shares, remainders = _divmod_products(amounts[group], weights, totals[group])
    allocated = np.zeros(len(amounts), dtype=np.int64)
    np.add.at(allocated, group, shares)  # exact int64 sums (bincount would go through float64)
    leftover = amounts - allocated
    position = np.arange(len(weights), dtype=np.int64) - ptr[:-1][group]
    order = np.lexsort((position, -remainders, group))  # by group, remainder desc, position asc
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order), dtype=np.int64) - ptr[:-1][group[order]]
    return shares + (rank < leftover[group]).astype(np.int64)
