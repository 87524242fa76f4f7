"""Signing records with the device key and queueing them; sending them when the ledger answers.

The configuration ``ledger devices enrol`` writes beside the device key (``recorder.json``)
holds what signing needs offline: the ledger's URL, the chain id and the ProductionRecords
contract (the EIP-712 domain), the device's address and its keystore file.
"""

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from ledger_recorder import typed
from ledger_recorder.queue import FlushResult, RecordQueue


@dataclass(frozen=True)
class RecorderConfig:
    ledger_url: str
    chain_id: int
    contract: str  # ProductionRecords
    device: str
    keystore: str
    author: str  # the account of the person at this device, named in every record
    queue: str  # the queue's SQLite file

    @classmethod
    def load(cls, path: Path) -> "RecorderConfig":
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))


def sha256_of(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def load_key(keystore: Path, password: str | None = None) -> bytes:
    """The device key from its encrypted keystore (password: LEDGER_DEVICE_PASSWORD if not given)."""
    from eth_keyfile import decode_keyfile_json  # the v3 keystore format wallets use

    secret = password if password is not None else os.environ.get("LEDGER_DEVICE_PASSWORD", "")
    return bytes(decode_keyfile_json(json.loads(keystore.read_text()), secret.encode()))


class Recorder:
    """Records made on this device: signed at once, queued durably, sent in batches."""

    def __init__(self, config: RecorderConfig, key: bytes, http: httpx.Client | None = None) -> None:
        self.config = config
        self._key = key
        self._domain = typed.domain_separator(config.chain_id, config.contract)
        self.queue = RecordQueue(Path(config.queue))
        self._http = http or httpx.Client(base_url=config.ledger_url, timeout=60)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if typed.recover(self._domain, typed.sign(key, self._domain)) != typed.checksum(config.device):
            raise ValueError(f"the key does not belong to the device {config.device}")

    def record(
        self, action: str, content_hash: bytes, inputs: list[bytes] | None = None, tool: str = "", tool_version: str = "",
        model_id: int = 0, created_at: int | None = None, prompt_hash: bytes | None = None,
    ) -> str:
        """Signs and queues one record; returns its hash (the same record gives the same hash)."""
        r = typed.Record(
            typed.ACTIONS.index(action), content_hash, tuple(inputs or ()), tool[: typed.MAX_TOOL] or "unknown",
            tool_version[: typed.MAX_TOOL], model_id, bytes.fromhex(self.config.author[2:]), created_at or int(time.time()),
            prompt_hash or bytes(32),
        )  # fmt: skip
        digest = typed.record_digest(self._domain, r)
        body = typed.as_request(r, typed.sign(self._key, digest))
        record_hash = "0x" + digest.hex()
        self.queue.add(record_hash, body)
        return record_hash

    def record_file(self, action: str, path: Path, inputs: list[Path] | None = None, **fields: object) -> str:
        return self.record(action, sha256_of(path), [sha256_of(p) for p in inputs or []], **fields)  # type: ignore[arg-type]

    def flush(self) -> FlushResult:
        return self.queue.flush(lambda batch: self._http.post("/records", json={"records": batch}))

    def start(self, every_s: float = 5.0) -> None:
        """Flushes in the background every ``every_s`` seconds until ``stop``."""

        def loop() -> None:
            while not self._stop.wait(every_s):
                self.flush()

        self._thread = threading.Thread(target=loop, name="recorder-flush", daemon=True)
        self._thread.start()

    def stop(self) -> FlushResult:
        """Stops the background flushing and flushes once more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.flush()

    def close(self) -> None:
        self.queue.close()
        self._http.close()
