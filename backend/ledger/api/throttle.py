"""Failed API keys per client: after ``limit`` failures within ``window_s`` a client is answered
429 (with Retry-After) until its oldest failure leaves the window, so keys cannot be guessed at
network speed. Kept in memory per process, for a bounded number of clients."""

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailedAuthThrottle:
    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        with self._lock:
            times = self._recent(client)
            if times is None or len(times) < self.limit:
                return None
            return max(0.0, times[0] + self.window_s - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._recent(client) or deque(maxlen=self.limit)
            times.append(self.clock())
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return times
