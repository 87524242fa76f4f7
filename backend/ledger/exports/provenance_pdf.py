"""A provenance certificate as a PDF a studio can hand out: the verdict first, then every claim
with what proves it, and how to check the JSON certificate it renders (whose SHA-256 it prints)."""

from typing import Any

from ledger.exports.pdf import Document

MAX_ROWS = 2_000  # records listed; the JSON certificate always holds all of them


def certificate_pdf(cert: dict[str, Any], sha256: str) -> bytes:
    work = cert["work"]
    doc = Document(f"Provenance certificate, work {work['workId']}")
    v = cert["verdict"]
    records = cert["records"]
    ai_files = [f for f in cert["files"] if f["aiGenerated"]]
    doc.heading(f"Provenance certificate: work {work['workId']}")
    doc.heading(f"Safe AI use: {'yes' if v['safeAiUse'] else 'no'}.   Complete: {'yes' if v['complete'] else 'no'}.", size=11,
                colour=(23, 114, 58) if v["safeAiUse"] else (179, 38, 30))  # fmt: skip
    doc.facts([
        ("work content hash", work["contentHash"]),
        ("chain", str(cert["chainId"])),
        *((f"{name} contract", address) for name, address in cert["contracts"].items()),
        ("files in the production graph", f"{len(cert['files']):,} ({len(ai_files):,} AI-generated, {len(v['unrecorded']):,} without a record)"),
        ("production records", f"{len(records):,}, in {len({r['batchId'] for r in records.values()}):,} batches anchored on chain"),
        ("JSON certificate SHA-256", sha256),
    ])  # fmt: skip
    doc.table("AI-generated files that fail", ("file (SHA-256)", "model", "why"), (110, 20, 147),
              [(f["contentHash"], str(f["modelId"]), f["reason"]) for f in v["failures"]])  # fmt: skip
    doc.table("Models of the AI-generated files", ("model", "registered", "clean-model audit", "name", "training-set root"), (20, 24, 32, 50, 151),
              [(m, "yes" if x["registered"] else "no", "passes" if x["clean"] else "fails", str(x.get("name", "")), str(x.get("trainingRoot", "")))
               for m, x in cert["models"].items()])  # fmt: skip
    doc.table("Files with no record", ("file (SHA-256)",), (277,), [(h,) for h in v["unrecorded"]])
    doc.table("Authors (proposed co-owner shares, by their records)", ("account", "records", "proposed share (bps)"), (140, 40, 97),
              [(a["account"], str(a["records"]), str(a["proposedShareBps"])) for a in cert["authors"]])  # fmt: skip
    listed = sorted(records.items(), key=lambda kv: (kv[1]["createdAt"], kv[0]))[:MAX_ROWS]
    doc.table(
        f"Production records ({len(listed):,} of {len(records):,}; the JSON certificate holds every one with its Merkle proof)",
        ("record", "action", "file", "tool", "model", "device", "batch"), (48, 16, 48, 40, 14, 84, 27),
        [(h[:18] + "...", r["action"], r["contentHash"][:18] + "...", f"{r['tool']} {r['toolVersion']}".strip(), str(r["modelId"] or ""),
          r["device"], str(r["batchId"])) for h, r in listed],
    )  # fmt: skip
    doc.note(
        "Verify this certificate without trusting its issuer: get the JSON certificate (GET /works/<id>/provenance/certificate), check "
        "that its SHA-256 is the one printed above, and run `ledger works verify-provenance <certificate> --rpc-url <any RPC of the chain> "
        "--blocks <content store> (or --ipfs <node>)`: every record's signature and Merkle proof, the devices' enrolments, the models' "
        "registrations and clean-model audits, and this verdict are checked against the chain."
    )
    return doc.output()
