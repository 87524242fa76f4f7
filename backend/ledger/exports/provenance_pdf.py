"""A provenance certificate as a PDF a studio can hand out: the verdict first, then every claim
with what proves it, and how to check the JSON certificate it renders (whose SHA-256 it prints)."""

from typing import Any

from ledger.exports.fonts import latin1, unicode_font

MAX_ROWS = 2_000  # records listed; the JSON certificate always holds all of them


def certificate_pdf(cert: dict[str, Any], sha256: str) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="L", format="A4")
    work = cert["work"]
    pdf.set_title(f"Provenance certificate, work {work['workId']}")
    pdf.set_auto_page_break(True, margin=12)
    font = unicode_font()
    if font is not None:  # one face for every style: CJK fonts ship no bold or italic
        for style in ("", "B", "I"):
            pdf.add_font("Text", style, str(font))
    family = "Text" if font is not None else "Helvetica"
    text = (lambda t: t) if font is not None else latin1
    v = cert["verdict"]
    records = cert["records"]
    ai_files = [f for f in cert["files"] if f["aiGenerated"]]
    pdf.add_page()
    pdf.set_font(family, "B", 14)
    pdf.cell(0, 9, f"Provenance certificate: work {work['workId']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, "B", 11)
    pdf.set_text_color(23, 114, 58) if v["safeAiUse"] else pdf.set_text_color(179, 38, 30)
    pdf.cell(0, 7, f"Safe AI use: {'yes' if v['safeAiUse'] else 'no'}.   Complete: {'yes' if v['complete'] else 'no'}.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(family, size=8)
    summary = [
        ("work content hash", work["contentHash"]),
        ("chain", str(cert["chainId"])),
        *((f"{name} contract", address) for name, address in cert["contracts"].items()),
        ("files in the production graph", f"{len(cert['files']):,} ({len(ai_files):,} AI-generated, {len(v['unrecorded']):,} without a record)"),
        ("production records", f"{len(records):,}, in {len({r['batchId'] for r in records.values()}):,} batches anchored on chain"),
        ("JSON certificate SHA-256", sha256),
    ]
    for label, value in summary:
        pdf.cell(62, 4.5, label)
        pdf.cell(0, 4.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    def table(heading: str, header: tuple[str, ...], widths: tuple[int, ...], body: list[tuple[str, ...]]) -> None:
        pdf.set_font(family, "B", 10)
        pdf.cell(0, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(family, size=7)
        if not body:
            pdf.cell(0, 5, "none", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            with pdf.table(col_widths=widths, line_height=4) as t:
                t.row(header)
                for r in body:
                    t.row(tuple(text(c) for c in r))
        pdf.ln(3)

    table("AI-generated files that fail", ("file (SHA-256)", "model", "why"), (110, 20, 147),
          [(f["contentHash"], str(f["modelId"]), f["reason"]) for f in v["failures"]])  # fmt: skip
    table("Models of the AI-generated files", ("model", "registered", "clean-model audit", "name", "training-set root"), (20, 24, 32, 50, 151),
          [(m, "yes" if x["registered"] else "no", "passes" if x["clean"] else "fails", str(x.get("name", "")), str(x.get("trainingRoot", "")))
           for m, x in cert["models"].items()])  # fmt: skip
    table("Files with no record", ("file (SHA-256)",), (277,), [(h,) for h in v["unrecorded"]])
    table("Authors (proposed co-owner shares, by their records)", ("account", "records", "proposed share (bps)"), (140, 40, 97),
          [(a["account"], str(a["records"]), str(a["proposedShareBps"])) for a in cert["authors"]])  # fmt: skip
    listed = sorted(records.items(), key=lambda kv: (kv[1]["createdAt"], kv[0]))[:MAX_ROWS]
    table(
        f"Production records ({len(listed):,} of {len(records):,}; the JSON certificate holds every one with its Merkle proof)",
        ("record", "action", "file", "tool", "model", "device", "batch"), (48, 16, 48, 40, 14, 84, 27),
        [(h[:18] + "...", r["action"], r["contentHash"][:18] + "...", f"{r['tool']} {r['toolVersion']}".strip(), str(r["modelId"] or ""),
          r["device"], str(r["batchId"])) for h, r in listed],
    )  # fmt: skip
    pdf.set_font(family, "I", 7)
    pdf.multi_cell(
        0, 4,
        "Verify this certificate without trusting its issuer: get the JSON certificate (GET /works/<id>/provenance/certificate), check "
        "that its SHA-256 is the one printed above, and run `ledger works verify-provenance <certificate> --rpc-url <any RPC of the chain> "
        "--blocks <content store> (or --ipfs <node>)`: every record's signature and Merkle proof, the devices' enrolments, the models' "
        "registrations and clean-model audits, and this verdict are checked against the chain.",
    )  # fmt: skip
    return bytes(pdf.output())
