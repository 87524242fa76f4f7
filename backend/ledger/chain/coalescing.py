"""Group commit: concurrent callers whose work can share one transaction share it.

Each caller puts its item in a queue and waits for its turn; whoever gets the turn takes every
item queued by then (up to a bound) and runs them as one batch, so while one transaction is being
mined the next callers' items gather for the one after it. A lone caller goes at once. Under load
(the last batch carried several items and ended moments ago) a turn first waits up to
``gather_s`` for more callers, or until the batch is full, as PostgreSQL's ``commit_delay`` does
when ``commit_siblings`` are active: a batch's own costs (nonces, signing, the transaction, the
projection of its block) are then shared by more callers. Each caller gets its own result or its
own exception, in its own thread.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: "R | BaseException | None" = None


class Coalescer(Generic[T, R]):
    """Runs ``run(items) -> one result or exception per item`` over whatever has queued up, one
    batch at a time. If ``run`` raises, every item of that batch gets the exception.

    A caller whose item another caller's batch ran is woken as soon as that batch ends. (Waiting
    for the turn instead, as this did until 2026-11-29, left it behind whichever batch took the
    turn next: a whole extra turn of latency for most callers under load, and smaller batches.)"""

    #: A batch that ended longer ago than this does not count as load.
    RECENT_S = 1.0

    def __init__(
        self, run: Callable[[list[T]], list["R | BaseException"]], max_items: int, gather_s: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._run = run
        self.max_items = max_items
        self.gather_s = gather_s
        self.clock = clock  # injectable: tests decide what "moments ago" is
        self._last = (0, float("-inf"))  # the last batch's size and when it ended
        self._queue: list[_Slot[T, R]] = []
        self._changed = threading.Condition()  # guards the queue and ``_busy``
        self._busy = False  # a batch is running (or the turn is held)
        self.batches = 0  # batches run and items they carried, for benchmarks and operators
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._changed:
            self._queue.append(slot)
            if len(self._queue) >= self.max_items:
                self._changed.notify_all()  # a turn gathering for more callers can go
        while True:
            with self._changed:
                while self._busy and not slot.done:
                    self._changed.wait()
                if slot.done:
                    break
                # The turn is free and this item still waits: run the next batch (it holds this
                # slot, or comes before it).
                self._busy = True
                self._gather()
                group, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
            try:
                self._execute(group)
            finally:
                self._release()
        if isinstance(slot.result, BaseException):
            raise slot.result
        return slot.result  # type: ignore[return-value]

    @contextmanager
    def held(self) -> Iterator[None]:
        """No batch starts while this is held (a running one finishes first): callers queue up.
        Tests use it to make one batch of several callers without racing a clock."""
        with self._changed:
            while self._busy:
                self._changed.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _gather(self) -> None:
        """Under load, waits (holding the turn, the queue open) up to ``gather_s`` for the batch to
        fill. Called with the condition held."""
        size, ended = self._last
        if self.gather_s <= 0 or size < 2 or self.clock() - ended > self.RECENT_S:
            return
        deadline = self.clock() + self.gather_s
        while len(self._queue) < self.max_items and (left := deadline - self.clock()) > 0:
            self._changed.wait(left)

    def queued(self) -> int:
        with self._changed:
            return len(self._queue)

    def _release(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()

    def _execute(self, group: list[_Slot[T, R]]) -> None:
        try:
            results = self._run([s.item for s in group])
            if len(results) != len(group):
                raise RuntimeError(f"a batch of {len(group)} gave {len(results)} results")
        except BaseException as exc:  # noqa: BLE001 -- handed to every caller of the batch, re-raised in each one's thread
            results = [exc] * len(group)
        with self._changed:
            self.batches, self.items = self.batches + 1, self.items + len(group)
            self._last = (len(group), self.clock())
            for slot, result in zip(group, results):
                slot.result, slot.done = result, True
