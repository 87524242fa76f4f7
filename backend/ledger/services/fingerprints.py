"""Recording files' fingerprints, and computing them later for files registered before.

Recording is idempotent by content hash: the same file always gives the same codes, so a retry
or a concurrent upload of the same file finds the rows there and keeps them. Rows are written
before the registration's transaction (the check needs them first); a row whose registration
then failed names a hash no work or output has, and searches only report registered ones.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.content.documents import file_cid_of
from ledger.evidence.fingerprints import FileFingerprints, fingerprint
from ledger.evidence.media import Undecodable
from ledger.evidence.methods import CODE_BYTES, DEFAULT, Methods
from ledger.models import FileEvidence, Fingerprint, Output, Work
from ledger.runtime import Ledger
from ledger.services.errors import InvalidInput

MAX_CODES = 64


def _store_rows(ledger: Ledger, content_hash: str, evidence: FileEvidence, codes: dict[str, list[bytes]]) -> None:
    with Session(ledger.engine) as s:
        have = set(s.exec(select(Fingerprint.method).where(Fingerprint.content_hash == content_hash)).all())
        if s.get(FileEvidence, content_hash) is None:
            s.add(evidence)
        for label, values in codes.items():
            if label not in have and values:
                s.add(Fingerprint(content_hash=content_hash, method=label, codes=b"".join(values)))
        try:
            s.commit()
        except IntegrityError:  # a concurrent recording of the same file won: its rows are ours
            s.rollback()


def record_file(
    ledger: Ledger, content_hash: str, data: bytes, source: str, file_cid: str | None = None, title: str | None = None
) -> FileFingerprints:
    """Fingerprints ``data`` and stores them under ``content_hash``. Raises InvalidInput for a
    picture that cannot be decoded or is too large to fingerprint."""
    try:
        prints = fingerprint(data, ledger.methods, title=title, max_pixels=ledger.settings.max_fingerprint_pixels)
    except Undecodable as exc:
        raise InvalidInput(f"cannot fingerprint the file: {exc}") from None
    evidence = FileEvidence(
        content_hash=content_hash, media=prints.media, width=prints.width, height=prints.height,
        iscc=json.dumps(prints.iscc, sort_keys=True), file_cid=file_cid, source=source, created_at=int(time.time()),
    )  # fmt: skip
    _store_rows(ledger, content_hash, evidence, prints.indexed)
    return prints


def parse_codes(given: dict[str, list[str]], methods: Methods = DEFAULT) -> dict[str, list[bytes]]:
    """Codes a platform computed itself (``{"phash@1": ["0x…", …]}``): known methods only, each
    code 8 bytes of hex, at most MAX_CODES per method."""
    known = set(methods.keys.values())
    out: dict[str, list[bytes]] = {}
    for label, values in given.items():
        if label not in known:
            raise InvalidInput(f"unknown fingerprint method {label!r}; known: {', '.join(sorted(known))}")
        if not 1 <= len(values) <= MAX_CODES:
            raise InvalidInput(f"{label}: give 1 to {MAX_CODES} codes")
        codes = []
        for v in values:
            text = v.removeprefix("0x")
            if len(text) != CODE_BYTES * 2:
                raise InvalidInput(f"{label}: a code is {CODE_BYTES} bytes as hex, got {v!r}")
            try:
                codes.append(bytes.fromhex(text))
            except ValueError:
                raise InvalidInput(f"{label}: {v!r} is not hex") from None
        out[label] = codes
    return out


def record_codes(ledger: Ledger, content_hash: str, codes: dict[str, list[bytes]], source: str) -> None:
    evidence = FileEvidence(content_hash=content_hash, source=source, created_at=int(time.time()))
    _store_rows(ledger, content_hash, evidence, codes)


@dataclass
class BackfillResult:
    fingerprinted: int = 0
    already: int = 0
    no_file: int = 0
    unreadable: int = 0


def backfill(ledger: Ledger, progress: Callable[[int, int], None] | None = None) -> BackfillResult:
    """Fingerprints every registered work whose file is in the content store and lacks some
    configured method's codes (works registered before fingerprinting existed, or by hash and
    stored since, or before a method such as an image embedding was configured)."""
    result = BackfillResult()
    with Session(ledger.engine) as s:
        media = dict(s.exec(select(FileEvidence.content_hash, FileEvidence.media).where(col(FileEvidence.media).is_not(None))).all())
        labels: dict[str, set[str]] = {}
        for content_hash, label in s.exec(select(Fingerprint.content_hash, Fingerprint.method)).all():
            labels.setdefault(content_hash, set()).add(label)
        wanted = {kind: {ledger.methods.keys[m.name] for m in ledger.methods.for_media(kind)} for kind in ("image", "text")}
        done = {h for h, kind in media.items() if wanted.get(kind, set()) <= labels.get(h, set())}
        works = list(s.exec(select(Work.content_hash, Work.metadata_cid).order_by(col(Work.work_id))).all())
    for i, (content_hash, metadata_cid) in enumerate(works):
        if content_hash in done:
            result.already += 1
        else:
            cid = file_cid_of(ledger.store, metadata_cid)
            if cid is None or not ledger.store.has(cid):
                result.no_file += 1
            else:
                try:
                    record_file(ledger, content_hash, ledger.store.get(cid), "backfill", cid)
                    result.fingerprinted += 1
                except InvalidInput:
                    result.unreadable += 1
        if progress:
            progress(i + 1, len(works))
    return result


def subjects(session: Session, hashes: list[str]) -> tuple[dict[str, Work], dict[str, Output]]:
    """The works and outputs registered under these content hashes."""
    if not hashes:
        return {}, {}
    works = {w.content_hash: w for w in session.exec(select(Work).where(col(Work.content_hash).in_(hashes)))}
    outputs = {o.output_hash: o for o in session.exec(select(Output).where(col(Output.output_hash).in_(hashes)))}
    return works, outputs
