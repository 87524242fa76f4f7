"""Canonical JSON: the exact bytes the ledger hashes, stores under a CID and publishes a root of.

Sorted keys, no whitespace, UTF-8 (not ASCII escapes): the same document always gives the same
bytes, so the same work's metadata always has the same CID, and a statement's id (the SHA-256 of
its document) can be recomputed by anyone holding the document. Every document the ledger writes
goes through here.
"""

import json
from typing import Any


def canonical(doc: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed and stored: sorted keys, no whitespace, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
