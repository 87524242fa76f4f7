"""A nearest-neighbour index of 64-bit codes by Hamming distance (usearch HNSW), one per method.

The index is a cache of the ``fingerprint`` table: every entry's key encodes the table row and
the code's position in it (``row * 64 + variant``), the file beside the database records the
highest row it holds, and anything missing or unreadable is rebuilt from the table. Search asks
HNSW for more neighbours than wanted and then recomputes each distance exactly, so a distance
reported is always the true one; what approximate search can lose is recall, which
``scripts/bench_similarity.py`` measures against exact search.
"""

import importlib.util
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# onnxruntime loaded after usearch crashes the process (a native symbol clash: reproduced with
# usearch 2.26 and onnxruntime 1.23 and 1.32, the other order works). Where onnxruntime is
# installed (the `embedding` extra), it is loaded first.
if importlib.util.find_spec("onnxruntime") is not None:
    import onnxruntime  # noqa: F401

from usearch.index import Index, MetricKind  # noqa: E402

from ledger.evidence.methods import CODE_BYTES

VARIANTS = 64  # codes per fingerprint row at most (phash: 49)


def pack(codes: Iterable[bytes]) -> np.ndarray:
    """Codes as an (n, 8) uint8 array, the layout usearch's ``b1`` vectors take."""
    joined = b"".join(codes)
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, CODE_BYTES)


def exact_distances(stored: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance of every query code (rows) to every stored code (columns)."""
    a = stored.view(np.uint64).reshape(-1)
    b = query.view(np.uint64).reshape(-1)
    return np.bitwise_count(a[None, :] ^ b[:, None])  # uint8: at most 64


@dataclass(frozen=True)
class Hit:
    row: int
    variant: int
    distance: int


class HammingIndex:
    """One method's codes. Thread-safe: the API's request threads share one instance."""

    def __init__(self, path: Path | None = None, connectivity: int = 16, expansion_search: int = 1024) -> None:
        self.path = path
        self._opts = {"connectivity": connectivity, "expansion_search": expansion_search}
        self._lock = threading.RLock()
        self.high_row = 0  # every fingerprint row <= this is in the index
        #: What the owner says row ``high_row`` was (e.g. its content hash), kept with the file so a
        #: file left from another database is recognised and not trusted.
        self.stamp = ""
        self._index = self._new()
        if path is not None and path.exists():
            self._load(path)

    def _new(self) -> Index:
        return Index(ndim=CODE_BYTES * 8, metric=MetricKind.Hamming, dtype="b1", **self._opts)

    def _meta_path(self, path: Path) -> Path:
        return path.with_suffix(".json")

    def _load(self, path: Path) -> None:
        try:
            meta = json.loads(self._meta_path(path).read_text())
            index = self._new()
            index.load(str(path))
            if index.size != int(meta["entries"]):
                raise ValueError("entry count differs from its record")
        except (OSError, ValueError, KeyError, RuntimeError):
            return  # unreadable: start empty, the caller adds every row again
        self._index, self.high_row, self.stamp = index, int(meta["high_row"]), str(meta.get("stamp", ""))

    def __len__(self) -> int:
        return int(self._index.size)

    def add(self, row: int, codes: list[bytes]) -> None:
        self.add_many([(row, codes)])

    def add_many(self, rows: list[tuple[int, list[bytes]]]) -> None:
        """Adds rows (ascending ids, all above ``high_row``); a row's codes become its variants."""
        with self._lock:
            fresh = [(r, c) for r, c in rows if r > self.high_row]  # another thread may have added some
            if not fresh:
                return
            keys = np.fromiter((r * VARIANTS + v for r, c in fresh for v in range(len(c))), dtype=np.uint64)
            self._index.add(keys, pack(x for _, c in fresh for x in c), threads=1)
            self.high_row = max(r for r, _ in fresh)

    def search(self, codes: list[bytes], k: int = 10, radius: int | None = None) -> list[Hit]:
        """The ``k`` nearest rows to any of ``codes`` (each with its nearest variant), nearest
        first. usearch's distances are exact for what it finds; only what it finds is approximate."""
        if not codes or len(self) == 0:
            return []
        query = pack(codes)
        wanted = min(len(self), max(k * 4, 32))
        with self._lock:
            found = self._index.search(query, wanted, threads=1)
        keys = np.asarray(found.keys, dtype=np.uint64).reshape(len(codes), -1)
        dists = np.asarray(found.distances).reshape(len(codes), -1)
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]])).reshape(-1)
        best: dict[int, Hit] = {}
        for qi in range(len(codes)):
            for key, dist in zip(keys[qi, : counts[qi]].tolist(), dists[qi, : counts[qi]].tolist()):
                d = int(round(dist))
                if radius is not None and d > radius:
                    continue
                row, variant = divmod(int(key), VARIANTS)
                if row not in best or d < best[row].distance:
                    best[row] = Hit(row, variant, d)
        return sorted(best.values(), key=lambda h: (h.distance, h.row))[:k]

    def clear(self) -> None:
        with self._lock:
            self._index, self.high_row, self.stamp = self._new(), 0, ""

    def save(self) -> None:
        """Writes the index and its record atomically (a crash leaves the previous pair or none)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with self._lock:
            self._index.save(str(tmp))
            entries, high, stamp = len(self), self.high_row, self.stamp
        tmp.replace(self.path)
        meta_tmp = self._meta_path(self.path).with_suffix(".json.tmp")
        meta_tmp.write_text(json.dumps({"entries": entries, "high_row": high, "stamp": stamp}))
        meta_tmp.replace(self._meta_path(self.path))
