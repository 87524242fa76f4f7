"""The recorder: what an app or a machine embeds so production records make themselves.

Importable on its own (it needs httpx, coincurve, safe-pysha3 and, for the folder watcher,
watchdog; not the ledger): an app calls ``Recorder.record(...)`` when it saves, exports or
generates a file; the record is signed at once with the device key and kept in a local SQLite
queue, which survives restarts and being offline, and is sent to the ledger in batches, with
retries, whenever it answers. A record is its hash, so sending one twice is harmless. The HTTP
protocol is in docs/production-records.md, for apps in other languages.
"""

from ledger_recorder.client import Recorder, RecorderConfig
from ledger_recorder.queue import FlushResult, RecordQueue

__all__ = ["FlushResult", "RecordQueue", "Recorder", "RecorderConfig"]
