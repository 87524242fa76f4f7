"""Statement documents whose lines are read into an array: the same values ``json`` gives for the
canonical shape, and ``json``'s own answer for anything else."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.content import statement_document
from ledger.content.statement_document import StatementLines, lines_array, parse_statement
from ledger.content.canonical import canonical
from ledger.content.statement_document import canonical_with_lines

INT64 = st.integers(-(10**18) + 1, 10**18 - 1)
LINES = st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 2**40), st.integers(0, 50), INT64), max_size=40)


def _doc(lines: list[tuple[int, int, int, int]]) -> bytes:
    head = {"schema": "x", "entries": [{"index": 0, "lines": 3}], "reports": [{"lines": len(lines)}], "root": "0x00"}
    return canonical_with_lines(head, [("[" + ",".join(f"[{a},{b},{c},{d}]" for a, b, c, d in lines) + "]").encode()])


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_canonical_lines_read_into_an_array_equal_json(lines: list[tuple[int, int, int, int]]) -> None:
    raw = _doc(lines)
    fast, slow = parse_statement(raw), json.loads(raw)
    assert isinstance(fast["lines"], StatementLines)
    assert fast["lines"] == slow["lines"] and list(fast["lines"]) == slow["lines"] and len(fast["lines"]) == len(lines)
    assert {k: v for k, v in fast.items() if k != "lines"} == {k: v for k, v in slow.items() if k != "lines"}
    assert lines_array(fast["lines"]).tolist() == lines_array(slow["lines"]).tolist() == [list(x) for x in lines]
    if lines:
        assert fast["lines"][len(lines) - 1] == list(lines[-1]) and fast["lines"][1:] == slow["lines"][1:]
    default = statement_document._PARSE_CHUNK
    statement_document._PARSE_CHUNK = 7  # a chunk of about one line: every cut between lines is taken
    try:
        assert parse_statement(raw)["lines"] == slow["lines"]
    finally:
        statement_document._PARSE_CHUNK = default


ODD_LINES = [
    b"[[1,2,3,4.5]]", b"[[1,2,3]]", b"[[1,2,3,4,5]]", b"[[01,2,3,4]]", b"[[-0,2,3,4]]", b"[[1,2,3,true]]", b"[[1,2,3,null]]",
    b"[[1,2,3,12345678901234567890]]", b"[[1,2,3,1234567890123456789]]", b"[[1,2,-3,00]]", b"[[1,2,3,4],[1,2,3,-05]]", b"[[1,2,3,-4],[5,6,7]]", b"[[1,2,3,4]],[[5,6,7,8]]", b"[[1, 2,3,4]]", b"[[1,2,3,\"4\"]]",
    b"[[1,2,3,4],[]]", b"[[[1],2,3,4]]", b"[[1,2,3,1-2]]", b"[[,2,3,4]]", b"[[1,2,3,--4]]", b"[1,2,3,4]",
]  # fmt: skip


def test_anything_but_canonical_lines_is_parsed_by_json_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    for body, chunk in ((b, c) for b in ODD_LINES for c in (7, 1 << 20)):
        monkeypatch.setattr(statement_document, "_PARSE_CHUNK", chunk)
        raw = b'{"entries":[],"lines":' + body + b',"root":"0x00"}'
        try:
            expected = json.loads(raw)
        except ValueError:
            expected = None
        if expected is None:
            try:
                parse_statement(raw)
            except ValueError:
                continue
            raise AssertionError(f"{body!r} is not JSON and must be refused as json refuses it")
        got = parse_statement(raw)
        assert not isinstance(got["lines"], StatementLines), body
        assert got == expected, body


def test_lines_elsewhere_than_the_top_level_are_left_to_json() -> None:
    nested = b'{"entries":[],"extra":{"lines":[[1,2,3,4]]},"root":"0x00"}'
    assert parse_statement(nested) == json.loads(nested)
    twice = b'{"a":{"lines":[[9,9,9,9]]},"lines":[[1,2,3,4]]}'
    assert parse_statement(twice) == json.loads(twice) and not isinstance(parse_statement(twice)["lines"], StatementLines)
    empty = canonical({"lines": [], "root": "0x00"})
    got = parse_statement(empty)
    assert isinstance(got["lines"], StatementLines) and len(got["lines"]) == 0 and got["lines"] == []


def test_a_large_statement_is_one_array_not_a_list_per_line() -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    rows = np.stack([rng.integers(0, 5_000, n), rng.integers(1, 10**5, n), rng.integers(0, 12, n), rng.integers(1, 10**12, n)], axis=1)
    raw = _doc([tuple(r) for r in rows.tolist()])  # type: ignore[misc]
    doc = parse_statement(raw)
    assert isinstance(doc["lines"], StatementLines) and doc["lines"].array.dtype == np.int64
    assert (doc["lines"].array == rows).all() and sum(1 for _ in doc["lines"]) == n
