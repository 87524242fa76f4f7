"""Period close end to end: a statement per currency, traced to usage reports and their anchor
transactions, published on chain, verifiable from its document alone, and claimable."""

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlmodel import select
from web3.logs import DISCARD

from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree, process_proof
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from ledger.services import claims, statement_reads, statements
from ledger.services.statement_verifier import recompute_statement, verify_statement
from ledger.content.canonical import canonical
from tests.conftest import Server, client_for, operation_outcome, rebuilt_from_chain, sign_typed
from tests.factories import _csv, _fresh, _platform_with_outputs, _upload, _work  # noqa: F401

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}


def test_a_closed_period_is_published_traced_and_claimable(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path) -> None:
    a_acc, b_acc, a_pay = (Account.create().address for _ in range(3))
    a = _work(holder, 0xC001, 1000, [{"account": a_acc, "payout": a_pay, "share_bps": 6667}, {"account": b_acc, "share_bps": 3333}])
    b = _work(holder, 0xC002, 0, [])
    manager = holder.get(f"/works/{b}").json()["manager"]
    platform, address, (h1, h2) = _platform_with_outputs(ledger, server, [[(a, 5000), (b, 5000)], [(a, 10_000)]], 0xC100)
    first = _csv("OCT-A", address, "2026-10-01", "2026-10-15", "JPY", [(h1, 10_001), (h2, 333)])
    second = _csv("OCT-B", address, "2026-10-16", "2026-10-31", "JPY", [(h1, 7_777)])
    assert _upload(platform, first).status_code == 201 and _upload(platform, second).status_code == 201
    across = _csv("USD-X", address, "2026-09-25", "2026-10-05", "USD", [(h2, 500)])
    assert _upload(platform, across).status_code == 201

    acct_key = create_api_key(ledger, Role.accountant, "acct")
    accountant = client_for(server, acct_key.token)
    assert platform.post("/statements", json=OCTOBER).status_code == 403
    assert accountant.post("/statements", json={**OCTOBER, "period_start": "2026-09-01", "period_end": "2026-09-20"}).status_code == 422
    unended = accountant.post("/statements", json={**OCTOBER, "period_end": "2099-12-31"})
    assert unended.status_code == 422 and "not ended" in unended.json()["detail"]
    assert accountant.post("/statements", json={**OCTOBER, "currency": "XAU"}).status_code == 422
    edge = accountant.post("/statements", json={**OCTOBER, "currency": "USD"})
    assert edge.status_code == 409 and "USD-X" in edge.json()["detail"]

    closed = accountant.post("/statements", json=OCTOBER)
    assert closed.status_code == 201, closed.text
    st = closed.json()
    runs = {r["currency"]: r for r in accountant.get("/royalties", params={"period_start": "2026-10-01", "period_end": "2026-10-31"}).json()}
    assert st["revenue"] == 10_001 + 333 + 7_777 == runs["JPY"]["revenue"]
    assert st["holders_total"] == runs["JPY"]["holders_total"] and st["holders_total"] + st["platform_total"] == st["revenue"]
    assert st["report_count"] == 2 and st["publish_tx"] and st["period_end"] == "2026-10-31"

    # The document is the statement: its hash is the id, it is in the content store under the
    # CID, and everything in it adds up and rebuilds the root published on chain.
    raw = accountant.get(f"/statements/{st['statement_id']}/document").content
    assert "0x" + hashlib.sha256(raw).hexdigest() == st["statement_id"]
    assert ledger.store.get(st["document_cid"]) == raw
    doc = json.loads(raw)
    entries = [(e["index"], e["account"], e["payout"], e["amount"]) for e in doc["entries"]]
    assert {(acc, pay): amount for _, acc, pay, amount in entries} == {(p["account"], p["payout"]): p["amount"] for p in runs["JPY"]["payees"]}
    leaves = [(e["account"], e["payout"], e["cumulative"], bytes.fromhex(e["salt"][2:])) for e in doc["entries"]]
    assert [e["cumulative"] for e in doc["entries"]] == [e["amount"] for e in doc["entries"]]  # the book's first statement
    assert len({e["salt"] for e in doc["entries"]}) == len(entries)  # a secret salt per leaf
    tree = StandardMerkleTree.of(leaves, STATEMENT_LEAF_TYPES)
    assert "0x" + tree.root.hex() == doc["root"] == st["root"]
    for index, _, _, amount in entries:  # every entry is the sum of its traced lines [entry, work, report, amount]
        assert amount == sum(line[3] for line in doc["lines"] if line[0] == index)
    assert {line[1] for line in doc["lines"]} == {a, b} and len(doc["lines"]) == st["line_count"]
    assert {r["platformShareBps"] for r in doc["reports"]} == {3000}  # the default share, recorded per report
    assert doc["contracts"]["RoyaltyDistributor"] == ledger.distributor.address == doc["distributor"]
    assert doc["contracts"]["OutputRegistry"] == ledger.outputs.address and doc["contractsFromBlock"] == ledger.deployment.start_block
    assert doc["lines"] == sorted(doc["lines"])  # ordered by entry, work, report
    for report in doc["reports"]:  # each report is anchored on chain by the transaction the statement names
        receipt = ledger.w3.eth.get_transaction_receipt(report["anchorTx"])
        [anchored] = ledger.usage_anchor.events.UsageAnchored().process_receipt(receipt, errors=DISCARD)
        assert receipt["status"] == 1 and anchored["args"]["batchHash"].hex() == report["batchHash"][2:]
        assert anchored["args"]["platform"] == address == report["platform"]
    sid = bytes.fromhex(st["statement_id"][2:])
    root, token, scale, book = ledger.distributor.functions.statementOf(sid).call()
    assert book == ledger.distributor.functions.bookOf("JPY", "0x" + "00" * 20).call()
    assert "0x" + root.hex() == st["root"] and int(token, 16) == 0 and scale == 0
    assert ledger.distributor.functions.unclaimedOf(book).call() == st["holders_total"]
    [event] = ledger.distributor.events.StatementPublished().get_logs(argument_filters={"statementId": sid}, from_block=0)
    assert event["args"]["statement"]["documentCid"] == st["document_cid"] and event["transactionHash"].to_0x_hex() == st["publish_tx"]

    # Anyone can verify it from the document and the chain alone; a doctored one fails.
    checks = verify_statement(ledger.w3, raw)
    assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {c.name for c in checks} >= {"published on chain", "lines add up to entries", "report OCT-A anchored", "report OCT-B anchored"}
    doctored = json.loads(raw)
    doctored["lines"][0][3] += 1
    doctored["entries"][doctored["lines"][0][0]]["amount"] += 1
    failed = {c.name for c in verify_statement(ledger.w3, canonical(doctored)) if not c.ok}
    assert "published on chain" in failed and failed & {"lines add up to entries", "entries add up", "entries rebuild the root"}
    assert {c.name for c in verify_statement(ledger.w3, canonical(doctored), st["statement_id"]) if not c.ok} >= {"document hash"}

    exported = list(csv.reader(io.StringIO(accountant.get(f"/statements/{st['statement_id']}/export", params={"format": "csv"}).text)))
    assert exported[0][:4] == ["account", "payout", "work_id", "amount_minor"] and len(exported) == st["line_count"] + 1
    assert sum(int(r[3]) for r in exported[1:]) == st["holders_total"] and all(r[4] == r[3] for r in exported[1:])  # JPY: no decimals
    assert {r[9] for r in exported[1:]} == {r["anchorTx"] for r in doc["reports"]}
    # Amounts are private: a holder's key reads no one else's entries, no document, no whole export.
    assert holder.get(f"/statements/{st['statement_id']}/document").status_code == 403
    assert holder.get(f"/statements/{st['statement_id']}/export", params={"format": "csv", "account": a_acc}).status_code == 403
    assert platform.get(f"/statements/{st['statement_id']}/export", params={"format": "xlsx"}).status_code in (403, 404)
    assert holder.get("/statements/balances", params={"account": a_acc}).status_code == 403
    auditor = client_for(server, create_api_key(ledger, Role.auditor, "audit").token)
    assert auditor.get(f"/statements/{st['statement_id']}/document").content == raw
    assert auditor.post("/statements", json=OCTOBER).status_code == 403  # reads, never writes
    _check_spreadsheet_and_pdf(auditor, st, doc, a_acc)

    # A statement never changes; usage reported for its period afterwards is paid by an adjustment.
    again = accountant.post("/statements", json=OCTOBER)
    assert again.status_code == 200 and again.json()["statement_id"] == st["statement_id"]
    overlap = accountant.post("/statements", json={**OCTOBER, "period_start": "2026-10-20", "period_end": "2026-11-02"})
    assert overlap.status_code == 409 and overlap.json()["statement_id"] == st["statement_id"]
    assert _upload(platform, first).status_code == 200  # the same report again: nothing changed
    across_edge = _upload(platform, _csv("OCT-NOV", address, "2026-10-30", "2026-11-02", "JPY", [(h2, 5)]))
    assert across_edge.status_code == 409 and "across that edge" in across_edge.json()["detail"]
    late = _upload(platform, _csv("OCT-LATE", address, "2026-10-20", "2026-10-20", "JPY", [(h2, 5)]))
    assert late.status_code == 201, late.text
    adjusted = accountant.post("/statements", json=OCTOBER)
    assert adjusted.status_code == 201, adjusted.text
    adj = adjusted.json()
    assert adj["sequence"] == 1 and adj["report_count"] == 1 and adj["revenue"] == 5 and adj["holders_total"] + adj["platform_total"] == 5
    adj_doc = json.loads(accountant.get(f"/statements/{adj['statement_id']}/document").content)
    assert adj_doc["adjusts"] == [st["statement_id"]] and [r["reportId"] for r in adj_doc["reports"]] == ["OCT-LATE"]
    adj_checks = verify_statement(ledger.w3, canonical(adj_doc))
    assert all(c.ok for c in adj_checks) and any(c.name == "adjusted statements" and "adjusts 1" in c.detail for c in adj_checks)
    forged_chain = {**adj_doc, "adjusts": ["0x" + "ab" * 32]}
    assert "adjusted statements" in {c.name for c in verify_statement(ledger.w3, canonical(forged_chain)) if not c.ok}
    assert accountant.post("/statements", json=OCTOBER).json()["statement_id"] == adj["statement_id"]  # nothing new: the latest

    # With the usage files, anyone recomputes every amount from the chain's events alone.
    usage = tmp_path / "usage"
    usage.mkdir()
    for name, body in (("oct-a.csv", first), ("oct-b.csv", second), ("oct-late.csv", _csv("OCT-LATE", address, "2026-10-20", "2026-10-20", "JPY", [(h2, 5)]))):
        (usage / name).write_bytes(body)
    files = sorted(usage.glob("*.csv"))
    for n, statement_raw in enumerate((raw, canonical(adj_doc))):
        checks = recompute_statement(ledger.w3, statement_raw, files, _fresh(tmp_path, f"re{n}"))
        assert all(c.ok for c in checks) and checks[-1].name == "amounts recomputed", [c for c in checks if not c.ok]
    other_share = json.loads(raw)
    other_share["reports"][0]["platformShareBps"] = 2000
    assert {c.name for c in verify_statement(ledger.w3, canonical(other_share), st["statement_id"]) if not c.ok} == {"document hash", "platform shares on chain"}
    failed = [c.name for c in recompute_statement(ledger.w3, canonical(other_share), files, _fresh(tmp_path, "re-x")) if not c.ok]
    assert failed == ["amounts recomputed"]
    missing = [c.name for c in recompute_statement(ledger.w3, raw, files[1:], _fresh(tmp_path, "re-y")) if not c.ok]
    assert missing == ["report OCT-A file"]
    assert [s["statement_id"] for s in holder.get("/statements").json()] == [st["statement_id"], adj["statement_id"]]
    # Platforms see which statement paid each of their reports.
    statuses = {r["report_id"]: (r["status"], r["statement_id"]) for r in platform.get("/usage/reports").json()}
    assert statuses == {"OCT-A": ("paid", st["statement_id"]), "OCT-B": ("paid", st["statement_id"]),
                        "OCT-LATE": ("paid", adj["statement_id"]), "USD-X": ("anchored", None)}  # fmt: skip
    assert len(accountant.get("/usage/reports", params={"platform": address, "currency": "JPY"}).json()) == 3
    assert holder.get("/usage/reports").status_code == 403
    other_platform = client_for(server, create_api_key(ledger, Role.platform, "other").token)
    assert other_platform.get("/usage/reports", params={"platform": address}).status_code == 403
    assert other_platform.get("/usage/reports").json() == []

    # Holders prove and claim their entries.
    assert holder.get(f"/statements/{st['statement_id']}/entries/{a_acc.lower()}").status_code == 403  # a_acc's, not the key's
    [mine] = accountant.get(f"/statements/{st['statement_id']}/entries/{a_acc.lower()}").json()
    assert mine["payout"] == a_pay and mine["claimed_tx"] is None
    assert mine["cumulative"] == mine["amount"] and len(mine["salt"]) == 66
    leaf = tree.leaf((a_acc, a_pay, mine["cumulative"], bytes.fromhex(mine["salt"][2:])))
    assert process_proof(leaf, [bytes.fromhex(p[2:]) for p in mine["proof"]]) == tree.root
    assert accountant.get(f"/statements/{st['statement_id']}/entries/{Account.create().address}").status_code == 404
    assert holder.post(f"/statements/{st['statement_id']}/claims", json={"account": a_acc}).status_code == 403  # not the key's account
    unclaimed = ledger.distributor.functions.unclaimedOf(book).call()  # this statement's and its adjustment's
    claimed = accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": a_acc})
    assert claimed.status_code == 200, claimed.text
    [done] = claimed.json()
    assert done["claimed_tx"] and ledger.distributor.functions.claimedOf(book, a_acc, a_pay).call() == mine["cumulative"]
    assert ledger.distributor.functions.unclaimedOf(book).call() == unclaimed - mine["amount"]
    assert accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": a_acc}).status_code == 409
    own = holder.post(f"/statements/{st['statement_id']}/claims", json={"account": manager})  # the holder's own entry
    assert own.status_code == 200 and own.json()[0]["claimed_tx"]
    progress = accountant.get(f"/statements/{st['statement_id']}").json()
    assert progress["claimed_entries"] == 2 and progress["claimed_amount"] == mine["amount"] + own.json()[0]["amount"]
    assert holder.get("/statements", params={"account": a_acc}).status_code == 403  # another account's amounts
    owed = accountant.get("/statements", params={"account": a_acc}).json()  # a holder's view across statements
    assert [(s["statement_id"], s["holder_amount"]) for s in owed] == [
        (st["statement_id"], mine["amount"]), (adj["statement_id"], sum(e["amount"] for e in adj_doc["entries"] if e["account"] == a_acc))
    ]
    assert accountant.get("/statements", params={"account": Account.create().address}).json() == []
    assert holder.get("/statements", params={"account": "0x12"}).status_code == 422
    assert [s["statement_id"] for s in holder.get("/statements", params={"account": manager}).json()] == [st["statement_id"]]  # its own

    # A database rebuilt from the chain (with the content store) has the statement back, from the
    # document behind the event's CID, and its claims.
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "rebuild", blocks=True)
    restored = statement_reads.list_statements(rebuilt)
    assert [r.model_dump(exclude={"id", "closed_by_key", "closed_at"}) for r in restored] == [
        r.model_dump(exclude={"id", "closed_by_key", "closed_at"}) for r in statement_reads.list_statements(ledger)
    ]
    assert {r.closed_by_key for r in restored} == {0} and [r.sequence for r in restored] == [0, 1]
    for acc in (a_acc, b_acc, manager):
        assert claims.entries_of(rebuilt, st["statement_id"], acc) == claims.entries_of(ledger, st["statement_id"], acc)
    without_documents = rebuilt_from_chain(ledger, tmp_path / "bare")
    assert statement_reads.list_statements(without_documents) == []  # not guessed


def _check_spreadsheet_and_pdf(client: httpx.Client, st: dict[str, Any], doc: dict[str, Any], holder_account: str) -> None:
    """XLSX holds the same entries and lines as the document; a holder's PDF shows their entries,
    their lines with the anchoring transactions, and their total."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    base = f"/statements/{st['statement_id']}/export"
    xlsx = client.get(base, params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    lines = list(wb["Lines"].iter_rows(min_row=2, values_only=True))
    assert len(lines) == st["line_count"] and sum(int(r[3]) for r in lines) == st["holders_total"]  # type: ignore[arg-type]
    entries = [tuple(r[:4]) for r in wb["Entries"].iter_rows(min_row=2, values_only=True)]
    assert entries == [(e["index"], e["account"], e["payout"], e["amount"]) for e in doc["entries"]]
    assert ("statement id (SHA-256 of the document)", st["statement_id"]) in list(wb["Summary"].iter_rows(values_only=True))

    pdf = client.get(base, params={"format": "pdf", "account": holder_account.lower()})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).replace("\n", " ")
    mine = [e for e in doc["entries"] if e["account"] == holder_account]
    assert mine and f"{sum(e['amount'] for e in mine)} JPY" in text and holder_account in text
    for line in (x for x in doc["lines"] if doc["entries"][x[0]]["account"] == holder_account):
        assert doc["reports"][line[2]]["anchorTx"][:30] in text.replace(" ", "")
    assert client.get(base, params={"format": "docx"}).status_code == 422
    assert client.get(base, params={"format": "pdf", "account": "0x" + "ab" * 20}).status_code == 404
    assert client.get(base, params={"format": "csv", "account": "nobody"}).status_code == 422


def test_a_self_signing_accountant_signs_the_publication(
    ledger: Ledger, server: Server, holder: httpx.Client, wallet: LocalAccount
) -> None:
    work = _work(holder, 0xC003, 0, [])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC200)
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "EUR", [(h, 9_999)])).status_code == 201
    key = create_api_key(ledger, Role.accountant, "own wallet", address=wallet.address)
    assert not key.custodial
    accountant = client_for(server, key.token)
    period = {"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "EUR"}
    pending = accountant.post("/statements", json=period)
    assert pending.status_code == 202, pending.text
    st = pending.json()
    assert st["publish_tx"] == "" and st["typed_data"]["message"]["from"] == wallet.address
    owner = holder.get(f"/works/{work}").json()["manager"]
    assert accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": owner}).status_code == 409  # not published
    assert accountant.post("/statements", json=period).status_code == 202  # asked again: the same statement, to sign
    assert _upload(platform, _csv("OCT", address, "2026-10-01", "2026-10-31", "EUR", [(h, 5)])).status_code == 201
    blocked = accountant.post("/statements", json={**period, "period_start": "2026-10-01", "period_end": "2026-10-31"})
    assert blocked.status_code == 409 and "publish it first" in blocked.json()["detail"]  # balances carry from one statement to the next
    relayed = accountant.post("/relay", json={"message": st["typed_data"]["message"], "signature": sign_typed(wallet, st["typed_data"])})
    assert relayed.status_code == 201, relayed.text
    ledger.indexer.sync()
    published = accountant.get(f"/statements/{st['statement_id']}").json()
    assert published["publish_tx"] == relayed.json()["tx_hash"]
    assert ledger.distributor.functions.hasRole(keccak(text="ACCOUNTANT_ROLE"), wallet.address).call()
    assert accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": owner}).status_code == 200


def test_cli_closes_exports_and_claims(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ledger.cli.main import app

    work = _work(holder, 0xC004, 0, [])
    owner = holder.get(f"/works/{work}").json()["manager"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC300)
    report = _csv("AUG", address, "2026-08-01", "2026-08-31", "USD", [(h, 1_000)])
    assert _upload(platform, report).status_code == 201
    api = ["--api-url", server.url, "--api-key", create_api_key(ledger, Role.accountant, "acct").token]
    runner = CliRunner()
    closed = runner.invoke(app, ["statements", "close", "--from", "2026-08-01", "--to", "2026-08-31", "--currency", "USD", *api])
    assert closed.exit_code == 0 and "closed" in closed.output and "holders 700" in closed.output, closed.output
    [st] = holder.get("/statements").json()
    listed = runner.invoke(app, ["statements", "list", "--currency", "USD", *api])
    assert listed.exit_code == 0 and st["statement_id"] in listed.output and "off chain" in listed.output, listed.output
    doc, lines = tmp_path / "st.json", tmp_path / "st.csv"
    assert runner.invoke(app, ["statements", "export", st["statement_id"], "-o", str(doc), *api]).exit_code == 0
    assert "0x" + hashlib.sha256(doc.read_bytes()).hexdigest() == st["statement_id"]
    verified = runner.invoke(app, ["statements", "verify", str(doc), "--rpc-url", ledger.settings.rpc_url])
    assert verified.exit_code == 0 and "verified" in verified.output, verified.output
    usage = tmp_path / "usage"
    usage.mkdir()
    (usage / "aug.csv").write_bytes(report)
    recomputed = runner.invoke(app, ["statements", "verify", str(doc), "--usage", str(usage), "--rpc-url", ledger.settings.rpc_url])
    assert recomputed.exit_code == 0 and "amounts recomputed" in recomputed.output, recomputed.output
    (usage / "aug.csv").write_bytes(report.replace(b",1000\n", b",1001\n").replace(b"FOOT,1,1000", b"FOOT,1,1001"))
    changed = runner.invoke(app, ["statements", "verify", str(doc), "--usage", str(usage), "--rpc-url", ledger.settings.rpc_url])
    assert changed.exit_code == 1 and "FAILED" in changed.output, changed.output
    doc.write_bytes(doc.read_bytes().replace(b'"amount":700', b'"amount":701'))
    forged = runner.invoke(app, ["statements", "verify", str(doc), "--id", st["statement_id"], "--rpc-url", ledger.settings.rpc_url])
    assert forged.exit_code == 1 and "FAILED" in forged.output
    assert runner.invoke(app, ["statements", "export", st["statement_id"], "-o", str(lines), "--format", "csv", *api]).exit_code == 0
    assert lines.read_text().splitlines()[1].startswith(f"{owner},{owner},{work},700,7.00,USD,{address},AUG,")
    pdf = tmp_path / "owner.pdf"
    assert runner.invoke(app, ["statements", "export", st["statement_id"], "-o", str(pdf), "--format", "pdf", "--account", owner, *api]).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    claimed = runner.invoke(app, ["statements", "claim", st["statement_id"], owner, *api])
    assert claimed.exit_code == 0 and "700" in claimed.output, claimed.output
    again = runner.invoke(app, ["statements", "claim", st["statement_id"], owner, *api])
    assert again.exit_code == 1 and "409" in again.output
    overlap = runner.invoke(app, ["statements", "close", "--from", "2026-08-15", "--to", "2026-09-15", "--currency", "USD", *api])
    assert overlap.exit_code == 1 and "409" in overlap.output


def test_a_retry_after_a_crash_between_publication_and_commit_adopts_it(
    ledger: Ledger, server: Server, holder: httpx.Client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The publication is mined, then the process dies before the statement is committed: the
    retry computes the same document, hence the same id, and adopts the publication instead of
    failing (the contract refuses a second one) or leaving the period open."""
    from sqlmodel import Session

    from ledger.indexer import statements_projector
    from ledger.services.keys import authenticate

    work = _work(holder, 0xC005, 0, [])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC400)
    assert _upload(platform, _csv("JUL", address, "2026-07-01", "2026-07-31", "JPY", [(h, 4_321)])).status_code == 201
    with Session(ledger.engine) as s:
        key = authenticate(s, create_api_key(ledger, Role.accountant, "acct").token)
    assert key is not None
    publish = statements._publish
    mined: list[tuple[str, int]] = []

    def publish_then_crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        mined.append(publish(*args, **kwargs))
        raise SystemExit("killed after the publication was mined")

    monkeypatch.setattr(statements, "_publish", publish_then_crash)
    # The API's indexer would otherwise restore the statement from its document first (also right,
    # but then the retry would not exercise adoption).
    monkeypatch.setattr(statements_projector, "_restore", lambda *args: None)
    start, end = 1782864000, 1785542399  # 2026-07-01 00:00:00 .. 2026-07-31 23:59:59 UTC
    try:
        statements.close_period(ledger, key, start, end, "JPY")
    except SystemExit:
        pass
    assert mined and holder.get("/statements").json() == []  # on chain, not in the database
    monkeypatch.setattr(statements, "_publish", publish)
    result = statements.close_period(ledger, key, start, end, "JPY")
    assert result.created and result.statement.publish_tx == mined[0][0]
    assert [s["statement_id"] for s in holder.get("/statements").json()] == [result.statement.statement_id]


def test_a_statement_settled_in_a_token_pays_each_payout_address(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """Settlement in an ERC-20 (6 decimals, USD cents -> 10^4 units each): the accountant's account
    funds the whole statement at publication, and each claim pays its entry's payout address."""
    from ledger.chain.compiler import compile_contract

    a_acc, a_pay, b_acc = (Account.create().address for _ in range(3))
    work = _work(holder, 0xC006, 0, [{"account": a_acc, "payout": a_pay, "share_bps": 7500}, {"account": b_acc, "share_bps": 2500}])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC500)
    assert _upload(platform, _csv("JUN", address, "2026-06-01", "2026-06-30", "USD", [(h, 100_001)])).status_code == 201
    acct_key = create_api_key(ledger, Role.accountant, "treasury")
    accountant = client_for(server, acct_key.token)
    compiled = compile_contract("test/SettlementTokenForTests.sol")
    deploy = lambda owner: ledger.sender.deploy(compiled.abi, compiled.bytecode, owner)["contractAddress"]  # noqa: E731
    token = ledger.w3.eth.contract(address=deploy(acct_key.holder_address), abi=compiled.abi)
    someone_elses = deploy(Account.create().address)
    period = {"period_start": "2026-06-01", "period_end": "2026-06-30", "currency": "USD"}

    assert accountant.post("/statements", json={**period, "settlement_token": Account.create().address}).status_code == 422  # no contract
    poor = accountant.post("/statements", json={**period, "settlement_token": someone_elses})
    assert poor.status_code == 409 and "holds 0" in poor.json()["detail"]
    assert holder.get("/statements").json() == []  # nothing half-written

    before = token.functions.balanceOf(acct_key.holder_address).call()
    closed = accountant.post("/statements", json={**period, "settlement_token": token.address.lower()})
    assert closed.status_code == 201, closed.text
    st = closed.json()
    assert st["token"] == token.address and st["unit_scale"] == 10**4 and st["holders_total"] == 70_001
    assert token.functions.balanceOf(ledger.distributor.address).call() == 70_001 * 10**4
    assert token.functions.balanceOf(acct_key.holder_address).call() == before - 70_001 * 10**4
    raw = accountant.get(f"/statements/{st['statement_id']}/document").content
    assert json.loads(raw)["settlement"] == {"token": token.address, "decimals": 6, "unitScale": 10**4}
    assert all(c.ok for c in verify_statement(ledger.w3, raw))
    other = accountant.post("/statements", json={**period, "settlement_token": someone_elses})
    assert other.status_code == 409 and "closed with settlement" in other.json()["detail"]
    assert accountant.post("/statements", json={**period, "settlement_token": token.address}).status_code == 200

    [entry] = accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": a_acc}).json()
    assert entry["payout"] == a_pay and entry["amount"] == 52_501  # 75 % of 70,001, the odd unit to the larger share
    assert token.functions.balanceOf(a_pay).call() == 52_501 * 10**4 and token.functions.balanceOf(a_acc).call() == 0
    accountant.post(f"/statements/{st['statement_id']}/claims", json={"account": b_acc})
    assert token.functions.balanceOf(b_acc).call() == 17_500 * 10**4
    assert token.functions.balanceOf(ledger.distributor.address).call() == 0  # paid out exactly
    # The distributor holds a token for one book, so the token cannot settle another currency.
    yen = accountant.post("/statements", json={**period, "currency": "JPY", "settlement_token": token.address})
    assert yen.status_code == 422 and "stands for one currency" in yen.json()["detail"], yen.text


def test_an_accountant_key_from_before_statements_gets_an_account_on_first_close(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """Accountant keys issued before statements existed have no on-chain account: the first close
    gives them a custodial one with ACCOUNTANT_ROLE instead of refusing."""
    from sqlmodel import Session

    from ledger.models import ApiKey

    work = _work(holder, 0xC007, 0, [])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC600)
    assert _upload(platform, _csv("MAY", address, "2026-05-01", "2026-05-31", "JPY", [(h, 1000)])).status_code == 201
    issued = create_api_key(ledger, Role.accountant, "old")
    with Session(ledger.engine) as s:  # as such a key was stored then
        row = s.exec(select(ApiKey).where(ApiKey.holder_address == issued.holder_address)).one()
        row.holder_address, row.custodial = None, False
        s.commit()
    accountant = client_for(server, issued.token)
    closed = accountant.post("/statements", json={"period_start": "2026-05-01", "period_end": "2026-05-31", "currency": "JPY"})
    assert closed.status_code == 201, closed.text
    me = accountant.get("/keys/me").json()
    assert me["custodial"] and me["holder_address"] and me["holder_address"] != issued.holder_address
    assert ledger.distributor.functions.hasRole(keccak(text="ACCOUNTANT_ROLE"), me["holder_address"]).call()


def test_an_accountant_that_will_not_wait_gets_202_and_the_close_later(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """`Prefer: respond-async` on a close: 202 at once with a status URL; the operation then holds
    exactly what the synchronous close would have answered (201 and the statement), and a second
    close of the same period, asked the same way, holds the synchronous 200."""
    work = _work(holder, 0xC008, 0, [])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xC700)
    assert _upload(platform, _csv("APR", address, "2026-04-01", "2026-04-30", "JPY", [(h, 2_468)])).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "later").token)
    april = {"period_start": "2026-04-01", "period_end": "2026-04-30", "currency": "JPY"}

    resp = accountant.post("/statements", json=april, headers={"Prefer": "respond-async"})
    assert resp.status_code == 202 and resp.headers["preference-applied"] == "respond-async", resp.text
    op = operation_outcome(accountant, resp)
    assert op["kind"] == "close_period" and op["status"] == "done" and op["http_status"] == 201, op
    statement = op["result"]
    assert statement["revenue"] == 2_468 and statement["publish_tx"] and statement["period_start"] == "2026-04-01"
    assert accountant.get(f"/statements/{statement['statement_id']}").json() == statement
    again = operation_outcome(accountant, accountant.post("/statements", json=april, headers={"Prefer": "respond-async"}))
    assert again["http_status"] == 200 and again["result"] == statement
    assert accountant.post("/statements", json={**april, "period_end": "2026-04-31"}, headers={"Prefer": "respond-async"}).status_code == 422  # validated before accepting
    assert holder.get(resp.json()["status_url"]).status_code == 404  # only the key that asked reads it

    # The holder claims its entry the same way: the claim's answer is kept, and a second claim's 409.
    manager = holder.get(f"/works/{work}").json()["manager"]

    claim = holder.post(f"/statements/{statement['statement_id']}/claims", json={"account": manager}, headers={"Prefer": "respond-async"})
    claimed = operation_outcome(holder, claim)
    assert claimed["kind"] == "claim" and claimed["http_status"] == 200, claimed
    assert [(e["account"], e["amount"]) for e in claimed["result"]] == [(manager, statement["holders_total"])]
    again = holder.post("/claims", json={"account": manager}, headers={"Prefer": "respond-async"})
    assert operation_outcome(holder, again)["http_status"] == 409
