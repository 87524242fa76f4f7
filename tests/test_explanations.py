"""Why this amount: a holder's amount walked back to outputs (direct links, through a derivative),
a model's pool, the usage lines and the anchored report, exact to the unit; in the API and the CLI."""

import json

from eth_account import Account
from typer.testing import CliRunner

from ledger.accounting.allocation import allocate
from ledger.cli.main import app
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.factories import _upload, _work

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}


def test_an_amount_is_explained_down_to_its_usage_lines(ledger: Ledger, server: Server) -> None:
    holder_key = create_api_key(ledger, Role.rights_holder, "studio")
    holder = client_for(server, holder_key.token)
    a_acc, c_acc = Account.create().address, Account.create().address
    a = _work(holder, 0xE001, 1000, [{"account": a_acc, "share_bps": 7000}, {"account": c_acc, "share_bps": 3000}])
    b = _work(holder, 0xE002, 0, [])
    platform_key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, platform_key.token)
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "55" * 32, "work_ids": [a, b]}).json()["model_id"]
    h1, h2, h3, h4 = ("0x" + f"{0xE100 + i:064x}" for i in range(4))

    def output(h: str, links: list[tuple[int, int, str]]) -> None:
        body = {"output_hash": h, "model_id": model, "links": [{"work_id": w, "weight_bps": x, "kind": k} for w, x, k in links]}
        assert platform.post("/outputs", json=body).status_code == 201

    output(h1, [(a, 6000, "training"), (b, 4000, "training")])
    output(h2, [(a, 10_000, "training")])
    d = _work(holder, 0xE101, 0, [{"account": Account.create().address, "share_bps": 10_000}], reference=True)  # h2, registered as a work
    output(h3, [(b, 5000, "training"), (d, 5000, "reference")])  # reaches a through the derivative d (a's royalty: 10 %)
    output(h4, [])  # no links: its model's pool
    address = platform_key.holder_address
    csv = "\n".join([
        f"HEAD,OCT-X,{address},2026-10-01,2026-10-31,JPY",
        f"LINE,x1,{h1},g1,generation,pay_per_use,JP,1,10001",
        f"LINE,x2,{h1},g1b,generation,pay_per_use,JP,2,333",
        f"LINE,x3,{h2},g2,generation,pay_per_use,JP,1,5000",
        f"LINE,x4,{h3},g3,generation,pay_per_use,JP,1,20000",
        f"LINE,x5,{h4},g4,generation,pay_per_use,US,1,999",
        f"LINE,x6,model:{model},plan,subscription,subscription,JP,9,7777",
        "FOOT,6,44110",
    ]) + "\n"  # fmt: skip
    assert _upload(platform, csv.encode()).status_code == 201
    accountant_key = create_api_key(ledger, Role.accountant, "acct")
    accountant = client_for(server, accountant_key.token)
    closed = accountant.post("/statements", json=OCTOBER)
    assert closed.status_code == 201, closed.text
    sid = closed.json()["statement_id"]
    doc = json.loads(accountant.get(f"/statements/{sid}/document").content)
    share = doc["reports"][0]["platformShareBps"]
    pool = lambda revenue: allocate(revenue, [10_000 - share, share])[0]  # noqa: E731

    resp = accountant.get(f"/statements/{sid}/explanation", params={"account": a_acc, "work": a})
    assert resp.status_code == 200, resp.text
    e = resp.json()
    [w] = e["works"]
    [part] = w["reports"]
    assert part["asPublished"] and part["report"]["reportId"] == "OCT-X" and part["report"]["anchorTx"].startswith("0x")
    assert w["ownerShareBps"] == 7000 and part["amount"] == allocate(part["workTotal"], [7000, 3000])[0] == w["amount"]
    sources = {(s["kind"], s["outputHash"] or s["modelId"]): s for s in part["sources"]}
    assert sum(s["amount"] for s in part["sources"]) == part["workTotal"]  # every unit accounted for
    direct = sources[("output", h1)]
    assert direct["linkWeightBps"] == 6000 and direct["lines"] == 2 and direct["revenue"] == 10_334
    assert direct["amount"] == allocate(pool(10_001), [6000, 4000])[0] + allocate(pool(333), [6000, 4000])[0]
    assert [line["line_id"] for line in direct["topLines"]] == ["x1", "x2"]  # the largest first
    # h2 (the file later registered as the derivative work d) links a at 100 %: its usage reaches a directly.
    assert sources[("output", h2)]["amount"] == pool(5000) and sources[("output", h2)]["linkWeightBps"] == 10_000
    through = sources[("output", h3)]
    assert through["linkWeightBps"] is None and through["through"] == [d]
    d_part = allocate(pool(20_000), [5000, 5000])[1]
    assert through["amount"] == allocate(d_part, [1000, 9000])[0]  # a's 10 % royalty of what d got
    # The pool: the unlinked output's and the model line's pools, summed, split equally over a and b.
    pooled = sources[("pool", model)]
    assert pooled["poolWorks"] == 2 and pooled["lines"] == 2 and pooled["revenue"] == 999 + 7777
    assert pooled["amount"] == allocate(pool(999) + pool(7777), [1, 1])[0]

    # Through the CLI; another holder's key may not read it.
    other = create_api_key(ledger, Role.rights_holder, "other")
    assert client_for(server, other.token).get(f"/statements/{sid}/explanation", params={"account": a_acc}).status_code == 403
    runner = CliRunner(env={"COLUMNS": "300"})
    result = runner.invoke(app, ["statements", "explain", sid, "--account", a_acc, "--api-url", server.url, "--api-key", accountant_key.token])
    assert result.exit_code == 0, result.output
    assert "linked at 60 %" in result.output and f"through derivative works [{d}]" in result.output and "split equally over 2 works" in result.output
    assert "line x1 (file line 2)" in result.output
    assert accountant.get(f"/statements/{sid}/explanation", params={"account": a_acc, "work": 424242}).status_code == 404
