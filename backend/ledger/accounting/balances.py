"""Carried-forward balances: what a statement pays when a holder earned less than nothing.

A correction that lowers a line already paid reverses what that line paid, so a holder's earnings
in an adjustment statement can be negative, and a claim can only pay. As royalty statements do
with unrecouped balances, the shortfall is carried forward: it is deducted from the holder's
later earnings (in the same currency, whatever the period) before anything is paid again.

Per account (a holder may have several payout addresses, one entry each), in entry order:

    owed    = brought forward + the magnitude of every negative entry
    payable = each positive entry less what is still owed, in entry order, never below zero
    carried = what is still owed after every positive entry

so ``sum(payable) - carried == sum(earned) - brought`` to the unit, no entry pays a negative
amount, and an account that carries a balance is paid nothing. An account owing and without
entries carries its balance unchanged: every statement lists every balance outstanding in its
currency, so one statement and the one before it are enough to check what was brought forward.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Balance:
    account: str
    brought_forward: int  # owed from earlier statements, >= 0
    carried_forward: int  # still owed after this one, >= 0


@dataclass(frozen=True)
class Settled:
    payable: list[int]  # per entry, in the order given; >= 0
    balances: list[Balance]  # every account owing before or after, by address (numerically)


def settle(earned: Sequence[tuple[str, int]], owed: Mapping[str, int]) -> Settled:
    """``earned``: (account, amount) per entry, amounts of either sign; ``owed``: each account's
    balance brought forward. Accounts are hex addresses."""
    if any(v < 0 for v in owed.values()):
        raise ValueError("a balance brought forward is what a holder owes: never negative")
    remaining = dict(owed)
    for account, amount in earned:
        remaining[account] = remaining.get(account, 0) + max(0, -amount)
    payable = []
    for account, amount in earned:
        take = min(max(amount, 0), remaining[account])
        remaining[account] -= take
        payable.append(max(amount, 0) - take)
    balances = [
        Balance(account, owed.get(account, 0), left)
        for account, left in sorted(remaining.items(), key=lambda item: int(item[0], 16))
        if owed.get(account, 0) or left
    ]  # fmt: skip
    return Settled(payable, balances)
