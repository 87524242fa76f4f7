"""Group commit: concurrent callers whose work can share one transaction share it.

Each caller puts its item in a queue and waits for its turn; whoever gets the turn takes every
item queued by then (up to a bound) and runs them as one batch, so while one transaction is being
mined the next callers' items gather for the one after it. A lone caller goes at once. Under load
(the last batch carried several items and ended moments ago) a turn first waits up to
``gather_s`` for more callers, or until the batch is full, as PostgreSQL's ``commit_delay`` does
when ``commit_siblings`` are active: a batch's own costs (nonces, signing, the transaction, the
projection of its block) are then shared by more callers. Each caller gets its own result or its
own exception, in its own thread.

A runner may work in two phases: it sends the batch, and returns what waits for it to be mined.
The turn then passes as soon as the batch is sent. The next batch still goes when the one before
it is mined, as long as that comes within ``overlap_s`` of its sending (on a node that mines
every transaction at once, always: batches stay as large as one at a time makes them); past
that (a chain that mines a block every few seconds) it goes anyway, into the same block, instead
of leaving its callers a whole block behind.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: What a two-phase runner returns once its batch is sent: waits, then one result or exception
#: per item.
Settle = Callable[[], list[R | BaseException]]


@dataclass(eq=False)
class _Slot(Generic[T, R]):
    item: T
    wake: threading.Condition  # on the coalescer's lock: only this caller is woken
    done: bool = False
    result: "R | BaseException | None" = None
    leads: bool = False  # the turn was handed to this caller: it runs the next batch


class Coalescer(Generic[T, R]):
    """Runs ``run(items) -> one result or exception per item`` over whatever has queued up, one
    batch at a time; or, a two-phase runner, ``run(items) -> settle`` and then ``settle() -> one
    result or exception per item``, one batch sent at a time, several settling. If ``run`` or
    ``settle`` raises, every item of that batch gets the exception.

    A caller whose item another caller's batch ran is woken as soon as that batch ends. (Waiting
    for the turn instead, as this did until 2026-11-29, left it behind whichever batch took the
    turn next: a whole extra turn of latency for most callers under load, and smaller batches.)
    Each caller waits on a condition of its own, and a batch that ends wakes its own callers and
    hands the turn to the first caller still queued: with one shared condition every waiting
    thread woke at every batch's end to find it was not its turn, a herd of 30 threads fighting
    for the GIL for nothing under load."""

    #: A batch that ended longer ago than this does not count as load.
    RECENT_S = 1.0

    def __init__(
        self, run: Callable[[list[T]], "list[R | BaseException] | Settle[R]"], max_items: int, gather_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic, overlap_s: float = 0.0,
    ) -> None:  # fmt: skip
        self._run = run
        self.max_items = max_items
        self.gather_s = gather_s
        #: How long a batch sent and not yet settled holds the next one back (two-phase runners).
        self.overlap_s = overlap_s
        self._in_flight = 0  # batches sent and not settled
        self._sent_at = float("-inf")  # when the last of them was sent
        self.clock = clock  # injectable: tests decide what "moments ago" is
        self._last = (0, float("-inf"))  # the last batch's size and when it ended
        self._queue: list[_Slot[T, R]] = []
        self._lock = threading.Lock()  # guards the queue, the slots and ``_busy``
        self._filled = threading.Condition(self._lock)  # a gathering turn waits on it for a full batch
        self._free = threading.Condition(self._lock)  # ``held`` waits on it for the turn
        self._busy = False  # a batch is running (or the turn is held)
        self.batches = 0  # batches run and items they carried, for benchmarks and operators
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item, self._waiter(item))
        with self._lock:
            self._queue.append(slot)
            if not self._busy:
                self._busy = slot.leads = True
            elif len(self._queue) >= self.max_items:
                self._filled.notify()  # a turn gathering for more callers can go
            try:
                while not (slot.done or slot.leads):
                    slot.wake.wait()
            except BaseException:  # interrupted while waiting: its item leaves, the turn does not stall with it
                if not slot.done:
                    self._queue.remove(slot)
                    if slot.leads:
                        self._pass_turn_locked()
                raise
        if not slot.done:  # this caller was handed the turn: its item is the first queued, so in the batch
            with self._lock:
                try:
                    self._gather()
                except BaseException:  # interrupted while gathering: as while waiting, its item leaves and the turn passes on
                    self._queue.remove(slot)
                    self._pass_turn_locked()
                    raise
                group, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
            try:
                settle = self._execute(group)
            finally:
                self._pass_turn()
            if settle is not None:  # sent: the next batch may go meanwhile; this one's callers wait here
                self._settle(group, settle)
        if isinstance(slot.result, BaseException):
            raise slot.result
        return slot.result  # type: ignore[return-value]

    @contextmanager
    def held(self) -> Iterator[None]:
        """No batch starts while this is held (a running one finishes first): callers queue up.
        Tests use it to make one batch of several callers without racing a clock."""
        with self._lock:
            while self._busy or self._in_flight:
                self._free.wait()
            self._busy = True
        try:
            yield
        finally:
            self._pass_turn()

    def _gather(self) -> None:
        """Waits (holding the turn, the queue open) for the batch sent before to be settled, up to
        ``overlap_s`` after it was sent; then, under load, up to ``gather_s`` for the batch to
        fill. A full batch goes at once. Called with the lock held."""
        in_flight_until = self._sent_at + self.overlap_s
        while self._in_flight and len(self._queue) < self.max_items and (left := in_flight_until - self.clock()) > 0:
            self._filled.wait(left)
        size, ended = self._last
        if self.gather_s <= 0 or size < 2 or self.clock() - ended > self.RECENT_S:
            return
        deadline = self.clock() + self.gather_s
        while len(self._queue) < self.max_items and (left := deadline - self.clock()) > 0:
            self._filled.wait(left)

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def _waiter(self, item: T) -> threading.Condition:
        """The condition a caller waits on, on the coalescer's lock (tests interrupt one)."""
        return threading.Condition(self._lock)

    def _pass_turn(self) -> None:
        with self._lock:
            self._pass_turn_locked()

    def _pass_turn_locked(self) -> None:
        """The turn goes to the first caller still queued, or is free."""
        if self._queue:
            head = self._queue[0]
            head.leads = True
            head.wake.notify()
        else:
            self._busy = False
            self._free.notify()

    def _execute(self, group: list[_Slot[T, R]]) -> "Settle[R] | None":
        """Runs the batch: its callers' results, or (a two-phase runner) what settles it."""
        try:
            results = self._run([s.item for s in group])
        except BaseException as exc:  # noqa: BLE001 -- handed to every caller of the batch, re-raised in each one's thread
            results = [exc] * len(group)
        if callable(results):
            with self._lock:
                self._in_flight += 1
                self._sent_at = self.clock()
            return results
        self._deliver(group, results)
        return None

    def _settle(self, group: list[_Slot[T, R]], settle: "Settle[R]") -> None:
        try:
            results = settle()
        except BaseException as exc:  # noqa: BLE001 -- as in _execute
            results = [exc] * len(group)
        self._deliver(group, results, settled=True)

    def _deliver(self, group: list[_Slot[T, R]], results: "list[R | BaseException]", settled: bool = False) -> None:
        if len(results) != len(group):
            results = [RuntimeError(f"a batch of {len(group)} gave {len(results)} results")] * len(group)
        with self._lock:
            self.batches, self.items = self.batches + 1, self.items + len(group)
            self._last = (len(group), self.clock())
            for slot, result in zip(group, results):
                slot.result, slot.done = result, True
                slot.wake.notify()
            if settled:
                self._in_flight -= 1
                self._filled.notify()  # a turn held back by this batch can go
                self._free.notify_all()
