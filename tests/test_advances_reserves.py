"""Advances and reserves end to end: an advance recorded on chain is recouped across periods, a
reserve withheld from each statement is released two statements later, and every statement
verifies from the chain and the statement before it."""

import io
import json
from pathlib import Path

import httpx
from eth_account import Account
from openpyxl import load_workbook
from pypdf import PdfReader

from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from ledger.services.statement_verifier import recompute_statement, verify_statement
from ledger.content.canonical import canonical
from tests.conftest import Server, client_for, operation_outcome
from tests.factories import _csv, _fresh, _platform_with_outputs, _upload, _work

MONTHS = [("AUG", "2026-08-01", "2026-08-31"), ("SEP", "2026-09-01", "2026-09-30"), ("OCT", "2026-10-01", "2026-10-31")]


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _failed(checks: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{c.name}: {c.detail}" for c in checks if not c.ok]


def test_an_advance_is_recouped_and_a_reserve_released_across_periods(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path) -> None:
    studio = Account.create().address
    work = _work(holder, 0xAD01, 0, [{"account": studio, "share_bps": 10_000}])
    platform, address, [output] = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xAD10)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    ledger.settings.reserve_bps, ledger.settings.reserve_release_after = 1000, 2  # 10 %, released two statements later

    # An advance of 10,000 yen: recorded once, whatever the retries; only an accountant records it.
    advance = {"account": studio, "currency": "JPY", "amount": 10_000, "note": "MG-2026-001"}
    assert holder.post("/advances", json=advance).status_code == 403
    first = accountant.post("/advances", json=advance)
    assert first.status_code == 201, first.text
    again = accountant.post("/advances", json=advance)
    assert again.status_code == 200 and again.json()["advance_id"] == first.json()["advance_id"]
    later = operation_outcome(accountant, accountant.post("/advances", json=advance, headers={"Prefer": "respond-async"}))
    assert later["kind"] == "record_advance" and later["http_status"] == 200 and later["result"] == again.json()  # not waiting: the same answer, kept
    changed = accountant.post("/advances", json={**advance, "amount": 9_000})
    assert changed.status_code == 409 and "already recorded as 10,000" in changed.json()["detail"]
    assert accountant.post("/advances", json={**advance, "currency": "XAU"}).status_code == 422
    assert [a["amount"] for a in accountant.get("/advances", params={"account": studio}).json()] == [10_000]
    assert holder.get("/advances").json() == []  # the holder's key sees its own account's only (the studio's is another)
    assert holder.get("/advances", params={"account": studio}).status_code == 403  # amounts are private, as everywhere
    assert holder.get("/advances", params={"account": "0x1234"}).status_code == 422  # not an address: said first, to anyone
    assert accountant.get("/advances", params={"account": "0x1234"}).status_code == 422

    revenue = {"AUG": 20_000, "SEP": 1_000, "OCT": 10}
    docs: list[bytes] = []
    for name, start, end in MONTHS:
        assert _upload(platform, _csv(name, address, start, end, "JPY", [(output, revenue[name])])).status_code == 201
        if name == "SEP":  # recorded after August's statement: September's counts it
            assert accountant.post("/advances", json={**advance, "amount": 500, "note": "MG-2026-002"}).status_code == 201
        closed = accountant.post("/statements", json={"period_start": start, "period_end": end, "currency": "JPY"})
        assert closed.status_code == 201, closed.text
        docs.append(accountant.get(f"/statements/{closed.json()['statement_id']}/document").content)
    aug, sep, oct_ = (json.loads(d) for d in docs)

    def entry(doc: dict) -> dict:  # type: ignore[type-arg]
        [e] = [e for e in doc["entries"] if e["account"] == studio]
        return e

    # August: earned 14,000 (30 % to the platform); 1,400 withheld; the 10,000 advance recouped; 2,600 paid.
    assert {k: entry(aug)[k] for k in ("earned", "withheld", "released", "recouped", "amount")} == {
        "earned": 14_000, "withheld": 1_400, "released": 0, "recouped": 10_000, "amount": 2_600}  # fmt: skip
    assert aug["ordinal"] == 0 and aug["policy"] == {"reserveBps": 1000, "reserveReleaseAfter": 2}
    assert [(a["account"], a["amount"]) for a in aug["advances"]] == [(studio, 10_000)]
    assert aug["balances"] == [{"account": studio, "broughtForward": 0, "advances": 10_000, "carriedForward": 0}]
    assert aug["reserves"] == [{"account": studio, "payout": studio, "heldBy": 0, "amount": 1_400, "releaseAt": 2}]
    # September: earned 700; 70 withheld; the second advance (500) recouped; 130 paid.
    assert {k: entry(sep)[k] for k in ("earned", "withheld", "recouped", "amount")} == {"earned": 700, "withheld": 70, "recouped": 500, "amount": 130}
    assert [a["amount"] for a in sep["advances"]] == [500] and sep["reserveReleases"] == []
    # October: earned 7 (nothing withheld: 0.7 rounds down); August's 1,400 released; 1,407 paid.
    assert {k: entry(oct_)[k] for k in ("earned", "withheld", "released", "amount")} == {"earned": 7, "withheld": 0, "released": 1_400, "amount": 1_407}
    assert oct_["reserveReleases"] == [{"account": studio, "payout": studio, "heldBy": 0, "amount": 1_400}]
    assert oct_["reserves"] == [{"account": studio, "payout": studio, "heldBy": 1, "amount": 70, "releaseAt": 3}]
    # Over the three statements: paid + still held - still owed = earned - advances.
    paid = sum(entry(d)["amount"] for d in (aug, sep, oct_))
    assert paid + 70 == 14_000 + 700 + 7 - 10_000 - 500

    # Each verifies from the chain and the statement before it; the usage recomputes August.
    for i, raw in enumerate(docs):
        checks = verify_statement(ledger.w3, raw, previous=docs[i - 1] if i else None)
        assert _failed(checks) == []
        assert any(c.name == "advances on chain" for c in checks)
    usage = _fresh(tmp_path, "usage")
    (usage / "aug.csv").write_bytes(_csv("AUG", address, "2026-08-01", "2026-08-31", "JPY", [(output, 20_000)]))
    assert _failed(recompute_statement(ledger.w3, docs[0], [usage / "aug.csv"], _fresh(tmp_path, "re"))) == []

    # One transaction claims all three statements: the latest entry carries the cumulative amount.
    assert holder.post("/claims", json={"account": studio}).status_code == 403  # not the key's account
    claimed = accountant.post("/claims", json={"account": studio})
    assert claimed.status_code == 200, claimed.text
    [book] = claimed.json()
    assert (book["statement_id"], book["statements"], book["amount"], book["cumulative"]) == (aug_id(docs[2]), 3, paid, paid)
    receipt = ledger.w3.eth.get_transaction_receipt(book["tx_hash"])
    assert len(ledger.distributor.events.Claimed().process_receipt(receipt)) == 1  # one leaf, one proof, one storage write
    for raw in docs:
        [e] = accountant.get(f"/statements/{aug_id(raw)}/entries/{studio}").json()
        assert e["claimed_tx"] == book["tx_hash"]
    assert [accountant.get(f"/statements/{aug_id(raw)}").json()["claimed_amount"] for raw in docs] == [2_600, 130, 1_407]
    assert accountant.post("/claims", json={"account": studio}).status_code == 409
    assert accountant.post(f"/statements/{aug_id(docs[0])}/claims", json={"account": studio}).status_code == 409

    # The holder's PDF and the workbook show how October's amount follows: earned, released, paid.
    oct_id = aug_id(docs[2])
    pdf = accountant.get(f"/statements/{oct_id}/export", params={"format": "pdf", "account": studio})
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    assert "Balances, advances and reserves" in text and "1400" in text.replace(",", "") and "1407" in text.replace(",", "")
    assert "Earnings by work" in text and "Earnings by month" in text and "2026-08" in text and "2026-10" in text  # the charts
    book = load_workbook(io.BytesIO(accountant.get(f"/statements/{oct_id}/export", params={"format": "xlsx"}).content), read_only=True)
    rows = list(book["Accounts"].iter_rows(values_only=True))
    assert rows[0][:8] == ("account", "opening_balance_owed_minor", "advances_minor", "earned_minor", "withheld_reserve_minor", "released_reserve_minor",
                           "recouped_minor", "paid_minor")  # fmt: skip
    assert [r for r in rows[1:] if r[0] == studio] == [(studio, 0, 0, 7, 0, 1_400, 0, 1_407, 0, 70)]

    # Forgeries: a reserve not released when due, a smaller withholding, an advance left out.
    unreleased = {**oct_, "reserveReleases": [], "reserves": [*aug["reserves"], *oct_["reserves"]]}
    unreleased["entries"] = [{**e, "released": 0, "amount": 7} if e["account"] == studio else e for e in oct_["entries"]]
    assert "balances brought forward" in {c.name for c in verify_statement(ledger.w3, canonical(unreleased), previous=docs[1]) if not c.ok}
    assert "balances settle" in {c.name for c in verify_statement(ledger.w3, canonical(unreleased), previous=docs[1]) if not c.ok}
    light = {**aug, "entries": [{**e, "withheld": 0, "amount": 4_000} if e["account"] == studio else e for e in aug["entries"]]}
    assert "balances settle" in {c.name for c in verify_statement(ledger.w3, canonical(light), aug_id(docs[0])) if not c.ok}
    hidden = {**aug, "advances": [], "balances": []}
    hidden["entries"] = [{**e, "recouped": 0, "amount": 12_600} if e["account"] == studio else e for e in aug["entries"]]
    failed = {c.name for c in verify_statement(ledger.w3, canonical(hidden), aug_id(docs[0])) if not c.ok}
    assert "advances on chain" in failed


def aug_id(raw: bytes) -> str:
    """The published id, so a forged copy is checked against the real publication."""
    import hashlib

    return "0x" + hashlib.sha256(raw).hexdigest()


def test_an_account_that_is_not_an_address_is_a_422_for_every_reader(ledger: Ledger, server: Server) -> None:
    """Regression (fuzzing): an accountant asking for the earnings of '00…00' got a 500."""
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    for path in ("/statements/earnings", "/statements/balances", "/statements", "/advances"):
        for bad in ("0" * 64, "â", "0x12"):
            resp = accountant.get(path, params={"account": bad})
            assert resp.status_code == 422 and "address" in resp.json()["detail"], (path, bad, resp.text)
