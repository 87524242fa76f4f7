"""A local queue of signed records (SQLite): durable before a record is acknowledged to the app,
sent in batches, never lost silently.

A record goes ``pending`` -> ``sent`` when the ledger stores it (or knew it), or -> ``refused``
when the ledger refuses it (its reason kept: a revoked device, a scope it lacks), so one bad
record never holds the others back and nothing disappears without a trace. Network failures and
5xx answers leave records pending for the next flush.
"""

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

SCHEMA = """
CREATE TABLE IF NOT EXISTS record (
    record_hash TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending, sent, refused
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS record_state ON record (state, queued_at);
CREATE INDEX IF NOT EXISTS record_content ON record (content_hash);
CREATE TABLE IF NOT EXISTS path_state (path TEXT PRIMARY KEY, content_hash TEXT NOT NULL);
"""


@dataclass(frozen=True)
class FlushResult:
    sent: int = 0  # stored by the ledger now or before
    refused: int = 0  # refused by the ledger, kept with the reason
    pending: int = 0  # still waiting (the ledger did not answer)
    error: str | None = None  # why the last attempt did not go through


class RecordQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a record acknowledged to the app survives a power cut
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add(self, record_hash: str, body: dict[str, object]) -> bool:
        """Stores a signed record; False if it was queued before (the same record: the same hash)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO record (record_hash, content_hash, body, queued_at) VALUES (?, ?, ?, ?)",
                (record_hash, str(body["content_hash"]), json.dumps(body, separators=(",", ":")), time.time()),
            )
            return cur.rowcount == 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM record GROUP BY state").fetchall()
        return {"pending": 0, "sent": 0, "refused": 0} | {state: n for state, n in rows}

    def refused(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(h, r) for h, r in self._db.execute("SELECT record_hash, reason FROM record WHERE state = 'refused' ORDER BY queued_at")]

    def recorded(self, content_hash: str) -> bool:
        """Whether some record here already has this result (a generation wrapper recorded it)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM record WHERE content_hash = ? LIMIT 1", (content_hash,)).fetchone() is not None

    def last_hash_of(self, path: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT content_hash FROM path_state WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def remember(self, path: str, content_hash: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO path_state (path, content_hash) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash", (path, content_hash))

    def _pending(self, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._db.execute("SELECT record_hash, body FROM record WHERE state = 'pending' ORDER BY queued_at, record_hash LIMIT ?", (limit,)))

    def _mark(self, hashes: list[str], state: str, reason: str | None = None) -> None:
        with self._lock:
            self._db.executemany("UPDATE record SET state = ?, reason = ?, attempts = attempts + 1 WHERE record_hash = ?", [(state, reason, h) for h in hashes])

    def flush(self, post: Callable[[list[dict[str, object]]], httpx.Response], batch: int = 1000) -> FlushResult:
        """Sends every pending record, ``batch`` at a time, until none is left or the ledger does
        not answer. A 422 names the record refused (``index``): it is set aside with the reason
        and the rest of its batch is sent again."""
        sent = refused = 0
        while rows := self._pending(batch):
            hashes = [h for h, _ in rows]
            try:
                resp = post([json.loads(body) for _, body in rows])
            except httpx.HTTPError as exc:
                return FlushResult(sent, refused, self.counts()["pending"], f"the ledger did not answer: {exc}")
            if resp.status_code == 200:
                self._mark(hashes, "sent")
                sent += len(hashes)
            elif resp.status_code == 422 and isinstance(index := _json(resp).get("index"), int) and 0 <= index < len(rows):
                reason = str(_json(resp).get("detail", resp.text))[:2000]
                if _json(resp).get("device_refused") and "no device" in reason:  # not enrolled (yet): keep everything for later
                    return FlushResult(sent, refused, self.counts()["pending"], reason)
                if _json(resp).get("device_refused"):  # revoked or expired: none of this device's records will be taken
                    with self._lock:
                        n = self._db.execute("UPDATE record SET state = 'refused', reason = ?, attempts = attempts + 1 WHERE state = 'pending'", (reason,)).rowcount
                    return FlushResult(sent, refused + n, 0, reason)
                self._mark([hashes[index]], "refused", reason)
                refused += 1
            else:
                return FlushResult(sent, refused, self.counts()["pending"], f"the ledger answered {resp.status_code}: {resp.text[:500]}")
        return FlushResult(sent, refused, 0)

    def close(self) -> None:
        self._db.close()


def _json(resp: httpx.Response) -> dict[str, object]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
