"""Corrections of lines a statement already paid: the period's adjustment reverses them, a holder
left owing is paid nothing and carries the balance into the next statement in the currency,
which deducts it; every document verifies and recomputes from the chain, and a database rebuilt
from the chain knows the balances."""

import csv
import io
import json
from pathlib import Path

import httpx
from eth_account import Account
from pypdf import PdfReader
from sqlmodel import Session, select
from typer.testing import CliRunner

from ledger.cli.main import app

from ledger.models import Role, Statement, StatementBalance
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from ledger.services.statement_verifier import recompute_statement, verify_statement
from ledger.content.canonical import canonical
from tests.conftest import Server, client_for, rebuilt_from_chain
from tests.factories import _fresh, _platform_with_outputs, _upload, _work

SEPTEMBER = {"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "JPY"}
OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}


def _report(report_id: str, platform: str, period: dict[str, str], lines: list[tuple[str, int, str]], currency: str = "JPY") -> bytes:
    """A usage file whose lines are (output hash, revenue, line id it replaces or "")."""
    rows = [f"HEAD,{report_id},{platform},{period['period_start']},{period['period_end']},{currency}"]
    rows += [f"LINE,{report_id}-{i},{h},ref,generation,subscription,JP,1,{revenue},{replaces}" for i, (h, revenue, replaces) in enumerate(lines)]
    rows.append(f"FOOT,{len(lines)},{sum(r for _, r, _ in lines)}")
    return ("\n".join(rows) + "\n").encode()


def _doc(client: httpx.Client, statement_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads(client.get(f"/statements/{statement_id}/document").content)


def _all_ok(checks: list) -> bool:  # type: ignore[type-arg]
    return bool(checks) and all(c.ok for c in checks)


def test_a_paid_line_corrected_down_is_reversed_and_the_shortfall_carried_forward(
    ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path
) -> None:
    a_acc, b_acc = Account.create().address, Account.create().address
    a = _work(holder, 0xD001, 0, [{"account": a_acc, "share_bps": 10_000}])
    b = _work(holder, 0xD002, 0, [{"account": b_acc, "share_bps": 10_000}])
    platform, address, (h1, h2) = _platform_with_outputs(ledger, server, [[(a, 10_000)], [(b, 10_000)]], 0xD100)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)

    sep_a = _report("SEP-A", address, SEPTEMBER, [(h1, 10_000, ""), (h2, 1_000, "")])
    assert _upload(platform, sep_a).status_code == 201
    sep = accountant.post("/statements", json=SEPTEMBER).json()
    assert {e["account"]: e["amount"] for e in _doc(accountant, sep["statement_id"])["entries"]} == {a_acc: 7_000, b_acc: 700}

    # The platform refunds most of h1's sale and finds h2 under-reported, after September was paid.
    sep_fix = _report("SEP-FIX", address, SEPTEMBER, [(h1, 4_000, "SEP-A-0"), (h2, 2_000, "SEP-A-1")])
    assert _upload(platform, sep_fix).status_code == 201, "a paid line can be corrected"
    refused = {
        "already replaced": _report("SEP-FIX2", address, SEPTEMBER, [(h1, 1, "SEP-A-0")]),
        "same currency": _report("SEP-USD", address, SEPTEMBER, [(h1, 1, "SEP-FIX-0")], currency="USD"),
        "must contain it": _report("OCT-FIX", address, OCTOBER, [(h1, 1, "SEP-FIX-0")]),
    }
    for message, body in refused.items():
        resp = _upload(platform, body)
        assert resp.status_code == 422 and message in resp.json()["detail"] and "line 2" in resp.json()["detail"], resp.text

    adjusted = accountant.post("/statements", json=SEPTEMBER)
    assert adjusted.status_code == 201, adjusted.text
    adj = adjusted.json()
    # Reversed: 11,000 of paid revenue (7,000 + 700 to holders); counted: 6,000 (2,800 + 1,400).
    assert (adj["revenue"], adj["holders_total"], adj["platform_total"]) == (6_000 - 11_000, 2_800 + 1_400 - 7_700, 1_800 - 3_300)
    assert adj["payable_total"] == 700 and adj["sequence"] == 1
    doc = _doc(accountant, adj["statement_id"])
    assert [(r["reportId"], r["reversal"], r["revenue"], r["lines"]) for r in doc["reports"]] == [("SEP-FIX", False, 6_000, 2), ("SEP-A", True, -11_000, 2)]
    entries = {e["account"]: (e["earned"], e["amount"]) for e in doc["entries"]}
    assert entries == {a_acc: (2_800 - 7_000, 0), b_acc: (1_400 - 700, 700)}
    assert doc["balances"] == [{"account": a_acc, "broughtForward": 0, "advances": 0, "carriedForward": 4_200}] and doc["balancesFrom"] == sep["statement_id"]
    assert sorted(line[3] for line in doc["lines"]) == [-7_000, -700, 1_400, 2_800]  # each traced to its report, reversals negative
    exported = list(csv.reader(io.StringIO(accountant.get(f"/statements/{adj['statement_id']}/export", params={"format": "csv"}).text)))
    assert sorted((int(r[3]), r[7], r[10]) for r in exported[1:]) == [(-7_000, "SEP-A", "reversal"), (-700, "SEP-A", "reversal"), (1_400, "SEP-FIX", "usage"), (2_800, "SEP-FIX", "usage")]
    pdf = accountant.get(f"/statements/{adj['statement_id']}/export", params={"format": "pdf", "account": a_acc})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).replace("\n", " ")
    assert "holder earned -4200 JPY" in text and "balance carried forward (owed) 4200 JPY" in text and "holder total 0 JPY" in text, text
    assert "SEP-A (reversed)" in text
    a_entry = next(e for e in doc["entries"] if e["account"] == a_acc)
    assert holder.post(f"/statements/{adj['statement_id']}/claims", json={"account": a_acc}).status_code == 403  # not the holder's key
    nothing = accountant.post(f"/statements/{adj['statement_id']}/claims", json={"account": a_acc})
    assert nothing.status_code == 409 and "pay nothing" in nothing.json()["detail"]
    [owed] = accountant.get("/statements/balances", params={"account": a_acc.lower()}).json()
    assert (owed["currency"], owed["amount"], owed["statement_id"]) == ("JPY", 4_200, adj["statement_id"])
    listed = CliRunner().invoke(app, ["statements", "balances", "--api-url", server.url, "--api-key", create_api_key(ledger, Role.admin, "ops").token])
    assert listed.exit_code == 0 and "4,200" in listed.output and a_acc[:10] in listed.output, listed.output
    [proof] = accountant.get(f"/statements/{adj['statement_id']}/entries/{a_acc}").json()
    assert (proof["earned"], proof["amount"], proof["index"]) == (-4_200, 0, a_entry["index"])
    assert accountant.post(f"/statements/{adj['statement_id']}/claims", json={"account": b_acc}).status_code == 200

    # October: a earns 7,000 and first repays the 4,200 it owes.
    assert _upload(platform, _report("OCT-A", address, OCTOBER, [(h1, 10_000, "")])).status_code == 201
    octo = accountant.post("/statements", json=OCTOBER).json()
    oct_doc = _doc(accountant, octo["statement_id"])
    assert [(e["account"], e["earned"], e["amount"]) for e in oct_doc["entries"]] == [(a_acc, 7_000, 2_800)]
    assert oct_doc["balances"] == [{"account": a_acc, "broughtForward": 4_200, "advances": 0, "carriedForward": 0}]
    assert oct_doc["balancesFrom"] == adj["statement_id"] and octo["payable_total"] == 2_800 and octo["holders_total"] == 7_000
    book = ledger.distributor.functions.statementOf(bytes.fromhex(octo["statement_id"][2:])).call()[3]
    assert [e["cumulative"] for e in oct_doc["entries"]] == [7_000 + 0 + 2_800]  # September paid a 7,000, the adjustment nothing
    assert book == ledger.distributor.functions.bookOf("JPY", "0x" + "00" * 20).call()

    # Anyone verifies each document against the chain, and recomputes the reversal from the files.
    for d in (doc, oct_doc):
        checks = verify_statement(ledger.w3, canonical(d))
        assert _all_ok(checks), [c for c in checks if not c.ok]
        assert {"balances settle", "balances brought forward"} <= {c.name for c in checks}
    adj_raw = canonical(doc)
    checks = verify_statement(ledger.w3, canonical(oct_doc), previous=adj_raw)
    assert _all_ok(checks) and any(c.name == "balances brought forward" and "as it carried them" in c.detail for c in checks)
    unowed = {**oct_doc, "balances": []}  # pays 2,800 of 7,000 with no balance to explain it
    assert "balances settle" in {c.name for c in verify_statement(ledger.w3, canonical(unowed)) if not c.ok}
    forgiven = {**oct_doc, "entries": [{**oct_doc["entries"][0], "amount": 7_000, "recouped": 0}], "balances": [], "payableTotal": 7_000}  # consistent, but not what was owed
    failed = {c.name for c in verify_statement(ledger.w3, canonical(forgiven), octo["statement_id"], previous=adj_raw) if not c.ok}
    # The leaves commit to cumulative amounts: this one's no longer follows from the statement before it.
    assert failed == {"document hash", "cumulative amounts", "published on chain", "balances brought forward"}
    assert "balances brought forward" in {c.name for c in verify_statement(ledger.w3, canonical({**oct_doc, "balancesFrom": sep["statement_id"]}), octo["statement_id"]) if not c.ok}
    files = {name: tmp_path / f"{name}.json" for name in ("sep", "adj", "oct")}
    for name, d in (("sep", _doc(accountant, sep["statement_id"])), ("adj", doc), ("oct", oct_doc)):
        files[name].write_bytes(canonical(d))
    rpc = ["--rpc-url", ledger.settings.rpc_url]
    api = ["--api-url", server.url, "--api-key", create_api_key(ledger, Role.accountant, "cli").token]
    none_owed = CliRunner().invoke(app, ["statements", "balances", "--currency", "JPY", *api])
    assert none_owed.exit_code == 0 and "no balance owed" in none_owed.output, none_owed.output  # October repaid it
    bad = CliRunner().invoke(app, ["statements", "balances", "--account", "nobody", *api])
    assert bad.exit_code != 0 and "not an Ethereum address" in bad.output, bad.output
    good = CliRunner().invoke(app, ["statements", "verify", str(files["oct"]), "--previous", str(files["adj"]), *rpc])
    assert good.exit_code == 0 and "verified" in good.output, good.output
    wrong = CliRunner().invoke(app, ["statements", "verify", str(files["oct"]), "--previous", str(files["sep"]), *rpc])
    assert wrong.exit_code == 1 and "does not verify" in wrong.output, wrong.output
    usage = tmp_path / "usage"
    usage.mkdir()
    (usage / "1-fix.csv").write_bytes(sep_fix)  # named to sort before the report it corrects
    (usage / "2-sep-a.csv").write_bytes(sep_a)
    checks = recompute_statement(ledger.w3, canonical(doc), sorted(usage.glob("*.csv")), _fresh(tmp_path, "re"))
    assert _all_ok(checks) and checks[-1].name == "amounts recomputed", [c for c in checks if not c.ok]
    unreversed = {**doc, "reports": [doc["reports"][0], {**doc["reports"][1], "platformShareBps": 2_000}]}
    failed = [c.name for c in recompute_statement(ledger.w3, canonical(unreversed), sorted(usage.glob("*.csv")), _fresh(tmp_path, "re2")) if not c.ok]
    assert failed == ["amounts recomputed"]

    # A database rebuilt from the chain (and the documents) knows who owes what.
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "rebuilt", blocks=True)
    try:
        def balances(led: Ledger) -> list[tuple[str, str, int, int]]:
            with Session(led.engine) as s:
                return [
                    (sid, b.account, b.brought_forward, b.carried_forward)
                    for b, sid in s.exec(select(StatementBalance, Statement.statement_id).join(Statement).order_by(Statement.id))
                ]

        assert balances(rebuilt) == balances(ledger) == [
            (adj["statement_id"], a_acc, 0, 4_200), (octo["statement_id"], a_acc, 4_200, 0),
        ]  # fmt: skip
        with Session(rebuilt.engine) as s:
            restored = {r.statement_id: (r.holders_total, r.payable_total) for r in s.exec(select(Statement))}
        assert restored[adj["statement_id"]] == (-3_500, 700) and restored[octo["statement_id"]] == (7_000, 2_800)
    finally:
        rebuilt.engine.dispose()
