"""An exclusive lock every process on this machine shares, by a file beside what it guards: the
outbox's nonces, the relayer's forwarder nonces, the embedded chain's state file, a SQLite
database's indexer. Held by the open file (flock), so a process that dies releases it."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
