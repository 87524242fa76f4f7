"""Finding registered works and outputs that look like a file: the index, searches, results.

Each method has its own ``HammingIndex`` under ``<data_dir>/similarity``, filled from the
``fingerprint`` table: before a search, rows added since (by any process) join the index, so
the API, the CLI and other workers see the same files. A result names the method (with its
version), the distance, the threshold the calibration chose and the calibrated score, and
whether the distance is within the threshold (``match``); every other method's distance to the
same file is given beside it, as corroboration.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from ledger.evidence.fingerprints import fingerprint
from ledger.evidence.index import HammingIndex
from ledger.evidence.methods import CODE_BYTES, DEFAULT, hamming
from ledger.evidence.thresholds import Threshold, thresholds
from ledger.models import FileEvidence, Fingerprint, Work
from ledger.runtime import Ledger
from ledger.services.fingerprints import subjects

log = logging.getLogger(__name__)

SAVE_EVERY_S = 60.0
SYNC_BATCH = 50_000


def split_codes(blob: bytes) -> list[bytes]:
    return [blob[i : i + CODE_BYTES] for i in range(0, len(blob), CODE_BYTES)]


class SimilarityIndexes:
    """The per-method indexes of one process, kept in step with the table."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._indexes: dict[str, HammingIndex] = {}
        self._lock = threading.Lock()
        self._saved_at = time.monotonic()

    def _path(self, label: str, whole: bool) -> Path:
        return self.ledger.settings.similarity_dir / f"{label.replace('@', '-v')}{'-whole' if whole else ''}.usearch"

    def index(self, label: str, whole: bool = False) -> HammingIndex:
        """The method's index of every code (``whole``: of each file's whole-file code only, to
        find the files a query's windows contain)."""
        name = f"{label}#whole" if whole else label
        with self._lock:
            if name not in self._indexes:
                idx = HammingIndex(self._path(label, whole))
                if idx.high_row and idx.stamp != self._stamp(idx.high_row):
                    log.warning("%s was written for another database: rebuilding it from the fingerprint table", idx.path)
                    idx.clear()
                self._indexes[name] = idx
            idx = self._indexes[name]
        self._sync(label, idx, whole)
        return idx

    def _stamp(self, row: int) -> str:
        """What identifies fingerprint row ``row`` in this database (its file and method)."""
        with Session(self.ledger.engine) as s:
            fp = s.get(Fingerprint, row)
        return "" if fp is None else f"{fp.content_hash}:{fp.method}"

    def _sync(self, label: str, idx: HammingIndex, whole: bool) -> None:
        added = 0
        while True:
            with Session(self.ledger.engine) as s:
                rows = s.exec(
                    select(Fingerprint.id, Fingerprint.codes)
                    .where(Fingerprint.method == label, col(Fingerprint.id) > idx.high_row)
                    .order_by(col(Fingerprint.id))
                    .limit(SYNC_BATCH)
                ).all()
            idx.add_many([(int(r), split_codes(c[:CODE_BYTES] if whole else c)) for r, c in rows])
            if rows:
                idx.stamp = self._stamp(idx.high_row)
            added += len(rows)
            if len(rows) < SYNC_BATCH:
                break
        if added and time.monotonic() - self._saved_at > SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        self._saved_at = time.monotonic()
        for idx in list(self._indexes.values()):
            idx.save()

    def rebuild(self) -> dict[str, int]:
        """Drops every index file and refills it from the table; entries per method."""
        with self._lock:
            self._indexes.clear()
        counts = {}
        for label in self.ledger.methods.keys.values():
            for whole in (False, True):
                path = self._path(label, whole)
                for p in (path, path.with_suffix(".json")):
                    p.unlink(missing_ok=True)
            counts[label] = len(self.index(label))
            self.index(label, whole=True)
        self.save()
        return counts


@dataclass(frozen=True)
class Match:
    content_hash: str
    method: str  # name@version of the deciding method
    distance: int
    threshold: int
    score: float | None
    calibrated: bool
    match: bool  # distance <= threshold
    work_id: int | None = None
    work_manager: str | None = None
    output_hash: str | None = None
    output_model_id: int | None = None
    #: other methods' distances to the same file (name@version -> distance)
    corroboration: dict[str, int] = field(default_factory=dict)


def decisive_label(codes: dict[str, list[bytes]]) -> str | None:
    """The method that decides for these codes: the image one if present, else the text one."""
    for kind in ("image", "text"):
        label = DEFAULT.keys[DEFAULT.decisive[kind]]
        if label in codes:
            return label
    return None


def stored_codes(session: Session, hashes: list[str]) -> dict[str, dict[str, list[bytes]]]:
    out: dict[str, dict[str, list[bytes]]] = {}
    if hashes:
        for fp in session.exec(select(Fingerprint).where(col(Fingerprint.content_hash).in_(hashes))):
            out.setdefault(fp.content_hash, {})[fp.method] = split_codes(fp.codes)
    return out


def pair_distance(query: list[bytes], windows: list[bytes], indexed: list[bytes]) -> int:
    """The distance search uses between two files, both ways round: the query's codes against
    all the other's codes, and the query's windows against the other's whole-file code."""
    both = [hamming(q, c) for q in query for c in indexed]
    both += [hamming(w, indexed[0]) for w in windows]
    return min(both)


def search(
    ledger: Ledger,
    queries: dict[str, list[bytes]],
    k: int = 10,
    exclude: str | None = None,
    only_matches: bool = False,
    windows: dict[str, list[bytes]] | None = None,
) -> list[Match]:
    """Registered works and outputs nearest to a file, nearest first, both ways round: the
    file's query codes against every indexed code (finds files it is a crop of, or a copy of),
    and its ``windows`` against whole-file codes (finds files that are crops of it)."""
    label = decisive_label(queries)
    if label is None:
        return []
    cut: Threshold = thresholds()[label]
    radius = cut.distance if only_matches else None
    hits = ledger.similarity.index(label).search(queries[label], k + 1, radius=radius)
    if windows and windows.get(label):
        hits += ledger.similarity.index(label, whole=True).search(windows[label], k + 1, radius=radius)
        hits.sort(key=lambda h: (h.distance, h.row))
    with Session(ledger.engine) as s:
        rows = {fp.id: fp.content_hash for fp in s.exec(select(Fingerprint).where(col(Fingerprint.id).in_([h.row for h in hits])))}
        hashes = [h for h in dict.fromkeys(rows[h.row] for h in hits if h.row in rows) if h != exclude]
        works, outputs = subjects(s, hashes)
        others = stored_codes(s, [h for h in hashes if h in works or h in outputs])
    best: dict[str, int] = {}
    for h in hits:
        if h.row in rows:
            best[rows[h.row]] = min(h.distance, best.get(rows[h.row], 64))
    out = []
    for content_hash in hashes:
        work, output = works.get(content_hash), outputs.get(content_hash)
        if work is None and output is None:
            continue
        d = best[content_hash]
        corroboration = {
            m: pair_distance(queries[m], (windows or {}).get(m, []), codes)
            for m, codes in others.get(content_hash, {}).items()
            if m != label and m in queries
        }
        out.append(
            Match(
                content_hash, label, d, cut.distance, cut.score(d), cut.calibrated, d <= cut.distance,
                work.work_id if work else None, work.manager if work else None,
                output.output_hash if output else None, output.model_id if output else None, corroboration,
            )
        )  # fmt: skip
    out.sort(key=lambda m: (m.distance, m.work_id or 0, m.output_hash or ""))
    return out[:k]


def distances_to(
    ledger: Ledger, queries: dict[str, list[bytes]], windows: dict[str, list[bytes]], hashes: list[str]
) -> dict[str, dict[str, int]]:
    """Exact distances (per method both have, as search measures them) to each given file."""
    with Session(ledger.engine) as s:
        stored = stored_codes(s, hashes)
    return {
        h: {m: pair_distance(queries[m], windows.get(m, []), c) for m, c in stored.get(h, {}).items() if m in queries}
        for h in hashes
    }


def work_hashes(ledger: Ledger, work_ids: list[int]) -> dict[int, str]:
    with Session(ledger.engine) as s:
        return dict(s.exec(select(Work.work_id, Work.content_hash).where(col(Work.work_id).in_(work_ids))).all())


def query_codes_of(ledger: Ledger, content_hash: str) -> tuple[dict[str, list[bytes]], dict[str, list[bytes]]]:
    """The codes to search with for a file on record, and its windows: the query codes are
    recomputed from the file when the store has it (whole picture and mirror), else they are the
    whole-file code of each stored fingerprint."""
    with Session(ledger.engine) as s:
        evidence = s.get(FileEvidence, content_hash)
        stored = stored_codes(s, [content_hash]).get(content_hash, {})
    windows = windows_of(stored)
    if evidence is not None and evidence.file_cid and ledger.store.has(evidence.file_cid):
        return fingerprint(ledger.store.get(evidence.file_cid), ledger.methods, max_pixels=ledger.settings.max_fingerprint_pixels).queries, windows
    return {label: codes[:1] for label, codes in stored.items()}, windows


def windows_of(indexed: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """The window codes among a file's indexed codes (all but the first, for windowed methods)."""
    return {label: codes[1:] for label, codes in indexed.items() if len(codes) > 1}


def file_evidence(ledger: Ledger, content_hash: str) -> FileEvidence | None:
    with Session(ledger.engine) as s:
        return s.get(FileEvidence, content_hash)
