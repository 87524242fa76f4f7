"""Checksummed addresses, memoised.

eth_utils' ``to_checksum_address`` validates its input through several decorators and hashes it
each time: about 40 µs on a quick machine, over 100 on a slow one. A registration asked it four
times for the same few accounts (its owners and payouts, the forward request's sender and
target), about 4 % of a write's CPU. The accounts a ledger sees are few and recur.
"""

from functools import lru_cache

from eth_utils import to_checksum_address

#: Distinct addresses remembered (about 200 bytes each).
CACHED = 65_536


@lru_cache(maxsize=CACHED)
def checksum(address: str | bytes) -> str:
    """``to_checksum_address``, remembered; a malformed address raises its ValueError each time."""
    return to_checksum_address(address)
