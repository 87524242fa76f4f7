"""Whether the chain answers, and since when it has not: what /health reports and what turns a
request that needed the chain into a 503 (retry later) instead of a 500."""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from ledger.chain.client import ChainUnavailable

#: What web3's HTTP provider raises when the node is down, restarting or hanging.
UNREACHABLE: tuple[type[Exception], ...] = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ChainUnavailable)


@dataclass(frozen=True)
class ChainState:
    up: bool
    down_since: float | None  # unix time of the first failure in the current outage
    error: str

    @property
    def down_since_iso(self) -> str | None:
        return None if self.down_since is None else datetime.fromtimestamp(self.down_since, timezone.utc).isoformat(timespec="seconds")


class ChainHealth:
    """Updated by every request and indexer pass that touched the chain; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._error = ""

    def failed(self, exc: BaseException, now: float | None = None) -> ChainState:
        with self._lock:
            if self._down_since is None:
                self._down_since = time.time() if now is None else now
            self._error = _short(exc)
            return ChainState(False, self._down_since, self._error)

    def answered(self) -> None:
        with self._lock:
            self._down_since, self._error = None, ""

    def state(self) -> ChainState:
        with self._lock:
            return ChainState(self._down_since is None, self._down_since, self._error)


def _short(exc: BaseException) -> str:
    """The first line of the error, without urllib3's nested retry story."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    return text[:200]
