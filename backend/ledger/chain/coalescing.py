"""Group commit: concurrent callers whose work can share one transaction share it.

Each caller puts its item in a queue and waits for its turn; whoever gets the turn takes every
item queued by then (up to a bound) and runs them as one batch, so while one transaction is being
mined the next callers' items gather for the one after it. No timer decides when a batch leaves:
a lone caller goes at once, and under load batches grow by themselves. Each caller gets its own
result or its own exception, in its own thread.
"""

import threading
from collections.abc import Callable
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
    batch at a time. If ``run`` raises, every item of that batch gets the exception."""

    def __init__(self, run: Callable[[list[T]], list["R | BaseException"]], max_items: int) -> None:
        self._run = run
        self.max_items = max_items
        self._queue: list[_Slot[T, R]] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()
        self.batches = 0  # batches run and items they carried, for benchmarks and operators
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._queue_lock:
            self._queue.append(slot)
        with self._turn:
            while not slot.done:  # not taken by an earlier batch: run the next one (it holds this slot or comes before it)
                with self._queue_lock:
                    group, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
                self._execute(group)
        if isinstance(slot.result, BaseException):
            raise slot.result
        return slot.result  # type: ignore[return-value]

    def _execute(self, group: list[_Slot[T, R]]) -> None:
        try:
            results = self._run([s.item for s in group])
            if len(results) != len(group):
                raise RuntimeError(f"a batch of {len(group)} gave {len(results)} results")
        except BaseException as exc:  # noqa: BLE001 -- handed to every caller of the batch, re-raised in each one's thread
            results = [exc] * len(group)
        self.batches, self.items = self.batches + 1, self.items + len(group)
        for slot, result in zip(group, results):
            slot.result, slot.done = result, True
