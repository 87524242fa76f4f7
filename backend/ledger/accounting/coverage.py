"""Which usage anchors a statement must pay, and whether it pays exactly those.

A statement of ``(currency, period, sequence)`` declares ``anchorsUpTo``, a block; its
predecessor (sequence - 1, or nothing) declared its own. The statement owes every report
anchored in that currency, for a period inside its own, in a block after the predecessor's and
up to its own: no fewer (a report left out is money kept from holders) and no others (a report
from another window is paid twice, or by the wrong statement). Pure: the close, the indexer
and the verifier each feed it the anchors they read (database projection, or chain events).
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    batch_hash: str
    block: int
    platform: str
    report_id: str
    currency: str
    period_start: int
    period_end: int


@dataclass(frozen=True)
class Window:
    currency: str
    period_start: int
    period_end: int
    after_block: int  # the predecessor's anchorsUpTo (exclusive); -1 for a period's first statement
    up_to_block: int  # inclusive

    def owes(self, a: Anchor) -> bool:
        return (
            a.currency == self.currency and self.period_start <= a.period_start and a.period_end <= self.period_end
            and self.after_block < a.block <= self.up_to_block
        )  # fmt: skip


@dataclass(frozen=True)
class Coverage:
    missing: list[Anchor]  # owed, not paid
    foreign: list[str]  # paid (batch hashes), not owed by this window

    @property
    def exact(self) -> bool:
        return not self.missing and not self.foreign


def coverage(window: Window, anchors: Iterable[Anchor], paid: Iterable[str]) -> Coverage:
    owed = {a.batch_hash: a for a in anchors if window.owes(a)}
    paid_set = set(paid)
    return Coverage(
        missing=sorted((a for h, a in owed.items() if h not in paid_set), key=lambda a: (a.block, a.batch_hash)),
        foreign=sorted(h for h in paid_set if h not in owed),
    )
