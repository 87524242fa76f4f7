"""The holders' portal in a real browser (Debian's chromium, driven by Playwright) against the real
API: a holder signs in with their key, sees what each statement owes them, verifies a statement
in the browser and claims it on chain."""

import hashlib
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from ledger.evidence import specimens
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.factories import _csv, _platform_with_outputs, _upload, _work

CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def _sign_in(page: Page, server: Server, key: str) -> None:
    page.goto(f"{server.url}/portal")
    page.fill("#key", key)
    page.click("#connect")


def test_a_holder_verifies_and_claims_in_the_browser(ledger: Ledger, server: Server, holder: httpx.Client, holder_key: str, page: Page) -> None:
    work = _work(holder, 0xD001, 0, [])
    me = holder.get(f"/works/{work}").json()["manager"]
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xD100)
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "USD", [(h, 123_457)])).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    st = accountant.post("/statements", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "USD"}).json()
    assert st["holder_amount"] is None and st["holders_total"] == 86_420  # 70 % of 123,457, the odd unit to the pool

    _sign_in(page, server, holder_key)
    row = page.locator(f"tr[data-statement='{st['statement_id']}']")
    row.wait_for()
    assert me in page.inner_text("#who")
    assert row.locator("td.amount").inner_text() == "$864.20"  # cents, shown exactly, in its currency
    assert row.locator("td.amount button").get_attribute("title") == "86,420 minor units of USD"
    assert row.locator("td.status").inner_text() == "not claimed"

    row.get_by_role("button", name="Verify").click()
    page.locator(".check.ok").wait_for()
    assert "verified" in row.locator(".check").inner_text() and "864.20" in row.locator(".check").inner_text()

    row.get_by_role("button", name="Claim").click()
    page.wait_for_function("document.querySelector('td.status').textContent.startsWith('claimed in 0x')")
    book = ledger.distributor.functions.statementOf(bytes.fromhex(st["statement_id"][2:])).call()[3]
    assert ledger.distributor.functions.claimedOf(book, me, me).call() == 86_420
    assert holder.get(f"/statements/{st['statement_id']}").json()["claimed_amount"] == 86_420

    with page.expect_download() as download:
        row.get_by_role("button", name="PDF").click()
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"

    # The holder checks its own leaf against the published root in the browser (keccak-256 in the
    # page; the other amounts are private): an entry that is not the one published is caught.
    def doctored(route: Route) -> None:
        body = route.fetch().body().replace(b'"cumulative":86420', b'"cumulative":86421')
        route.fulfill(status=200, body=body, headers={"content-type": "application/json"})

    page.route(f"**/entries/{me}", doctored)
    page.reload()
    row.wait_for()
    row.get_by_role("button", name="Verify").click()
    page.locator(".check.bad").wait_for()
    assert "does not verify" in row.locator(".check").inner_text()


def test_a_wrong_key_is_told_so(server: Server, page: Page) -> None:
    _sign_in(page, server, "lk_nothing_here")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert page.inner_text("#error").startswith("401")


def test_amounts_are_formatted_without_floating_point(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/portal")
    cases = {("5", 2): "0.05", ("0", 2): "0.00", ("1234", 0): "1234", ("12345678901234567", 2): "123456789012345.67", ("1", 3): "0.001", ("-5", 2): "-0.05", ("-6300", 2): "-63.00", ("-7", 0): "-7"}
    for (minor, exponent), expected in cases.items():
        assert page.evaluate("([m, e]) => major(m, e)", [minor, exponent]) == expected
    # In the currency's own format, from the exact decimal string (never a float): 2^53 + 1 yen stays exact.
    money = {("3088100", 0, "JPY"): "¥3,088,100", ("86420", 2, "USD"): "$864.20", ("9007199254740993", 0, "JPY"): "¥9,007,199,254,740,993",
             ("-6300", 2, "EUR"): "-€63.00", ("5", 3, "KWD"): "KWD 0.005"}  # fmt: skip
    for (minor, exponent, currency), expected in money.items():
        assert page.evaluate("([m, e, c]) => money(m, e, c)", [minor, exponent, currency]).replace("\xa0", " ") == expected


def test_a_holder_left_owing_sees_the_balance_and_no_claim(ledger: Ledger, server: Server, holder: httpx.Client, holder_key: str, page: Page) -> None:
    """A correction took back more than the holder earned in the adjustment: nothing to claim, and
    the balance owed is shown."""
    work = _work(holder, 0xD201, 0, [])
    platform, address, (h,) = _platform_with_outputs(ledger, server, [[(work, 10_000)]], 0xD300)
    sep = {"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "USD"}
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "USD", [(h, 10_000)])).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    assert accountant.post("/statements", json=sep).status_code == 201
    refund = _csv("SEP-FIX", address, "2026-09-01", "2026-09-30", "USD", [(h, 1_000)]).replace(b",1000\nFOOT", b",1000,SEP-0\nFOOT")
    assert _upload(platform, refund).status_code == 201
    adj = accountant.post("/statements", json=sep).json()
    assert (adj["holders_total"], adj["payable_total"]) == (700 - 7_000, 0)

    _sign_in(page, server, holder_key)
    row = page.locator(f"tr[data-statement='{adj['statement_id']}']")
    row.wait_for()
    assert row.locator("td.amount").inner_text() == "$0.00 (earned -$63.00)"
    assert row.locator("td.status").inner_text() == "nothing to pay: reversed or owed"
    assert row.get_by_role("button", name="Claim").count() == 0
    page.locator("#owed").wait_for()
    assert page.inner_text("#owed").startswith("You owe $63.00")
    [owed] = holder.get("/statements/balances", params={"currency": "USD"}).json()
    assert (owed["amount"], owed["statement_id"]) == (6_300, adj["statement_id"])
    assert holder.get("/statements/balances", params={"currency": "usd"}).status_code == 422


def test_a_holder_sees_uncredited_lookalikes_and_disputes_one(ledger: Ledger, server: Server, page: Page, tmp_path: Path) -> None:
    def png(seed: int, transform: str | None = None) -> bytes:
        img = specimens.image(seed)
        return specimens.png(specimens.COPIES[transform](img, random.Random(seed)) if transform else img)

    def register(client: httpx.Client, data: bytes, title: str) -> int:
        resp = client.post("/works", files={"file": (f"{title}.png", data, "image/png")},
                           data={"work": json.dumps({"title": title, "terms": {"training_allowed": True, "royalty_bps": 0}})})  # fmt: skip
        assert resp.status_code == 201, resp.text
        return int(resp.json()["work_id"])

    artist_key = create_api_key(ledger, Role.rights_holder, "artist").token
    artist = client_for(server, artist_key)
    squatter = client_for(server, create_api_key(ledger, Role.rights_holder, "squatter").token)
    mine = register(artist, png(0xA1), "key frame")
    trained = register(squatter, png(0xA2), "other")
    copied = register(squatter, png(0xA1, "crop+jpeg"), "copy")
    platform = client_for(server, create_api_key(ledger, Role.platform, "gen").token)
    model = platform.post("/models", json={"name": "anime-gen", "weights_hash": "0x" + "22" * 32, "work_ids": [trained]}).json()["model_id"]
    out = png(0xA1, "text")
    output_hash = "0x" + hashlib.sha256(out).hexdigest()
    spec = {"output_hash": output_hash, "model_id": model, "links": [{"work_id": trained, "weight_bps": 10_000}]}
    assert platform.post("/outputs", files={"file": ("o.png", out, "image/png")}, data={"output": json.dumps(spec)}).status_code == 201

    _sign_in(page, server, artist_key)
    output_row = page.locator(f"#similar tr[data-subject='{output_hash}']")
    output_row.wait_for()
    work_row = page.locator(f"#similar tr[data-subject='work-{copied}']")
    work_row.wait_for()
    assert page.locator("#similar tbody tr").count() == 2
    assert "phash@1 distance" in output_row.locator("td.evidence").inner_text()
    assert f"crediting work {trained}" in output_row.inner_text()
    page.wait_for_function("[...document.querySelectorAll('#similar img.thumb')].every((i) => i.complete && i.naturalWidth > 0)")
    assert page.locator("#no-disputes").is_visible()

    output_row.get_by_role("button", name="Dispute").click()
    page.locator("#disputes tbody tr").wait_for()
    assert "opened in 0x" in output_row.locator(".status").inner_text()
    [dispute] = artist.get("/disputes").json()
    assert (dispute["kind"], dispute["output_hash"], dispute["claimed_work_id"], dispute["state"]) == ("attribution", output_hash, mine, "open")
    assert page.locator(f"#disputes tr[data-dispute='{dispute['dispute_id']}'] td.state").inner_text() == "open"
    page.screenshot(path=str(tmp_path / "portal-evidence.png"), full_page=True)


def test_a_studio_sees_how_a_work_was_made_drawn_with_its_verdict(ledger: Ledger, server: Server, page: Page) -> None:
    import time

    from eth_account import Account

    from ledger.services import devices, records
    from ledger_recorder.typed import ACTIONS, Record, enrolment_digest, record_digest, sign

    studio_key = create_api_key(ledger, Role.rights_holder, "studio")
    studio = client_for(server, studio_key.token)
    machine, person = Account.create(), Account.create()
    expires = int(time.time()) + 86_400
    consent = sign(bytes(machine.key), enrolment_digest(devices.domain(ledger), str(studio_key.holder_address), 1 | 2 | 4, expires))
    devices.enrol(ledger, studio_key, machine.address, ["create", "edit", "generate"], expires, "Aiko's workstation", consent)

    def made(action: str, inputs: list[bytes] = [], model: int = 0) -> bytes:  # noqa: B006
        content = os.urandom(32)
        r = Record(ACTIONS.index(action), content, tuple(inputs), "Krita", "5.2", model, bytes.fromhex(person.address[2:]), int(time.time()) - 60)
        records.submit(ledger, [records.SignedRecord(r, sign(bytes(machine.key), record_digest(records.domain(ledger), r)))])
        return content

    sketch = made("create")
    background = made("generate", model=424_242)  # a model nobody registered
    final = made("edit", [sketch, background, os.urandom(32)])
    work = studio.post("/works", json={"title": "cut 7", "content_hash": "0x" + final.hex(), "terms": {"training_allowed": True, "royalty_bps": 0}}).json()["work_id"]

    _sign_in(page, server, studio_key.token)
    page.fill("#provenance-work", str(work))
    page.get_by_role("button", name="Show provenance").click()
    page.wait_for_selector("#graph g.file")
    assert page.locator("#graph g.file").count() == 4  # the work, the sketch, the generated background, one file nobody recorded
    assert page.locator("#graph path.edge").count() == 3
    verdict = page.locator("#verdict").inner_text()
    assert "Safe AI use: no" in verdict and "model 424242" in verdict and "1 file(s) without a record" in verdict
    failing = page.locator(f'#graph g.file[data-hash="0x{background.hex()}"] circle')
    assert failing.get_attribute("fill") == "#b3261e"


SHOTS = Path(os.environ.get("LEDGER_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")) / "portal"


def _shot(page: Page, name: str) -> None:
    """Screenshots are kept as test artifacts (artifacts/portal/, git-ignored): what a person saw."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_portal_is_where_holders_and_accountants_work(ledger: Ledger, server: Server, page: Page) -> None:
    """A studio sees its amounts in yen, clicks one to see why, its earnings by month and by work,
    its works with their terms and the outputs crediting them, and revokes AI training in one
    click; an accountant reviews a draft, publishes it, and follows claims and balances."""
    studio_key = create_api_key(ledger, Role.rights_holder, "studio")
    studio = client_for(server, studio_key.token)
    png = specimens.png(specimens.image(0xB1))
    resp = studio.post("/works", files={"file": ("cel.png", png, "image/png")},
                       data={"work": json.dumps({"title": "第3話 原画", "terms": {"training_allowed": True, "royalty_bps": 0}})})  # fmt: skip
    assert resp.status_code == 201, resp.text
    cel = resp.json()["work_id"]
    bg = _work(studio, 0xB2, 0, [])
    platform, address, (h1, h2) = _platform_with_outputs(ledger, server, [[(cel, 7000), (bg, 3000)], [(bg, 10_000)]], 0xB100)
    for name, start, end, lines in (("AUG", "2026-08-01", "2026-08-31", [(h1, 2_000_000), (h2, 411_573)]), ("SEP", "2026-09-01", "2026-09-30", [(h1, 3_100_003)])):
        assert _upload(platform, _csv(name, address, start, end, "JPY", lines)).status_code == 201
    accountant_key = create_api_key(ledger, Role.accountant, "books")
    accountant = client_for(server, accountant_key.token)
    aug = accountant.post("/statements", json={"period_start": "2026-08-01", "period_end": "2026-08-31", "currency": "JPY"}).json()
    draft = accountant.post("/statements/drafts", json={"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "JPY"})
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["draft_id"]

    # The accountant's desk: the draft, its review against August, publication; claims and balances.
    _sign_in(page, server, accountant_key.token)
    row = page.locator(f"#drafts tr[data-draft='{draft_id}']")
    row.wait_for()
    assert row.locator("td.amount").first.inner_text() == "¥3,100,003"
    row.get_by_role("button", name="Review").click()
    page.locator("#review li").first.wait_for()
    assert "revenue: ¥2,411,573 → ¥3,100,003 (+¥688,430)" in page.inner_text("#review")
    _shot(page, "accountant-review")
    row.get_by_role("button", name="Publish").click()
    page.wait_for_function("document.querySelector('#drafts .status').textContent.startsWith('published as')")
    published = accountant.get("/statements", params={"currency": "JPY"}).json()
    assert [s["statement_id"] for s in published] == [aug["statement_id"], draft_id]
    page.reload()
    page.locator(f"#all-statements tr[data-statement='{draft_id}']").wait_for()
    assert "(0 of" in page.locator(f"#all-statements tr[data-statement='{aug['statement_id']}'] td.claimed").inner_text()
    _shot(page, "accountant-books")

    # The studio: amounts in yen (exact units on hover), one click to why, charts, works and terms.
    me = studio_key.holder_address
    assert me is not None
    assert studio.post("/claims", json={"account": me}).status_code == 200  # both months in one transaction
    page.goto(f"{server.url}/portal")
    page.evaluate("sessionStorage.clear()")
    _sign_in(page, server, studio_key.token)
    row = page.locator(f"#statements tr[data-statement='{aug['statement_id']}']")
    row.wait_for()
    [entry] = studio.get(f"/statements/{aug['statement_id']}/entries/{me}").json()
    shown = row.locator("td.amount button")
    assert shown.inner_text() == f"¥{entry['amount']:,}" and shown.get_attribute("title") == f"{entry['amount']:,} minor units of JPY"
    shown.click()
    page.locator("#explanation li.source").first.wait_for()
    text = page.inner_text("#explanation")
    assert f"work {cel} \"第3話 原画\"" in text and "linked at 70 %" in text and "usage report AUG" in text and "line AUG-0" in text
    _shot(page, "holder-explanation")
    page.locator("#charts svg").nth(1).wait_for()
    charts = page.inner_text("#charts")
    assert "JPY by month" in charts and "2026-08" in charts and "2026-09" in charts and "第3話 原画" in charts
    work_row = page.locator(f"#works-table tr[data-work='{cel}']")
    work_row.wait_for()
    assert "ai generative training allowed" in work_row.locator("td.terms").inner_text() and h1[:14] in work_row.locator("td.outputs").inner_text()
    assert work_row.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth > 0")
    _shot(page, "holder-workplace")
    work_row.get_by_role("button", name="Revoke AI training").click()
    page.wait_for_function(f"(document.querySelector(\"#works-table tr[data-work='{cel}'] td.terms\") || {{textContent: ''}}).textContent.startsWith('AI training: not allowed')")
    assert studio.get(f"/works/{cel}").json()["terms"]["uses"]["ai_generative_training"] == "notAllowed"
    assert "claimed in" in row.locator("td.status").inner_text()
