"""JSON documents named by a CID that came from outside: a chain event, a relayed call.

Anyone with a role can put any string where a metadata or training-set CID belongs, and the CID
of any bytes at all. So a document is read only through here: the CID must be well formed, the
block bounded in size, the text bounded in nesting before it is parsed, and the result a JSON
object. Each failure is a status a reader can show, never an exception that becomes a 500.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.content.cid import is_cid
from ledger.content.store import ContentStore
from ledger.jsonshape import JsonLimits, JsonShapeError, check_json_text

#: Metadata and training-set documents the ledger writes are far smaller; statements have their own bound.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class DocumentStatus(StrEnum):
    ok = "ok"
    invalid_cid = "invalid_cid"  # not a CIDv1 (raw or dag-pb, sha2-256): nothing can be fetched
    missing = "missing"  # a valid CID the content store does not hold (yet)
    too_large = "too_large"
    not_json = "not_json"  # not UTF-8 JSON, nested too deep, or not a JSON object


@dataclass(frozen=True)
class Document:
    status: DocumentStatus
    value: dict[str, Any] | None = None
    raw: bytes | None = None


def load_document(
    store: ContentStore, cid: str, max_bytes: int = MAX_DOCUMENT_BYTES, limits: JsonLimits = JsonLimits(), parse: Callable[[bytes], Any] = json.loads
) -> Document:
    """``parse``: how the text becomes a value once bounded (a statement's lines are read into an array)."""
    if not is_cid(cid):
        return Document(DocumentStatus.invalid_cid)
    try:
        if not store.has(cid):
            return Document(DocumentStatus.missing)
        raw = store.get(cid)
    except (OSError, ValueError):
        return Document(DocumentStatus.missing)
    if len(raw) > max_bytes:
        return Document(DocumentStatus.too_large)
    try:
        check_json_text(raw, limits)
        value = parse(raw)
    except (JsonShapeError, ValueError, RecursionError):
        return Document(DocumentStatus.not_json, raw=raw)
    if not isinstance(value, dict):
        return Document(DocumentStatus.not_json, raw=raw)
    return Document(DocumentStatus.ok, value, raw)


def file_cid_of(store: ContentStore, metadata_cid: str) -> str | None:
    """The CID of the file a work's metadata document names (``file.cid``), if it names one."""
    file = (load_document(store, metadata_cid).value or {}).get("file")
    return file.get("cid") if isinstance(file, dict) and isinstance(file.get("cid"), str) else None
