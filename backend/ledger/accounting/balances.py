"""Carried-forward balances, advances and reserves: what a statement pays each entry.

A correction that lowers a line already paid reverses what that line paid, so a holder's earnings
in an adjustment statement can be negative, and a claim can only pay. As royalty statements do
with unrecouped balances, the shortfall is carried forward: it is deducted from the holder's
later earnings (in the same currency, whatever the period) before anything is paid again.

**Advances** (minimum guarantees paid to a holder up front, recorded on chain) are owed the same
way from the first statement in their currency that counts them: recouped from the account's
later earnings, across periods, before anything is paid.

**Reserves**: a share of each positive entry (``share_bps``, rounded down) is withheld against
refunds, as a tranche of that payee's held by the statement (its ordinal among the currency's
statements) and released by the statement ``release_after`` statements later, into the entry of
the same account and payout. Per account (a holder may have several payout addresses, one entry
each), in entry order:

    owed      = brought forward + new advances + the magnitude of every negative entry
    available = max(earned, 0) - withheld + released
    recouped  = min(available, what the account still owes)
    payable   = available - recouped
    carried   = what is still owed after every entry

so ``sum(payable) - carried == sum(earned) - brought - advances - withheld + released`` to the
unit, no entry pays a negative amount, and an account that carries a balance is paid nothing.
An account owing and without entries carries its balance unchanged. Every statement lists every
balance and every reserve tranche outstanding in its currency, so one statement and the one
before it are enough to check what was brought forward and what was released.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

BPS = 10_000


@dataclass(frozen=True)
class Balance:
    account: str
    brought_forward: int  # owed from earlier statements, >= 0
    carried_forward: int  # still owed after this one, >= 0
    advances: int = 0  # advances this statement counts for the first time, >= 0


@dataclass(frozen=True)
class Reserve:
    """A tranche withheld from a payee's earnings: held by the statement of ordinal ``held_by``
    in its currency, released by the one of ordinal ``release_at``."""

    account: str
    payout: str
    held_by: int
    amount: int
    release_at: int


@dataclass(frozen=True)
class ReservePolicy:
    share_bps: int = 0  # withheld of each positive entry
    release_after: int = 1  # statements in the currency before a tranche is released

    def __post_init__(self) -> None:
        if not 0 <= self.share_bps <= BPS or self.release_after < 1:
            raise ValueError(f"a reserve withholds 0 to {BPS} bps and is released at least one statement later")


@dataclass(frozen=True)
class Settled:
    payable: list[int]  # per entry, in the order given; >= 0
    balances: list[Balance]  # every account owing before or after, or with a new advance, by address (numerically)
    withheld: list[int] = field(default_factory=list)  # per entry
    released: list[int] = field(default_factory=list)  # per entry
    recouped: list[int] = field(default_factory=list)  # per entry
    releases: list[Reserve] = field(default_factory=list)  # the tranches this statement released
    reserves: list[Reserve] = field(default_factory=list)  # the tranches still held after it, by account, payout, held_by


def reserve_order(r: Reserve) -> tuple[int, int, int]:
    return int(r.account, 16), int(r.payout, 16), r.held_by


def settle(
    earned: Sequence[tuple[str, int]], owed: Mapping[str, int], *, payouts: Sequence[str] | None = None,
    advances: Mapping[str, int] | None = None, reserves: Sequence[Reserve] = (), policy: ReservePolicy | None = None, ordinal: int = 0,
) -> Settled:  # fmt: skip
    """``earned``: (account, amount) per entry, amounts of either sign; ``owed``: each account's
    balance brought forward; ``advances``: new advances per account; ``reserves``: the tranches
    held before this statement (of ordinal ``ordinal``); a tranche due is released into the entry
    with its account and payout (``payouts``: one per entry), which must exist. Accounts and
    payouts are hex addresses."""
    advances = advances or {}
    policy = policy or ReservePolicy()
    if any(v < 0 for v in owed.values()) or any(v < 0 for v in advances.values()):
        raise ValueError("a balance brought forward or an advance is what a holder owes: never negative")
    if payouts is not None and len(payouts) != len(earned):
        raise ValueError("one payout per entry")
    if (reserves or policy.share_bps) and payouts is None:
        raise ValueError("reserves are held per payee: give the entries' payouts")
    due = [r for r in reserves if r.release_at <= ordinal]
    where = {(a.lower(), p.lower()): i for i, ((a, _), p) in enumerate(zip(earned, payouts or []))}
    released = [0] * len(earned)
    for r in due:
        at = where.get((r.account.lower(), r.payout.lower()))
        if at is None:
            raise ValueError(f"a reserve released to {r.account}/{r.payout} has no entry to be paid in")
        released[at] += r.amount
    remaining: dict[str, int] = {}
    for source in (owed, advances):
        for account, amount in source.items():
            remaining[account] = remaining.get(account, 0) + amount
    for account, amount in earned:
        remaining[account] = remaining.get(account, 0) + max(0, -amount)
    payable, withheld, recouped = [], [], []
    for (account, amount), back in zip(earned, released):
        positive = max(amount, 0)
        held = positive * policy.share_bps // BPS
        available = positive - held + back
        take = min(available, remaining[account])
        remaining[account] -= take
        payable.append(available - take)
        withheld.append(held)
        recouped.append(take)
    balances = [
        Balance(account, owed.get(account, 0), left, advances.get(account, 0))
        for account, left in sorted(remaining.items(), key=lambda item: int(item[0], 16))
        if owed.get(account, 0) or left or advances.get(account, 0)
    ]  # fmt: skip
    new = [
        Reserve(account, payout, ordinal, held, ordinal + policy.release_after)
        for (account, _), payout, held in zip(earned, payouts or [], withheld)
        if held
    ]  # fmt: skip
    kept = [r for r in reserves if r.release_at > ordinal]
    return Settled(payable, balances, withheld, released, recouped, sorted(due, key=reserve_order), sorted(kept + new, key=reserve_order))
