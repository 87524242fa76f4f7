"""Statement exports name works by their registered titles, in the script they were registered in
(Japanese credits print in the PDF with a CJK font), next to the ids the document and the chain use."""

import csv
import io

import httpx
import pytest
from pypdf import PdfReader

from ledger.exports import pdf as pdf_layout
from ledger.exports.fonts import unicode_font
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.factories import _csv, _platform_with_outputs, _upload

TITLE = "進撃の巨人 第1話 原画 (key animation)"


def _statement_with_a_japanese_title(ledger: Ledger, server: Server, holder: httpx.Client) -> tuple[str, int, str]:
    resp = holder.post("/works", json={"title": TITLE, "content_hash": "0x" + "e1" * 32, "terms": {"training_allowed": True, "royalty_bps": 0}})
    assert resp.status_code == 201, resp.text
    work = int(resp.json()["work_id"])
    me = holder.get(f"/works/{work}").json()["manager"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xE100)
    assert _upload(platform, _csv("AUG", address, "2026-08-01", "2026-08-31", "JPY", [(h, 1_000)])).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    st = accountant.post("/statements", json={"period_start": "2026-08-01", "period_end": "2026-08-31", "currency": "JPY"}).json()
    return st["statement_id"], work, me


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.skipif(unicode_font() is None, reason="scripts/setup.sh installs Debian's fonts-ipaexfont-gothic")
def test_titles_print_in_their_own_script(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    statement_id, work, me = _statement_with_a_japanese_title(ledger, server, holder)
    base = f"/statements/{statement_id}/export"
    pdf = holder.get(base, params={"format": "pdf", "account": me})
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    assert "進撃の巨人" in text and f"(#{work})" in text and "700 JPY" in text, text
    rows = list(csv.DictReader(io.StringIO(holder.get(base, params={"format": "csv"}).text)))
    assert [(r["work_id"], r["work_title"], r["amount_minor"]) for r in rows] == [(str(work), TITLE, "700")]


def test_without_a_cjk_font_the_pdf_still_prints(ledger: Ledger, server: Server, holder: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_layout, "unicode_font", lambda: None)  # a machine without the font package
    statement_id, work, me = _statement_with_a_japanese_title(ledger, server, holder)
    pdf = holder.get(f"/statements/{statement_id}/export", params={"format": "pdf", "account": me})
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    assert "(key animation)" in text and f"(#{work})" in text and "進撃" not in text


def test_a_statement_too_long_for_a_worksheet_is_refused_and_its_csv_streams(
    ledger: Ledger, server: Server, holder: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XLSX stops at a worksheet's rows, with a 422 that names CSV; CSV goes out a chunk at a time
    and comes out the same whatever the chunk."""
    from ledger.exports import writers

    statement_id, work, _ = _statement_with_a_japanese_title(ledger, server, holder)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "books").token)
    whole = accountant.get(f"/statements/{statement_id}/export", params={"format": "csv"})
    assert whole.status_code == 200
    monkeypatch.setattr(writers, "CSV_CHUNK_ROWS", 1)  # a chunk per line
    assert accountant.get(f"/statements/{statement_id}/export", params={"format": "csv"}).content == whole.content
    rows = list(csv.reader(io.StringIO(whole.text)))
    assert rows[0] == writers.LINE_HEADER and [int(r[2]) for r in rows[1:]] == [work]
    assert accountant.get(f"/statements/{statement_id}/export", params={"format": "xlsx"}).status_code == 200
    monkeypatch.setattr(writers, "XLSX_MAX_LINES", 0)
    refused = accountant.get(f"/statements/{statement_id}/export", params={"format": "xlsx"})
    assert refused.status_code == 422 and "export csv" in refused.json()["detail"]
