"""Escrow: the royalties of a contested work are held while its dispute is open and reach the
right holder in the next statement (the issue's done-when), with the rules checked as properties."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from eth_utils import to_checksum_address
from sqlmodel import Session, select

from ledger.accounting import escrow
from ledger.evidence import specimens
from ledger.models import Dispute, OutputLinkCorrection, Role, StatementEscrow
from ledger.runtime import Ledger
from ledger.services import royalties, statement_escrow
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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PAYEES), st.integers(1, 6), st.integers(1, 10**9), st.integers(1, 3)), max_size=30),
    st.lists(st.sampled_from(PAYEES), min_size=1, max_size=4, unique=True),
    st.dictionaries(st.integers(1, 3), st.sampled_from(["upheld", "rejected"]), max_size=3),
)
def test_an_upheld_attribution_dispute_releases_what_was_held_through_its_split(
    holds: list[tuple[tuple[str, str], int, int, int]], corrected: list[tuple[str, str]], outcomes: dict[int, str]
) -> None:
    """An upheld attribution dispute pays each (dispute, statement of origin) total through the
    corrected links' split, which must conserve it; every unit decided is released once."""
    held = [escrow.HeldBefore(f"0xs{d % 2}", escrow.Held(d, w, p[0], p[1], a)) for p, w, a, d in holds]

    def pays(amount: int) -> list[tuple[tuple[str, str], int]]:  # a largest-remainder split, equal weights
        base, rest = divmod(amount, len(corrected))
        return [(p, base + (i < rest)) for i, p in enumerate(corrected)]

    decisions = {d: escrow.Decision(o, "", pays if o == "upheld" else None) for d, o in outcomes.items()}
    releases = escrow.release(held, decisions)
    assert sum(r.amount for r in releases) == sum(h.held.amount for h in held if h.held.dispute_id in decisions)
    for r in releases:
        assert r.amount > 0 and r.outcome == outcomes[r.dispute_id]
        if r.outcome == "upheld":
            assert (r.account, r.payout) in corrected
    for (d, origin) in {(h.held.dispute_id, h.statement_id) for h in held if outcomes.get(h.held.dispute_id) == "upheld"}:
        total = sum(h.held.amount for h in held if (h.held.dispute_id, h.statement_id) == (d, origin))
        assert sum(r.amount for r in releases if (r.dispute_id, r.from_statement) == (d, origin)) == total
    if held:
        with pytest.raises(RuntimeError):  # a split that loses a unit is refused, never paid
            escrow.release(held[:1], {held[0].held.dispute_id: escrow.Decision("upheld", "", lambda a: [(corrected[0], a - 1)])})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4), st.integers(0, 2), st.integers(-100, 10**6), st.integers(0, 2)), max_size=40))
def test_lines_with_held_parts_merge_into_one_line_each(rows: list[tuple[int, int, int, int, int]]) -> None:
    """A (payee, work, report) traced in parts (one per dispute holding some of it, 0 for the
    rest, as the engine traces them) is one line in the statement, the sum of its parts; the held
    parts are exactly those with a dispute."""
    rows = sorted({(r[0], r[1], r[2], r[4]): r for r in rows}.values(), key=lambda r: (r[0], r[1], r[2], r[4]))
    a = lambda i: np.array([r[i] for r in rows], dtype=np.int64)  # noqa: E731
    t = royalties.Traces(a(0), a(1), a(2), a(3), a(4))
    merged, held = t.merged(), t.held()
    sums: dict[tuple[int, int, int], int] = {}
    for p, w, r, amount, _ in rows:
        sums[(p, w, r)] = sums.get((p, w, r), 0) + amount
    assert list(zip(merged.payee.tolist(), merged.work_id.tolist(), merged.report.tolist(), merged.amount.tolist())) == [(*k, v) for k, v in sorted(sums.items())]
    assert held.amount.tolist() == [r[3] for r in rows if r[4]]


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.lists(st.integers(1, 10_000), min_size=1, max_size=6))
def test_an_upheld_disputes_escrow_splits_over_the_new_owners_by_their_shares(amount: int, shares: list[int]) -> None:
    owners = [(PAYEES[i], share) for i, share in enumerate(shares[:5])]
    paid = escrow.by_shares(owners)(amount)
    assert sum(a for _, a in paid) == amount  # every unit, of either sign
    total = sum(share for _, share in owners)
    for (payee, a), (_, share) in zip(paid, sorted(owners, key=lambda o: int(o[0][0], 16))):
        assert abs(a * total - amount * share) < total  # within a unit of its exact share


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.sampled_from([None, "upheld", "rejected", "withdrawn"]), st.one_of(st.none(), st.integers(0, 20))),
        max_size=12,
    ),
    st.integers(0, 20),
)
def test_a_subject_is_held_or_redirected_by_its_first_dispute_that_still_decides(
    rows: list[tuple[int, str | None, int | None]], as_of: int
) -> None:
    """Open, or upheld and not carried out: held; carried out after the period: redirected;
    carried out by the period's end, rejected or withdrawn: neither. The lowest dispute id counts."""
    facts = [escrow.DisputeFact(i + 1, subject, outcome, corrected if outcome == "upheld" else None) for i, (subject, outcome, corrected) in enumerate(rows)]
    held, redirected = escrow.standing(facts, as_of)
    assert not set(held) & set(redirected)
    for subject in {f.subject for f in facts}:
        live = [f for f in facts if f.subject == subject and (f.outcome is None or (f.outcome == "upheld" and (f.corrected_at is None or f.corrected_at > as_of)))]
        if not live:
            assert subject not in held and subject not in redirected
            continue
        first = live[0]
        if first.outcome is None or first.corrected_at is None:
            assert held[subject] == first.dispute_id
        else:
            assert redirected[subject] == first.dispute_id


def test_an_upheld_registration_pays_every_owner_the_arbiter_names(ledger: Ledger, server: Server) -> None:
    """The escrow of an upheld registration dispute, and the lines it redirects, go to the owners
    the reassignment names, by their shares (a studio's staff, not only the claimant)."""
    artist_key = create_api_key(ledger, Role.rights_holder, "artist")
    artist, artist_account = client_for(server, artist_key.token), str(artist_key.holder_address)
    squatter = client_for(server, create_api_key(ledger, Role.rights_holder, "squatter").token)
    arbiter = client_for(server, create_api_key(ledger, Role.arbiter, "arbiter").token)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    colleague = "0x" + "c0" * 20
    work = squatter.post("/works", json={"title": "w", "content_hash": "0x" + f"{0xD0C:064x}", "terms": TERMS}).json()["work_id"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xD0C)
    dispute = artist.post("/disputes", json={"kind": "registration", "work_id": work, "statement": "our studio's frame"}).json()["dispute_id"]
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "EUR", [(h, 10_001)])).status_code == 201
    sep = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "EUR"}).json()
    owners = [{"account": artist_account, "share_bps": 7_000}, {"account": colleague, "share_bps": 3_000}]
    decided = arbiter.post(f"/disputes/{dispute}/decision", json={"upheld": True, "reason": "the studio's", "owners": owners})
    assert decided.status_code == 200 and decided.json()["correction_tx"], decided.text
    assert _upload(platform, _csv("OCT", address, "2026-10-01", "2026-10-31", "EUR", [(h, 1_001)])).status_code == 201
    octo = accountant.post("/statements", json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "EUR"}).json()
    raw = accountant.get(f"/statements/{octo['statement_id']}/document").content
    doc = json.loads(raw)
    colleague_account = to_checksum_address(colleague)
    # 70 % of 10,001 = 7,001 held in September, 701 of October redirected: 70/30 by largest remainder.
    assert sorted((r["fromStatement"], r["account"], r["amount"]) for r in doc["escrowReleases"]) == sorted([
        ("", artist_account, 491), ("", colleague_account, 210),
        (sep["statement_id"], artist_account, 4_901), (sep["statement_id"], colleague_account, 2_100),
    ])  # fmt: skip
    checks = verify_statement(ledger.w3, raw)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    # A document paying the claimant alone does not verify.
    forged = {**doc, "escrowReleases": [{**r, "account": artist_account, "payout": artist_account} for r in doc["escrowReleases"]]}
    failed = {c.name for c in verify_statement(ledger.w3, json.dumps(forged).encode(), octo["statement_id"]) if not c.ok}
    assert "escrow follows the disputes on chain" in failed


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


def test_an_attribution_disputes_escrow_is_paid_by_the_corrected_links(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    """The output leaves out the artist's work: what its usage brings is held while the dispute is
    open, and paid by the links the arbiter sets once it is upheld; a rejected dispute gives the
    held amount back. Other outputs' usage, even of the same works, is paid as usual."""
    artist_key = create_api_key(ledger, Role.rights_holder, "artist")
    artist = client_for(server, artist_key.token)
    other_key = create_api_key(ledger, Role.rights_holder, "other")
    other = client_for(server, other_key.token)
    third_key = create_api_key(ledger, Role.rights_holder, "third")
    third = client_for(server, third_key.token)
    arbiter = client_for(server, create_api_key(ledger, Role.arbiter, "arbiter").token)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    mine = artist.post("/works", json={"title": "key frame", "content_hash": "0x" + f"{0xA27:064x}", "terms": TERMS}).json()["work_id"]
    b = other.post("/works", json={"title": "b", "content_hash": "0x" + f"{0xB0B:064x}", "terms": TERMS}).json()["work_id"]
    c = third.post("/works", json={"title": "c", "content_hash": "0x" + f"{0xC0C:064x}", "terms": TERMS}).json()["work_id"]
    platform, address, (copied, fair, contested_too) = _platform_with_outputs(
        ledger, server, [[(b, 10_000)], [(b, 5_000), (c, 5_000)], [(c, 10_000)]], 0xA77
    )
    artist_account, b_account, c_account = artist_key.holder_address, other_key.holder_address, third_key.holder_address

    def claim(output: str) -> int:
        d = artist.post("/disputes", json={"kind": "attribution", "output_hash": output, "claimed_work_id": mine, "statement": "it is my frame"})
        assert d.status_code == 201, d.text
        return int(d.json()["dispute_id"])

    upheld_id, rejected_id = claim(copied), claim(contested_too)
    sep_csv = _csv("SEP", address, "2026-09-01", "2026-09-30", "USD", [(copied, 100_000), (fair, 10_000), (contested_too, 1_000)])
    assert _upload(platform, sep_csv).status_code == 201
    sep = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "USD"}).json()
    sep_raw = accountant.get(f"/statements/{sep['statement_id']}/document").content
    sep_doc = json.loads(sep_raw)
    # 70 % to holders. Work b's line holds 70,000 from the contested output beside 3,500 from the fair one.
    assert sep_doc["escrow"] == [
        {"disputeId": upheld_id, "workId": b, "account": b_account, "payout": b_account, "amount": 70_000},
        {"disputeId": rejected_id, "workId": c, "account": c_account, "payout": c_account, "amount": 700},
    ]
    keys = [e["account"] for e in sep_doc["entries"]]
    assert sorted((keys[e], w, a) for e, w, _, a in sep_doc["lines"]) == sorted([(b_account, b, 73_500), (c_account, c, 4_200)])
    assert {e["account"]: e["earned"] for e in sep_doc["entries"]} == {b_account: 3_500, c_account: 3_500}
    assert all(c.ok for c in verify_statement(ledger.w3, sep_raw))
    usage = tmp_path / "usage"
    usage.mkdir()
    (usage / "sep.csv").write_bytes(sep_csv)
    recomputed = recompute_statement(ledger.w3, sep_raw, [usage / "sep.csv"], tmp_path / "sep")
    assert all(c.ok for c in recomputed), [c for c in recomputed if not c.ok]
    # A document that pays b what was held verifies on chain alone, but not against the usage.
    forged = {**sep_doc, "escrow": sep_doc["escrow"][1:], "escrowHeldTotal": 700}
    forged["entries"] = [{**e, "earned": e["earned"] + 70_000 * (e["account"] == b_account)} for e in sep_doc["entries"]]
    failed = {c.name for c in recompute_statement(ledger.w3, json.dumps(forged).encode(), [usage / "sep.csv"], tmp_path / "forged") if not c.ok}
    assert "attribution escrow recomputed" in failed

    # Upholding needs the corrected links, the claimed work among them.
    decision = f"/disputes/{upheld_id}/decision"
    assert arbiter.post(decision, json={"upheld": True, "reason": "copied"}).status_code == 422
    assert arbiter.post(decision, json={"upheld": True, "reason": "copied", "links": [{"work_id": b, "weight_bps": 10_000}]}).status_code == 422
    assert arbiter.post(f"/disputes/{rejected_id}/decision", json={"upheld": False, "reason": "no", "links": [{"work_id": c, "weight_bps": 10_000}]}).status_code == 422
    links = [{"work_id": mine, "weight_bps": 6_000}, {"work_id": b, "weight_bps": 4_000}]
    done = arbiter.post(decision, json={"upheld": True, "reason": "the output copies the key frame", "links": links})
    assert done.status_code == 200 and done.json()["state"] == "upheld" and done.json()["correction_tx"], done.text
    assert arbiter.post(f"/disputes/{rejected_id}/decision", json={"upheld": False, "reason": "not alike"}).json()["state"] == "rejected"
    shown = artist.get(f"/outputs/{copied}").json()
    assert [link["work_id"] for link in shown["links"]] == [b]  # as registered
    assert [(c["dispute_id"], c["tx_hash"], c["links"]) for c in shown["link_corrections"]] == [
        (upheld_id, done.json()["correction_tx"], [{"work_id": mine, "weight_bps": 6_000, "kind": "training"}, {"work_id": b, "weight_bps": 4_000, "kind": "training"}])
    ]

    oct_csv = _csv("OCT", address, "2026-10-01", "2026-10-31", "USD", [(copied, 10_000)])
    assert _upload(platform, oct_csv).status_code == 201
    octo = accountant.post("/statements", json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "USD"}).json()
    raw = accountant.get(f"/statements/{octo['statement_id']}/document").content
    doc = json.loads(raw)
    # October ended before the correction: its 7,000 is held and paid at once by the corrected
    # links, September's 70,000 likewise; the rejected dispute gives c back its 700.
    assert doc["escrow"] == [{"disputeId": upheld_id, "workId": b, "account": b_account, "payout": b_account, "amount": 7_000}]
    assert sorted((r["disputeId"], r["fromStatement"], r["account"], r["amount"], r["outcome"]) for r in doc["escrowReleases"]) == sorted([
        (upheld_id, "", artist_account, 4_200, "upheld"), (upheld_id, "", b_account, 2_800, "upheld"),
        (upheld_id, sep["statement_id"], artist_account, 42_000, "upheld"), (upheld_id, sep["statement_id"], b_account, 28_000, "upheld"),
        (rejected_id, sep["statement_id"], c_account, 700, "rejected"),
    ])  # fmt: skip
    assert {e["account"]: e["earned"] for e in doc["entries"]} == {artist_account: 46_200, b_account: 30_800, c_account: 700}
    checks = verify_statement(ledger.w3, raw)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    (usage / "oct.csv").write_bytes(oct_csv)
    recomputed = recompute_statement(ledger.w3, raw, [usage / "oct.csv"], tmp_path / "oct")
    assert all(c.ok for c in recomputed), [c for c in recomputed if not c.ok]
    assert "attribution escrow recomputed" in {c.name for c in recomputed}

    # A period that ends after the correction splits by the corrected links, holding nothing.
    with Session(ledger.engine) as s:
        standing = statement_escrow.attribution_standing(s, ledger.w3.eth.block_number, 2**40)
    assert standing.hold == {}
    [run] = royalties.compute(ledger, 0, 2**40, currency="USD")
    # copied: 100,000 + 10,000 at 70 %, by 60/40 now; fair: 10,000 by 50/50; contested_too: 1,000 to c
    assert run.work_totals == {mine: 46_200, b: 30_800 + 3_500, c: 3_500 + 700}

    # A database rebuilt from the chain has the correction, and marks the dispute carried out.
    fresh = rebuilt_from_chain(ledger, tmp_path / "fresh", blocks=True)
    with Session(fresh.engine) as s:
        assert [(r.work_id, r.weight_bps) for r in s.exec(select(OutputLinkCorrection).order_by(OutputLinkCorrection.work_id))] == [(mine, 6_000), (b, 4_000)]
        assert s.get_one(Dispute, upheld_id).correction_tx == done.json()["correction_tx"]
