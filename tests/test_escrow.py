"""Escrow: the royalties of a contested work are held while its dispute is open and reach the
right holder in the next statement (the issue's done-when), with the rules checked as properties."""

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings, strategies as st
from sqlmodel import Session, select

from ledger.accounting import escrow
from ledger.evidence import specimens
from ledger.models import Role, StatementEscrow
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from ledger.services.statement_verifier import recompute_statement, verify_statement
from tests.conftest import Server, client_for, rebuilt_from_chain
from tests.factories import _csv, _platform_with_outputs, _upload

TERMS = {"training_allowed": True, "royalty_bps": 0}
PAYEES = [("0x" + f"{i:040x}", "0x" + f"{i + 100:040x}") for i in range(1, 6)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PAYEES), st.integers(1, 6), st.integers(-10**6, 10**9)), max_size=40),
    st.dictionaries(st.integers(1, 6), st.integers(1, 4), max_size=4),
    st.dictionaries(st.integers(1, 4), st.sampled_from(["upheld", "rejected", "withdrawn"]), max_size=4),
)
def test_escrow_holds_and_releases_every_unit_once(
    lines: list[tuple[tuple[str, str], int, int]], disputed: dict[int, int], outcomes: dict[int, str]
) -> None:
    held = escrow.hold(lines, disputed)
    assert sum(h.amount for h in held) == sum(a for _, w, a in lines if w in disputed)
    for h in held:  # each hold is exactly that payee's lines for that work
        assert h.amount == sum(a for p, w, a in lines if p == (h.account, h.payout) and w == h.work_id) != 0
        assert disputed[h.work_id] == h.dispute_id
    claimant = "0x" + "c" * 40
    decisions = {d: escrow.Decision(o, claimant) for d, o in outcomes.items()}
    releases = escrow.release([escrow.HeldBefore("0xs1", h) for h in held], decisions)
    decided = [h for h in held if h.dispute_id in decisions]
    assert sum(r.amount for r in releases) == sum(h.amount for h in decided)
    back: dict[tuple[int, str, str], int] = {}
    for r in releases:
        if r.outcome == "upheld":
            assert (r.account, r.payout) == (claimant, claimant)
        else:
            back[(r.dispute_id, r.account, r.payout)] = back.get((r.dispute_id, r.account, r.payout), 0) + r.amount
    for key, amount in back.items():  # a rejected or withdrawn dispute pays each payee back what was held from it
        assert amount == sum(h.amount for h in decided if (h.dispute_id, h.account, h.payout) == key)
    by_payee: dict[tuple[str, str], int] = {}
    for p, _, a in lines:
        by_payee[p] = by_payee.get(p, 0) + a
    earned = escrow.earnings(by_payee, held, releases)
    assert sum(earned.values()) == sum(by_payee.values()) - sum(h.amount for h in held) + sum(r.amount for r in releases)
    assert list(earned) == sorted(earned, key=lambda p: (int(p[0], 16), int(p[1], 16)))  # entries' order


def test_a_squatted_works_royalties_wait_in_escrow_and_reach_the_right_holder(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    artist_key = create_api_key(ledger, Role.rights_holder, "artist")
    artist = client_for(server, artist_key.token)
    squatter_key = create_api_key(ledger, Role.rights_holder, "squatter")
    squatter = client_for(server, squatter_key.token)
    other = client_for(server, create_api_key(ledger, Role.rights_holder, "other").token)
    arbiter = client_for(server, create_api_key(ledger, Role.arbiter, "arbiter").token)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    art = specimens.png(specimens.image(91))

    squatted = squatter.post("/works", json={"title": "mine", "content_hash": "0x" + hashlib.sha256(art).hexdigest(), "terms": TERMS}).json()["work_id"]
    fair = other.post("/works", json={"title": "fair", "content_hash": "0x" + f"{0xFA1:064x}", "terms": TERMS}).json()["work_id"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(squatted, 6_000), (fair, 4_000)]], 0xE5C)

    # The artist contests before September is closed: September's share of the work is held.
    spec = {"kind": "registration", "work_id": squatted, "statement": "my key frame"}
    dispute = artist.post("/disputes", files={"file": ("a.png", art, "image/png")}, data={"dispute": json.dumps(spec)}).json()
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "USD", [(h, 100_000)])).status_code == 201
    sep = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "USD"}).json()
    sep_doc = json.loads(accountant.get(f"/statements/{sep['statement_id']}/document").content)
    # 70 % of 100,000 to holders: 42,000 for the contested work (held), 28,000 for the fair one (paid).
    assert sep_doc["escrow"] == [{"disputeId": dispute["dispute_id"], "workId": squatted, "account": squatter_key.holder_address,
                                  "payout": squatter_key.holder_address, "amount": 42_000}]  # fmt: skip
    assert (sep_doc["escrowHeldTotal"], sep_doc["holdersTotal"], sep_doc["payableTotal"]) == (42_000, 70_000, 28_000)
    assert {e["account"]: e["amount"] for e in sep_doc["entries"]}[squatter_key.holder_address] == 0
    assert all(c.ok for c in verify_statement(ledger.w3, accountant.get(f"/statements/{sep['statement_id']}/document").content)), [
        c for c in verify_statement(ledger.w3, accountant.get(f"/statements/{sep['statement_id']}/document").content) if not c.ok
    ]
    # A document that pays the squatter what was held does not verify.
    forged = {**sep_doc, "escrow": [], "escrowHeldTotal": 0}
    failed = {c.name for c in verify_statement(ledger.w3, json.dumps(forged).encode(), sep["statement_id"]) if not c.ok}
    assert "escrow follows the disputes on chain" in failed

    # Upheld: the work is the artist's from now on, and October's statement releases September's 42,000 to the artist.
    decided = arbiter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": True, "reason": "the artist holds the file"})
    assert decided.status_code == 200, decided.text
    assert _upload(platform, _csv("OCT", address, "2026-10-01", "2026-10-31", "USD", [(h, 10_000)])).status_code == 201
    octo = accountant.post("/statements", json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "USD"}).json()
    raw = accountant.get(f"/statements/{octo['statement_id']}/document").content
    oct_doc = json.loads(raw)
    # October's usage predates the reassignment, so its owners at the period's end are still the
    # squatter's: the upheld dispute redirects those lines to the artist in the same statement.
    artist_account, squatter_account = artist_key.holder_address, squatter_key.holder_address
    assert oct_doc["escrow"] == [{"disputeId": dispute["dispute_id"], "workId": squatted, "account": squatter_account,
                                  "payout": squatter_account, "amount": 4_200}]  # fmt: skip
    assert oct_doc["escrowReleases"] == [
        {"disputeId": dispute["dispute_id"], "fromStatement": "", "account": artist_account, "payout": artist_account, "amount": 4_200, "outcome": "upheld"},
        {"disputeId": dispute["dispute_id"], "fromStatement": sep["statement_id"], "account": artist_account, "payout": artist_account,
         "amount": 42_000, "outcome": "upheld"},
    ]  # fmt: skip
    earned = {e["account"]: e["earned"] for e in oct_doc["entries"]}
    assert earned[artist_account] == 42_000 + 4_200 and earned[squatter_account] == 0
    checks = verify_statement(ledger.w3, raw)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    with Session(ledger.engine) as s:
        rows = s.exec(select(StatementEscrow)).all()
        assert sorted((r.amount, r.released_by_pk is not None) for r in rows) == [(4_200, True), (42_000, True)]

    # The artist claims the released amount like any other entry.
    claimed = artist.post(f"/statements/{octo['statement_id']}/claims", json={"account": artist_key.holder_address})
    assert claimed.status_code == 200, claimed.text

    # Recomputed from the usage files and the chain, the amounts before escrow agree.
    (tmp_path / "usage").mkdir()
    (tmp_path / "usage" / "oct.csv").write_bytes(_csv("OCT", address, "2026-10-01", "2026-10-31", "USD", [(h, 10_000)]))
    recomputed = recompute_statement(ledger.w3, raw, [tmp_path / "usage" / "oct.csv"], tmp_path / "work")
    assert all(c.ok for c in recomputed), [c for c in recomputed if not c.ok]

    # A database rebuilt from the chain (with the documents) holds the same escrow and its release.
    fresh = rebuilt_from_chain(ledger, tmp_path / "fresh", blocks=True)
    with Session(fresh.engine) as s:
        again = s.exec(select(StatementEscrow)).all()
        assert sorted((r.amount, r.dispute_id, r.released_by_pk is not None) for r in again) == [
            (4_200, dispute["dispute_id"], True), (42_000, dispute["dispute_id"], True)]  # fmt: skip


def test_a_rejected_dispute_releases_the_escrow_to_the_payees_it_was_held_from(ledger: Ledger, server: Server) -> None:
    holder = client_for(server, create_api_key(ledger, Role.rights_holder, "holder").token)
    holder_account = holder.get("/keys/me").json()["holder_address"]
    claimant = client_for(server, create_api_key(ledger, Role.rights_holder, "claimant").token)
    arbiter = client_for(server, create_api_key(ledger, Role.arbiter, "arbiter").token)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    work = holder.post("/works", json={"title": "w", "content_hash": "0x" + f"{0xBE1:064x}", "terms": TERMS}).json()["work_id"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xE6C)
    dispute = claimant.post("/disputes", json={"kind": "registration", "work_id": work, "statement": "mine, I think"}).json()
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "JPY", [(h, 1_000)])).status_code == 201
    assert _upload(platform, _csv("SEP2", address, "2026-09-01", "2026-09-30", "USD", [(h, 1_000)])).status_code == 201
    sep = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "JPY"}).json()
    assert json.loads(accountant.get(f"/statements/{sep['statement_id']}/document").content)["escrowHeldTotal"] == 700

    assert arbiter.post(f"/disputes/{dispute['dispute_id']}/decision", json={"upheld": False, "reason": "no evidence"}).status_code == 200
    assert holder.get(f"/works/{work}").json()["manager"] == holder_account  # nothing changes hands
    assert _upload(platform, _csv("OCT", address, "2026-10-01", "2026-10-31", "JPY", [(h, 100)])).status_code == 201
    octo = accountant.post("/statements", json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}).json()
    raw = accountant.get(f"/statements/{octo['statement_id']}/document").content
    doc = json.loads(raw)
    assert [(r["account"], r["amount"], r["outcome"]) for r in doc["escrowReleases"]] == [(holder_account, 700, "rejected")]
    assert {e["account"]: e["earned"] for e in doc["entries"]} == {holder_account: 700 + 70}
    assert all(c.ok for c in verify_statement(ledger.w3, raw))
    # The USD statement of the same period, closed after the decision, held nothing.
    usd = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "USD"}).json()
    usd_doc = json.loads(accountant.get(f"/statements/{usd['statement_id']}/document").content)
    assert (usd_doc["escrowHeldTotal"], usd_doc["escrowReleases"]) == (0, [])
