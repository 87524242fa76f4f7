"""CSV, XLSX and PDF writers. CSV and XLSX carry every traced line (XLSX adds summary, entries and
reports sheets); the PDF is the readable statement a holder receives, with what it takes to
verify it."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from ledger.exports.pdf import Document
from ledger.exports.view import ACCOUNT_COLUMNS, StatementView
from ledger.services.errors import InvalidInput

LINE_HEADER = [
    "account", "payout", "work_id", "amount_minor", "amount", "currency", "platform", "report_id", "report_batch_hash", "anchor_tx", "kind", "work_title",
]  # fmt: skip
#: A PDF is for reading: beyond this many table rows, export XLSX or CSV.
PDF_MAX_ROWS = 10_000
#: A worksheet holds 1,048,576 rows (the header is one): a larger statement is exported as CSV.
XLSX_MAX_LINES = 1_048_575
#: CSV rows written per chunk of the streamed response.
CSV_CHUNK_ROWS = 10_000


def _line_rows(view: StatementView) -> Iterator[list[object]]:
    for x in view.iter_lines():
        yield [x.account, x.payout, x.work_id, x.amount, view.major(x.amount), view.currency, x.platform, x.report_id, x.batch_hash, x.anchor_tx,
               "reversal" if x.reversal else "usage", view.titles.get(x.work_id, "")]  # fmt: skip


def to_csv(view: StatementView) -> Iterator[bytes]:
    """Every traced line, streamed: a statement of millions of lines is written a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LINE_HEADER)
    for n, row in enumerate(_line_rows(view), 1):
        writer.writerow(row)
        if n % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def to_xlsx(view: StatementView) -> Iterator[bytes]:
    """Write-only workbook (flat memory for large statements). Minor units are integer cells
    (exact in Excel below 2^53, and amounts stay below 10^14); ``amount`` is the exact decimal text."""
    from openpyxl import Workbook

    lines = view.line_count()
    if lines > XLSX_MAX_LINES:
        raise InvalidInput(f"{lines:,} lines do not fit a worksheet (at most {XLSX_MAX_LINES:,}); export csv, or one holder's xlsx")
    wb = Workbook(write_only=True)

    def sheet(title: str, header: list[str], rows: Iterable[list[object]]) -> None:
        ws = wb.create_sheet(title)
        ws.append(header)
        for row in rows:
            ws.append(row)

    sheet("Summary", ["field", "value"], [list(r) for r in view.summary()])
    sheet(
        "Entries", ["index", "account", "payout", "amount_minor", "amount", "currency", "earned_minor", "withheld_minor", "released_minor", "recouped_minor"],
        [[e["index"], e["account"], e["payout"], e["amount"], view.major(int(e["amount"])), view.currency, view.earned(e), int(e.get("withheld", 0)),
          int(e.get("released", 0)), int(e.get("recouped", 0))] for e in view.entries],
    )  # fmt: skip
    sheet("Accounts", ["account", *(c.replace(" ", "_").replace("(", "").replace(")", "") + "_minor" for c in ACCOUNT_COLUMNS)],
          [[a.account, *a.row()] for a in view.accounts()])  # fmt: skip
    sheet("Lines", LINE_HEADER, _line_rows(view))
    sheet(
        "Reports", ["platform", "report_id", "lines", "revenue_minor", "platform_amount_minor", "batch_hash", "anchor_tx", "reversal"],
        [[r["platform"], r["reportId"], r["lines"], r["revenue"], r["platformAmount"], r["batchHash"], r["anchorTx"], bool(r.get("reversal"))]
         for r in view.doc["reports"]],
    )  # fmt: skip
    sheet(
        "Balances", ["account", "brought_forward_minor", "carried_forward_minor"],
        [[b["account"], b["broughtForward"], b["carriedForward"]] for b in view.balances],
    )  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    return iter([out.getvalue()])


def to_pdf(view: StatementView) -> Iterator[bytes]:
    rows = view.line_count() if view.account else len(view.entries)
    if rows > PDF_MAX_ROWS:
        raise InvalidInput(f"{rows:,} rows are too many for a PDF (at most {PDF_MAX_ROWS:,}); export xlsx or csv, or one holder's PDF")
    doc = Document(f"Royalty statement {view.statement_id}")
    doc.heading(f"Royalty statement, {view.currency}" + (" - holder extract" if view.account else ""))
    doc.facts(view.summary(), label_width=60)
    doc.table(
        "Entries (claimable with their Merkle proofs)", ("index", "account", "payout", f"earned ({view.currency})", f"amount ({view.currency})"),
        (12, 74, 74, 32, 32), [(str(e["index"]), e["account"], e["payout"], view.major(view.earned(e)), view.major(int(e["amount"]))) for e in view.entries],
        {0, 3, 4},
    )  # fmt: skip
    moved = [a for a in view.accounts() if any((a.opening, a.advances, a.withheld, a.released, a.recouped, a.closing, a.reserve_held))]
    if moved:
        doc.table(
            "Balances, advances and reserves: how each amount follows from what was earned", ("account", *ACCOUNT_COLUMNS[:2], "earned", "withheld",
            "released", "recouped", "paid", "closing owed"), (62, 18, 16, 18, 16, 16, 16, 18, 18),
            [(a.account, *(view.major(x) for x in a.row()[:8])) for a in moved], set(range(1, 9)),
        )  # fmt: skip
    by_work = view.by_work()
    if by_work:
        doc.bar_chart(
            "Earnings by work in this statement" + (" (the holder's)" if view.account else " (largest 20)"),
            [(view.work_label(w), amount, f"{view.major(amount)} {view.currency}") for w, amount in by_work[:20]],
        )  # fmt: skip
    if view.months:
        doc.bar_chart("Earnings by month (the holder's statements in this currency, up to this one)",
                      [(month, amount, f"{view.major(amount)} {view.currency}") for month, amount in view.months])  # fmt: skip
    if view.account:
        doc.table(
            "Lines: where each amount comes from", ("work", "platform", "usage report", f"amount ({view.currency})", "report anchored in transaction"),
            (54, 62, 30, 26, 102),
            [(view.work_label(x.work_id), x.platform, x.report_id + (" (reversed)" if x.reversal else ""), view.major(x.amount), x.anchor_tx)
             for x in view.lines],
            {3},
        )  # fmt: skip
    else:
        doc.table(
            "Usage reports", ("platform", "report", "lines", f"revenue ({view.currency})", "anchored in transaction"), (72, 36, 16, 30, 112),
            [(r["platform"], r["reportId"], str(r["lines"]), view.major(int(r["revenue"])), r["anchorTx"]) for r in view.doc["reports"]], {2, 3},
        )  # fmt: skip
    doc.note(
        "Verify this statement without trusting its issuer: fetch the document by its CID (or GET /statements/<id>/document), check "
        "that its SHA-256 is the statement id, and run `ledger statements verify <document>` against any RPC endpoint of the chain."
    )
    return iter([doc.output()])


#: format -> (writer, media type, file extension). A writer checks what it can before its first
#: chunk (an error then is a 4xx); CSV is streamed, the others are built whole.
FORMATS: dict[str, tuple[Callable[[StatementView], Iterator[bytes]], str, str]] = {
    "csv": (to_csv, "text/csv", "csv"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": (to_pdf, "application/pdf", "pdf"),
}


def render(fmt: str, view: StatementView) -> Iterator[bytes]:
    """The file in chunks; refusals (too many rows for the format) are raised here, before any chunk."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r} is not one of {sorted(FORMATS)} (the JSON document is GET /statements/<id>/document)")
    chunks = FORMATS[fmt][0](view)
    first = next(chunks, b"")
    return chain([first], chunks)
