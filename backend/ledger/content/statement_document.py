"""Writing and reading a statement document whose lines run to millions.

A statement's ``lines`` (``[[entry, workId, report, amount], ...]``) are most of its bytes: a
period over 100,000 works of three owners each, in 12 reports, has about 3.5M of them, a 96 MiB
document. Parsed by ``json`` they become 3.5M Python lists (about 600 MiB); here they are read
straight from the canonical text into one int64 array (112 MiB), and the rest of the document
is parsed as usual. ``StatementLines`` still iterates like the list of lists, one chunk at a
time, so code written for ``json.loads`` works unchanged.

Only the shape the ledger writes takes the fast path (one ``"lines":[`` in the text, each line
four integers as canonical JSON writes them, none above 18 digits); anything else is parsed by
``json`` whole, exactly as before, so a document that is not canonical is judged as it always was.
"""

import json
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, overload

import numpy as np

from ledger.content.canonical import canonical

_KEY = b'"lines":['
_NUMBER_PARTS = b"0123456789-"
_BRACKETS = bytes.maketrans(b"[]", b"  ")
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[np.frombuffer(b"0123456789", dtype=np.uint8)] = True
_NONZERO = np.zeros(256, dtype=bool)
_NONZERO[np.frombuffer(b"123456789", dtype=np.uint8)] = True
_OPENS = np.zeros(256, dtype=bool)  # what may come before a number
_OPENS[np.frombuffer(b"[,", dtype=np.uint8)] = True
_ITER_CHUNK = 65_536


_LINES_SLOT = "@lines@"
_LINES_CHUNK = 100_000


class LineColumns(Protocol):
    """Statement lines as parallel arrays (``royalties.Traces``): what ``lines_json`` writes."""

    payee: np.ndarray
    work_id: np.ndarray
    report: np.ndarray
    amount: np.ndarray

    def __len__(self) -> int: ...


def lines_json(traces: LineColumns) -> list[bytes]:
    """``[[entry, workId, report, amount], ...]`` exactly as ``canonical`` writes it, in pieces
    (joined, they are the JSON), from the arrays in chunks: millions of lines never become
    millions of Python lists, nor one string beside the document."""
    cols = (traces.payee, traces.work_id, traces.report, traces.amount)
    parts = [b"["]
    for lo in range(0, len(traces), _LINES_CHUNK):
        rows = zip(*(c[lo : lo + _LINES_CHUNK].tolist() for c in cols))
        parts.append((b"," if lo else b"") + ",".join(f"[{a},{b},{c},{d}]" for a, b, c, d in rows).encode())
    parts.append(b"]")
    return parts


def canonical_with_lines(doc: dict[str, Any], lines: list[bytes]) -> bytes:
    """``canonical({**doc, "lines": <the lines>})`` with the lines already written as JSON (the
    pieces ``lines_json`` gives), joined once into the document."""
    head = canonical({**doc, "lines": _LINES_SLOT})
    slot = f'"lines":"{_LINES_SLOT}"'.encode()
    if head.count(slot) != 1:
        raise RuntimeError("the statement document has no single place for its lines")
    at = head.index(slot)
    return b"".join([head[:at], b'"lines":', *lines, head[at + len(slot) :]])


class StatementLines(Sequence[list[int]]):
    """A statement's lines as an (n, 4) int64 array that reads like ``json``'s list of lists."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array.reshape(-1, 4)

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, i: int) -> list[int]: ...
    @overload
    def __getitem__(self, i: slice) -> "StatementLines": ...
    def __getitem__(self, i: int | slice) -> "list[int] | StatementLines":
        if isinstance(i, slice):
            return StatementLines(self.array[i])
        return [int(v) for v in self.array[i]]

    def __iter__(self) -> Iterator[list[int]]:
        for lo in range(0, len(self.array), _ITER_CHUNK):
            yield from self.array[lo : lo + _ITER_CHUNK].tolist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StatementLines):
            return self.array.shape == other.array.shape and bool((self.array == other.array).all())
        if isinstance(other, list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def lines_array(lines: Sequence[Any]) -> np.ndarray:
    """(n, 4) int64 array of a document's lines, however they were parsed."""
    if isinstance(lines, StatementLines):
        return lines.array
    return np.array(lines, dtype=np.int64).reshape(-1, 4)


def parse_statement(raw: bytes) -> dict[str, Any]:
    """``json.loads(raw)``, with the top-level ``lines`` as ``StatementLines`` when the document
    has the canonical shape; raises what ``json.loads`` raises on what is not JSON."""
    at = raw.find(_KEY)
    if at < 0 or raw.find(_KEY, at + 1) >= 0:
        return json.loads(raw)
    start = at + len(_KEY) - 1
    end = start + 2 if raw.startswith(b"[]", start) else raw.find(b"]]", start) + 2
    if end < start + 2:
        return json.loads(raw)
    array = _lines(raw, start, end)
    if array is None:
        return json.loads(raw)
    doc = json.loads(raw[:start] + b"[]" + raw[end:])
    if not isinstance(doc, dict) or doc.get("lines") != []:  # the key was not the top level's
        return json.loads(raw)
    doc["lines"] = StatementLines(array)
    return doc


#: Bytes of the lines' text turned into numbers at a time: a chunk's copies stay small beside the array.
_PARSE_CHUNK = 8 << 20


def _lines(raw: bytes, start: int, end: int) -> np.ndarray | None:
    """The lines ``raw[start:end]`` as an (n, 4) array, or None if they are not ``[[a,b,c,d],...]``
    of canonical integers. Read a few MiB at a time, cut between two lines, so a document of
    millions of lines costs its array and one chunk."""
    if end - start == 2:
        return np.zeros((0, 4), dtype=np.int64) if raw[start:end] == b"[]" else None
    if raw[start : start + 2] != b"[[" or raw[end - 2 : end] != b"]]":
        return None
    n = raw.count(b"[", start + 1, end)
    out = np.empty((n, 4), dtype=np.int64)
    lo, row = start + 1, 0  # each chunk: "[a,b,c,d],...,[a,b,c,d]", without the outer brackets
    while lo < end - 1:
        hi = raw.find(b"],[", min(lo + _PARSE_CHUNK, end - 1), end - 1)
        hi = end - 1 if hi < 0 else hi + 1
        chunk = raw[lo:hi]
        k = chunk.count(b"[")
        if row + k > n or chunk.translate(None, _NUMBER_PARTS) != b"[,,,]," * (k - 1) + b"[,,,]" or not _canonical_numbers(chunk):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns, and stops, where a number cannot be read
            try:
                values = np.fromstring(chunk.translate(_BRACKETS), dtype=np.int64, sep=",")
            except (ValueError, DeprecationWarning):
                return None
        if len(values) != 4 * k:
            return None
        out[row : row + k] = values.reshape(k, 4)
        row += k
        lo = hi + 1  # past the comma between two lines
    return out if row == n else None


def _canonical_numbers(chunk: bytes) -> bool:
    """Every number of a chunk whose brackets and commas are in place is written as canonical JSON
    writes an integer: present, a minus only in front and only before 1-9, no leading zero, at
    most 18 digits (so it fits int64). Vectorised: a regular expression took 3 s on 96 MiB."""
    if b"[," in chunk or b",," in chunk or b",]" in chunk:
        return False
    b = np.frombuffer(chunk, dtype=np.uint8)
    minus = np.flatnonzero(b == ord("-"))
    if len(minus) and not (_OPENS[b[minus - 1]].all() and _NONZERO[b[minus + 1]].all()):
        return False
    digit = _DIGIT[b]
    zero = np.flatnonzero(b == ord("0"))
    zero = zero[zero + 1 < len(b)]
    if (~digit[zero - 1] & digit[zero + 1]).any():  # a 0 opening a number and followed by a digit
        return False
    edges = np.flatnonzero(np.diff(digit.astype(np.int8)))  # where runs of digits start and end: a chunk
    runs = edges[1::2] - edges[0::2]  # opens with "[" and closes with "]", so runs alternate start, end
    return not len(runs) or int(runs.max()) <= 18
