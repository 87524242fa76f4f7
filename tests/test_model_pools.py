"""Model-level revenue end to end: a subscription line for a 1,000-work model, an output line
with links and one of an output registered without links, closed into a statement and
recomputed from the chain, the usage file and the training-set list alone."""

import json
from pathlib import Path

import httpx
from eth_account import Account
from typer.testing import CliRunner

from ledger.accounting.allocation import allocate
from ledger.cli.main import app
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.factories import _upload

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}
FORBIDDEN = {7, 250, 499, 730, 998}  # positions in the set whose terms refuse training


def _days(period: dict[str, str]) -> tuple[int, int]:
    from datetime import date

    from ledger.dates import unix_day

    return unix_day(date.fromisoformat(period["period_start"]), False), unix_day(date.fromisoformat(period["period_end"]), True)


def _register_set(holder: httpx.Client, me: str, co_owner: str) -> list[int]:
    """1,000 works in batches of 200; the first is co-owned 70/30; five refuse training."""
    ids: list[int] = []
    for lo in range(0, 1000, 200):
        works = [
            {"title": f"frame {i}", "content_hash": "0x" + f"{0xF0000 + i:064x}", "terms": {"training_allowed": i not in FORBIDDEN, "royalty_bps": 0},
             **({"owners": [{"account": co_owner, "share_bps": 3000}, {"account": me, "share_bps": 7000}]} if i == 0 else {})}
            for i in range(lo, lo + 200)
        ]  # fmt: skip
        resp = holder.post("/works/batch", json={"works": works})
        assert resp.status_code == 201, resp.text
        ids += [w["work_id"] for w in resp.json()]
    return ids


def test_model_revenue_pays_the_licensed_training_set(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    holder_key = create_api_key(ledger, Role.rights_holder, "studio")
    holder = client_for(server, holder_key.token)
    me = holder_key.holder_address
    assert me is not None
    co_owner = Account.create().address
    ids = _register_set(holder, me, co_owner)
    platform_key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, platform_key.token)
    address = platform_key.holder_address
    resp = platform.post("/models", json={"name": "anime-base", "weights_hash": "0x" + "33" * 32, "work_ids": ids})
    assert resp.status_code == 201, resp.text
    model = resp.json()["model_id"]
    linked, unlinked = "0x" + "a1" * 32, "0x" + "a2" * 32
    assert platform.post("/outputs", json={"output_hash": linked, "model_id": model, "links": [{"work_id": ids[1], "weight_bps": 10_000}]}).status_code == 201
    resp = platform.post("/outputs", json={"output_hash": unlinked, "model_id": model, "links": []})
    assert resp.status_code == 201, resp.text

    # A model line is refused for a model of another platform and with an output's use type.
    other = create_api_key(ledger, Role.platform, "other")
    foreign = client_for(server, other.token).post("/usage", json={
        "report": {"report_id": "X", "platform": other.holder_address, "period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"},
        "lines": [{"line_id": "x1", "model_id": model, "use_type": "subscription", "commercial_model": "subscription", "territory": "JP", "uses": 1, "revenue": 5}],
    })  # fmt: skip
    assert foreign.status_code == 422 and "not a registered model of this platform" in foreign.text
    wrong_use = f"HEAD,W,{address},2026-10-01,2026-10-31,JPY\nLINE,w1,model:{model},,generation,subscription,JP,1,5\nFOOT,1,5\n"
    refused = _upload(platform, wrong_use.encode())
    assert refused.status_code == 422 and "for a line naming a model" in refused.text

    csv = "\n".join([
        f"HEAD,OCT-M,{address},2026-10-01,2026-10-31,JPY",
        f"LINE,m1,model:{model},plan-basic,subscription,subscription,JP,120,1000003",
        f"LINE,m2,model:{model},plan-pro,subscription,subscription,JP,30,499999",
        f"LINE,o1,{linked},gen-1,generation,pay_per_use,JP,1,50000",
        f"LINE,o2,{unlinked},gen-2,generation,pay_per_use,JP,1,20001",
        "FOOT,4,1570003",
    ]) + "\n"  # fmt: skip
    assert _upload(platform, csv.encode()).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    closed = accountant.post("/statements", json=OCTOBER)
    assert closed.status_code == 201, closed.text
    statement_id = closed.json()["statement_id"]
    raw = accountant.get(f"/statements/{statement_id}/document").content
    doc = json.loads(raw)

    # The pool: the three lines naming the model or its unlinked output, each less the platform's
    # share line by line, summed for the report and split equally over the 995 licensed works.
    [report] = doc["reports"]
    share = report["platformShareBps"]
    pools = [allocate(r, [10_000 - share, share])[0] for r in (1000003, 499999, 20001)]
    pooled = doc["modelPools"]
    assert pooled["rule"] == "equal per paid work, or by the weights declared with the training list"
    assert pooled["shares"] == [{"report": 0, "model": model, "lines": 3, "revenue": 1520003, "pool": sum(pools)}]
    [about] = pooled["models"]
    assert about["works"] == 995 and about["unavailableSets"] == [] and about["weights"] == "equal"
    assert about["excluded"] == [{"workId": ids[i], "status": "training_forbidden", "declaredBy": model} for i in sorted(FORBIDDEN)]
    paid = [w for i, w in enumerate(ids) if i not in FORBIDDEN]
    expected = dict(zip(paid, allocate(sum(pools), [1] * len(paid))))
    expected[ids[1]] += allocate(50000, [10_000 - share, share])[0]  # and the linked output's pool
    entries = {e["account"]: e["amount"] for e in doc["entries"]}
    keys = [(e["account"], e["payout"]) for e in doc["entries"]]
    by_work: dict[int, int] = {}
    for _, work, _, amount in doc["lines"]:
        by_work[work] = by_work.get(work, 0) + amount
    assert by_work == expected  # every licensed work paid, to the unit; no forbidden one
    first = expected[ids[0]]
    assert [x for (a, _), x in zip(keys, doc["entries"]) if a == co_owner][0]["amount"] == allocate(first, [3000, 7000])[0]
    assert entries[me] == sum(expected.values()) - allocate(first, [3000, 7000])[0]
    assert doc["holdersTotal"] + doc["platformTotal"] == doc["revenue"] == 1570003

    # Anyone recomputes it from the chain, the usage file and the training list (checked against
    # its root on chain): through the CLI, with --blocks; without it the verifier says what it lacks.
    usage = tmp_path / "usage"
    usage.mkdir()
    (usage / "oct.csv").write_text(csv)
    document = tmp_path / "statement.json"
    document.write_bytes(raw)
    runner = CliRunner(env={"COLUMNS": "300"})  # rich wraps its table at the terminal's width
    common = ["statements", "verify", str(document), "--rpc-url", ledger.settings.rpc_url, "--usage", str(usage)]
    result = runner.invoke(app, [*common, "--blocks", str(ledger.settings.blocks_dir)])
    assert result.exit_code == 0, result.output
    assert "model pools recomputed" in result.output and "995 works paid, 5 excluded" in result.output
    blind = runner.invoke(app, common)
    assert blind.exit_code == 1 and "training set list is not in the content store" in blind.output

    # A forged pool section (a forbidden work paid, or a different rule) does not verify.
    from ledger.services.statement_verifier import recompute_statement
    from ledger.content.canonical import canonical

    forged = {**doc, "modelPools": {**pooled, "models": [{**about, "works": 1000, "excluded": []}]}}
    work = tmp_path / "re"
    work.mkdir()
    failed = [c for c in recompute_statement(ledger.w3, canonical(forged), [usage / "oct.csv"], work, ledger.settings.blocks_dir) if not c.ok]
    assert [c.name for c in failed] == ["model pools recomputed"] and ".models[0].excluded" in failed[0].detail

    # A run reads its lines in pieces straight into the engine: pieces of one line, of two (a
    # piece mixing currencies, pools and output lines) and of all at once give the same run.
    usd = "\n".join([
        f"HEAD,OCT-USD,{address},2026-10-01,2026-10-31,USD",
        f"LINE,u1,model:{model},plan-basic,subscription,subscription,US,10,70001",
        f"LINE,u2,{linked},gen-9,generation,pay_per_use,US,1,333",
        f"LINE,u3,{unlinked},gen-8,generation,pay_per_use,US,1,4444",
        "FOOT,3,74778",
    ]) + "\n"  # fmt: skip
    assert _upload(platform, usd.encode()).status_code == 201
    from ledger.services import royalties

    def run_in_pieces(size: int) -> list[royalties.RoyaltyRun]:
        default = royalties.PIECE_LINES
        royalties.PIECE_LINES = size
        try:
            return royalties.compute(ledger, *_days(OCTOBER), traced=True)
        finally:
            royalties.PIECE_LINES = default

    whole = run_in_pieces(10**6)
    assert [r.currency for r in whole] == ["JPY", "USD"] and whole[1].revenue == 74778
    for size in (1, 2):
        for a, b in zip(run_in_pieces(size), whole, strict=True):
            assert (a.payees, a.work_totals, a.reports, a.pool_shares, a.revenue, a.platform_total) == (b.payees, b.work_totals, b.reports, b.pool_shares, b.revenue, b.platform_total)
            assert a.traces is not None and b.traces is not None
            assert all(getattr(a.traces, f).tolist() == getattr(b.traces, f).tolist() for f in ("payee", "work_id", "report", "amount"))


def test_model_lines_nobody_could_be_paid_from_are_refused(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """A model trained only on works whose terms refused it has no one to pay: its revenue is
    refused at import, with the reason, rather than closed into a statement that cannot pay it."""
    works = [{"title": f"n{i}", "content_hash": "0x" + f"{0xE0000 + i:064x}", "terms": {"training_allowed": False, "royalty_bps": 0}} for i in range(3)]
    ids = [w["work_id"] for w in holder.post("/works/batch", json={"works": works}).json()]
    key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, key.token)
    model = platform.post("/models", json={"name": "tainted", "weights_hash": "0x" + "44" * 32, "work_ids": ids}).json()["model_id"]
    assert platform.post("/outputs", json={"output_hash": "0x" + "b1" * 32, "model_id": model, "links": []}).status_code == 201
    for subject, use in ((f"model:{model}", "training_fee"), ("0x" + "b1" * 32, "generation")):
        body = f"HEAD,T-{use},{key.holder_address},2026-10-01,2026-10-31,JPY\nLINE,t-{use},{subject},,{use},other,JP,1,100\nFOOT,1,100\n"
        resp = _upload(platform, body.encode())
        assert resp.status_code == 422, resp.text
        assert f"model {model} has no work whose terms allowed its training" in resp.json()["detail"]
    assert platform.get("/usage/reports").json() == []  # nothing half-written


def test_a_platform_may_declare_each_works_weight_in_its_pool(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path) -> None:
    """Weights declared with the training list (committed by its CID on chain) split the pool
    instead of equal shares, to the unit; the explanation and the verifier say so."""
    works = [{"title": f"w{i}", "content_hash": "0x" + f"{0xF9000 + i:064x}", "terms": {"training_allowed": i != 2, "royalty_bps": 0}} for i in range(4)]
    ids = [w["work_id"] for w in holder.post("/works/batch", json={"works": works}).json()]
    key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, key.token)
    bad = platform.post("/models", json={"name": "w", "weights_hash": "0x" + "77" * 32, "work_ids": ids, "pool_weights": [1, 2]})
    assert bad.status_code == 422 and "one weight" in bad.json()["detail"]
    declared = dict(zip(ids, [5, 3, 7, 2]))  # the third work refuses training: its 7 pays no one
    resp = platform.post("/models", json={"name": "w", "weights_hash": "0x" + "77" * 32, "work_ids": ids[::-1], "pool_weights": [declared[w] for w in ids[::-1]]})
    assert resp.status_code == 201, resp.text
    model = resp.json()["model_id"]
    csv = f"HEAD,W,{key.holder_address},2026-10-01,2026-10-31,JPY\nLINE,w1,model:{model},,training_fee,other,JP,1,100000\nFOOT,1,100000\n"
    assert _upload(platform, csv.encode()).status_code == 201
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    closed = accountant.post("/statements", json=OCTOBER)
    assert closed.status_code == 201, closed.text
    raw = accountant.get(f"/statements/{closed.json()['statement_id']}/document").content
    doc = json.loads(raw)
    share = doc["reports"][0]["platformShareBps"]
    pool = allocate(100_000, [10_000 - share, share])[0]
    paid = [w for w in ids if w != ids[2]]
    expected = dict(zip(paid, allocate(pool, [declared[w] for w in paid])))
    by_work: dict[int, int] = {}
    for _, work, _, amount in doc["lines"]:
        by_work[work] = by_work.get(work, 0) + amount
    assert by_work == expected and doc["modelPools"]["models"][0]["weights"] == "declared"
    e = accountant.get(f"/statements/{closed.json()['statement_id']}/explanation", params={"account": holder.get(f"/works/{ids[0]}").json()["manager"], "work": ids[0]}).json()
    [src] = e["works"][0]["reports"][0]["sources"]
    assert (src["poolDeclared"], src["poolWeight"], src["poolWeightTotal"], src["amount"]) == (True, 5, 10, expected[ids[0]])
    usage = tmp_path / "u"
    usage.mkdir()
    (usage / "w.csv").write_text(csv)
    from ledger.services.statement_verifier import recompute_statement

    work = tmp_path / "re"
    work.mkdir()
    assert [c.name for c in recompute_statement(ledger.w3, raw, [usage / "w.csv"], work, ledger.settings.blocks_dir) if not c.ok] == []
