"""The verifier reads usage report files without holding their lines: a scan for the hash, the
size and the ids corrections replace, then the lines again, a piece at a time."""

from pathlib import Path

import pytest

from ledger.services.errors import InvalidInput
from ledger.services.statement_verifier import _UsageFile

PLATFORM = "0x" + "ab" * 20
OUTPUT = "0x" + "cd" * 32


def _report(path: Path, lines: int, revenue: int = 7, corrects: str = "") -> Path:
    rows = [f"HEAD,R1,{PLATFORM},2026-10-01,2026-10-31,JPY" + (f",{corrects}" if corrects else "")]
    rows += [f"LINE,L{i},{OUTPUT},g{i},generation,subscription,JP,1,{revenue}" + (f",X{i}" if corrects else "") for i in range(lines)]
    rows.append(f"FOOT,{lines},{lines * revenue}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_file_is_scanned_then_read_in_pieces(tmp_path: Path) -> None:
    found = _UsageFile.scan(_report(tmp_path / "r.csv", 12_001))
    assert (found.lines, found.revenue, found.replaces) == (12_001, 84_007, frozenset())
    pieces = list(found.pieces(size=5_000))
    assert [len(p) for p in pieces] == [5_000, 5_000, 2_001]
    assert [p[0].line_id for p in pieces] == ["L0", "L5000", "L10000"]
    assert found.holding({"L3", "L12000", "L12001", "nope"}) == {"L3", "L12000"}


def test_the_ids_a_correction_replaces_are_known_from_the_scan(tmp_path: Path) -> None:
    found = _UsageFile.scan(_report(tmp_path / "fix.csv", 3, corrects="R0"))
    assert found.replaces == frozenset({"X0", "X1", "X2"})


def test_a_file_changed_after_its_scan_is_refused(tmp_path: Path) -> None:
    path = _report(tmp_path / "r.csv", 10)
    found = _UsageFile.scan(path)
    _report(path, 10, revenue=8)  # the same size of report, other amounts: another hash
    with pytest.raises(InvalidInput, match="changed while the statement was being verified"):
        list(found.pieces())
