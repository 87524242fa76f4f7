"""Usage ingestion at speed: a plain line is read by one match, any other form field by field, and
both must give the same rows and the same anchored hash (the one docs/usage-format.md defines, which
a platform recomputes from its own file); line ids used twice are found by the database's unique
index, in the same chunk, across chunks, or across reports, with the line numbers to fix."""

import hashlib
import io
from datetime import datetime, timezone

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.models import UsageLine, UsageReport
from ledger.runtime import Ledger
from ledger.services import usage
from ledger.services.usage_format import ReportReader, records_from_csv


PLATFORM = "0x784A60a48a5D530BDaCADC7d0a01485145503B8C"
HEAD = f"HEAD,R-1,{PLATFORM},2026-10-01,2026-10-31,JPY"

ids = st.text("abcXYZ019._:/-", min_size=1, max_size=12)
line_st = st.fixed_dictionaries({
    "line_id": ids,
    "subject": st.one_of(st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()), st.integers(1, 2**40).map(lambda n: f"model:{n}")),
    "ref": st.text("abc-123_#", max_size=8),
    "commercial_model": st.sampled_from(["subscription", "ad_supported", "pay_per_use", "free", "other"]),
    "territory": st.sampled_from(["JP", "US", "VN", "ZZ"]),
    "uses": st.integers(0, 2**62),
    "revenue": st.integers(0, 10**14),
    "replaces": st.one_of(st.none(), ids),
})  # fmt: skip


def _use_type(line: dict[str, object]) -> str:
    return "subscription" if str(line["subject"]).startswith("model:") else "generation"


def _plain(line: dict[str, object]) -> str:
    tail = f",{line['replaces']}" if line["replaces"] else ""
    return (
        f"LINE,{line['line_id']},{line['subject']},{line['ref']},{_use_type(line)},{line['commercial_model']},"
        f"{line['territory']},{line['uses']},{line['revenue']}{tail}"
    )


def _noisy(line: dict[str, object], variant: int) -> str:
    """The same line in forms the quick reading does not take: quoted, padded, upper-case hex,
    leading zeros; all normalise to the plain line."""
    subject = str(line["subject"])
    if subject.startswith("0x") and variant % 2:
        subject = "0x" + subject[2:].upper()
    fields = [
        "LINE", str(line["line_id"]), subject, str(line["ref"]), _use_type(line), str(line["commercial_model"]),
        str(line["territory"]), "00" + str(line["uses"]), "0" + str(line["revenue"]),
    ]  # fmt: skip
    if line["replaces"]:
        fields.append(str(line["replaces"]))
    if variant % 3 == 0:
        return ",".join(f'"{f}"' for f in fields)
    return ",".join(f" {f} " if i else f for i, f in enumerate(fields))


def _reference_hash(lines: list[dict[str, object]]) -> str:
    """The batch hash as docs/usage-format.md states it, written from the document, not the code."""
    start = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp())
    end = int(datetime(2026, 10, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp())
    h = hashlib.sha256(f"HEAD|R-1|{PLATFORM}|{start}|{end}|JPY|\n".encode())
    for line in lines:
        h.update(
            f"LINE|{line['line_id']}|{line['subject']}|{line['ref']}|{_use_type(line)}|{line['commercial_model']}|{line['territory']}|"
            f"{line['uses']}|{line['revenue']}|{line['replaces'] or ''}\n".encode()
        )  # fmt: skip
    h.update(f"FOOT|{len(lines)}|{sum(int(str(x['revenue'])) for x in lines)}\n".encode())
    return "0x" + h.hexdigest()


def _read(text: str) -> tuple[list[usage.ReportLine], str]:
    records = records_from_csv(io.StringIO(text, newline=""))
    reader = ReportReader.start(records)
    rows = list(reader.rows(records))
    return rows, reader.finish()


def _report(lines: list[str], total: int, newline: str = "\n") -> str:
    return newline.join([HEAD, *lines, f"FOOT,{len(lines)},{total}"]) + newline


@settings(max_examples=60, deadline=None)
@given(st.lists(line_st, min_size=1, max_size=20, unique_by=lambda x: x["line_id"]), st.integers(0, 5), st.sampled_from(["\n", "\r\n", "\r"]))
def test_plain_and_other_forms_read_alike_and_hash_as_documented(lines: list[dict[str, object]], variant: int, newline: str) -> None:
    total = sum(int(str(x["revenue"])) for x in lines)
    plain_rows, plain_hash = _read(_report([_plain(x) for x in lines], total, newline))
    mixed = [_noisy(x, variant + i) if (variant + i) % 2 else _plain(x) for i, x in enumerate(lines)]
    mixed_rows, mixed_hash = _read(_report(mixed, total, newline))
    assert plain_hash == mixed_hash == _reference_hash(lines)
    assert plain_rows == mixed_rows
    assert [r.line_number for r in plain_rows] == list(range(2, len(lines) + 2))


def test_blank_lines_around_records_are_skipped_and_nothing_follows_the_footer() -> None:
    line = f"LINE,A,0x{'ab' * 32},r,generation,free,JP,1,5"
    rows, _ = _read("\n" + HEAD + "\n\n" + line + "\n ,, \nFOOT,1,5\n\n")
    assert [r.line_id for r in rows] == ["A"] and rows[0].line_number == 4
    with pytest.raises(usage.UsageFormatError, match="line 4: nothing may follow the FOOT"):
        _read(HEAD + "\nFOOT,0,0\n\n" + line + "\n")
    with pytest.raises(usage.UsageFormatError, match="NUL"):
        _read(HEAD + "\n" + line.replace(",r,", ",r\0,") + "\nFOOT,1,5\n")


@pytest.mark.parametrize(
    ("ids_in_report", "message"),
    [
        (["A", "B", "C", "B"], "line 5: line id 'B' appears twice in this report (first at line 3)"),  # one chunk
        (["A", "B", "C", "D", "E", "A"], "line 7: line id 'A' appears twice in this report (first at line 2)"),  # across chunks
        (["X", "OLD-2"], "line 3: line id 'OLD-2' was already used in an earlier report"),
    ],
)
def test_a_line_id_used_twice_is_found_by_the_index_with_both_lines(
    ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]], monkeypatch: pytest.MonkeyPatch, ids_in_report: list[str], message: str
) -> None:
    client, platform, hashes = platform_setup
    monkeypatch.setattr(usage, "CHUNK", 2)  # the server runs in this process: chunks of two lines

    def report(report_id: str, line_ids: list[str]) -> str:
        body = [f"LINE,{i},{hashes[n % 3]},r,generation,subscription,JP,1,{10 + n}" for n, i in enumerate(line_ids)]
        total = sum(10 + n for n in range(len(line_ids)))
        return "\n".join([f"HEAD,{report_id},{platform},2026-11-01,2026-11-30,JPY", *body, f"FOOT,{len(body)},{total}"]) + "\n"

    assert client.post("/usage/reports", content=report("OLD", ["OLD-1", "OLD-2", "OLD-3"]), headers={"content-type": "text/csv"}).status_code == 201
    before = ledger.w3.eth.block_number
    resp = client.post("/usage/reports", content=report("NEW", ids_in_report), headers={"content-type": "text/csv"})
    assert resp.status_code == 422 and message in resp.json()["detail"], resp.text
    assert ledger.w3.eth.block_number == before
    with Session(ledger.engine) as s:  # all or nothing: only the first report is stored
        assert s.exec(select(func.count()).select_from(UsageReport)).one() == 1
        assert s.exec(select(func.count()).select_from(UsageLine)).one() == 3
