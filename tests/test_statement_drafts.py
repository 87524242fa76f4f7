"""Draft, review, publish: a period computed into a draft changes nothing until it is published;
the review says how it moved against the period before (per holder, work and platform, largest
first); a draft made stale by new usage is refused at publication, and what is published is
exactly what was reviewed."""

import hashlib

import httpx
import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, operation_outcome
from tests.factories import _csv, _platform_with_outputs, _upload, _work

SEPTEMBER = {"period_start": "2026-09-01", "period_end": "2026-09-30", "currency": "JPY"}
OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_draft_is_reviewed_then_published_exactly_as_reviewed(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    a = _work(holder, 0xD001, 0, [])
    b = _work(holder, 0xD002, 0, [])
    platform, address, (ha, hb) = _platform_with_outputs(ledger, server, [[(a, 10_000)], [(b, 10_000)]], 0xD100)
    acct_key = create_api_key(ledger, Role.accountant, "acct")
    accountant = client_for(server, acct_key.token)
    assert _upload(platform, _csv("SEP", address, "2026-09-01", "2026-09-30", "JPY", [(ha, 10_000), (hb, 1_000)])).status_code == 201
    assert accountant.post("/statements", json=SEPTEMBER).status_code == 201
    assert _upload(platform, _csv("OCT-1", address, "2026-10-01", "2026-10-31", "JPY", [(ha, 2_000), (hb, 10_000)])).status_code == 201

    made = accountant.post("/statements/drafts", json=OCTOBER)
    assert made.status_code == 201, made.text
    d = made.json()
    assert d["status"] == "draft" and d["revenue"] == 12_000 and d["sequence"] == 0
    assert accountant.post("/statements/drafts", json=OCTOBER).json() == d  # the same draft, again (200)
    # Nothing was published or paid: no October statement, the report still unpaid.
    assert [s["period_start"] for s in accountant.get("/statements").json()] == ["2026-09-01"]
    assert holder.get("/statements/drafts").status_code == 403 and platform.get(f"/statements/drafts/{d['draft_id']}/review").status_code == 403
    doc = accountant.get(f"/statements/drafts/{d['draft_id']}/document").json()
    assert doc["periodStart"] < doc["periodEnd"] and doc["revenue"] == 12_000

    review = accountant.get(f"/statements/drafts/{d['draft_id']}/review").json()
    assert review["previous_period"] == ["2026-09-01", "2026-09-30"] and len(review["previous_statements"]) == 1
    by_work = {m["key"]: m for m in review["works"]}
    assert [m["key"] for m in review["works"]] == [str(b), str(a)]  # largest movers first: b +9,000, a -8,000 (before the platform's share)
    assert by_work[str(a)]["change"] < 0 < by_work[str(b)]["change"]
    assert [(m["key"], m["change"]) for m in review["platforms"]] == [(address, 1_000)]
    assert review["totals"]["revenue"] == {"previous": 11_000, "current": 12_000, "change": 1_000}

    # New usage makes the draft stale: publishing it is refused and writes nothing.
    assert _upload(platform, _csv("OCT-2", address, "2026-10-01", "2026-10-31", "JPY", [(ha, 500)])).status_code == 201
    stale = accountant.post(f"/statements/drafts/{d['draft_id']}/publication")
    assert stale.status_code == 409 and "draft it again" in stale.json()["detail"]
    later = operation_outcome(accountant, accountant.post(f"/statements/drafts/{d['draft_id']}/publication", headers={"Prefer": "respond-async"}))
    assert later["kind"] == "publish_draft" and later["http_status"] == 409 and later["result"] == stale.json()  # not waiting: the same refusal, kept
    assert [s["period_start"] for s in accountant.get("/statements").json()] == ["2026-09-01"]
    assert accountant.post(f"/statements/drafts/{d['draft_id']}/discard").json()["status"] == "discarded"

    # Drafted again through the CLI, reviewed, published: the statement is the reviewed document.
    runner = CliRunner()
    common = ["--api-url", server.url, "--api-key", acct_key.token]
    drafted = runner.invoke(app, ["statements", "draft", "--from", "2026-10-01", "--to", "2026-10-31", "--currency", "JPY", *common])
    assert drafted.exit_code == 0, drafted.output
    [fresh] = accountant.get("/statements/drafts", params={"status": "draft"}).json()
    assert fresh["draft_id"] != d["draft_id"] and fresh["revenue"] == 12_500
    shown = runner.invoke(app, ["statements", "review", fresh["draft_id"], *common])
    assert shown.exit_code == 0 and str(b) in shown.output and "largest movers" in shown.output, shown.output
    published = runner.invoke(app, ["statements", "publish", fresh["draft_id"], *common])
    assert published.exit_code == 0, published.output
    [_, october] = accountant.get("/statements").json()
    assert october["statement_id"] == fresh["draft_id"] and october["publish_tx"]
    raw = accountant.get(f"/statements/{october['statement_id']}/document").content
    assert "0x" + hashlib.sha256(raw).hexdigest() == fresh["draft_id"]
    assert accountant.get(f"/statements/drafts/{fresh['draft_id']}").json()["status"] == "published"
    assert accountant.post(f"/statements/drafts/{fresh['draft_id']}/discard").status_code == 409
    nothing = accountant.post("/statements/drafts", json=OCTOBER)
    assert nothing.status_code == 409 and "nothing to draft" in nothing.json()["detail"]
