"""A royalty run end to end: works, model, outputs (one through a derivative), usage, split."""

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from eth_account import Account
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.dates import unix_day
from ledger.models import Checkpoint, PlatformShare, Role, UsageLine, WorkOwnerVersion
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from ledger.services.platform_shares import shares_for
from tests.factories import _work  # noqa: F401
from tests.conftest import Server, client_for, operation_outcome, rebuilt_from_chain


def test_royalty_run_conserves_and_follows_the_policy(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    a_acc, b_acc, c_acc, a_pay = (Account.create().address for _ in range(4))
    a = _work(holder, 1, 1000, [{"account": a_acc, "payout": a_pay, "share_bps": 7000}, {"account": b_acc, "share_bps": 3000}])
    b = _work(holder, 2, 2000, [{"account": a_acc, "payout": a_pay, "share_bps": 10_000}])
    platform_key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, platform_key.token)
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [a, b]}).json()["model_id"]
    h1, h2, h3 = ("0x" + f"{0xA000 + i:064x}" for i in range(3))

    def output(h: str, links: list[tuple[int, int]], reference: set[int] = set()) -> None:
        kinds = {w: "reference" if w in reference else "training" for w, _ in links}
        body = {"output_hash": h, "model_id": model, "links": [{"work_id": w, "weight_bps": x, "kind": kinds[w]} for w, x in links]}
        assert platform.post("/outputs", json=body).status_code == 201

    output(h1, [(a, 6000), (b, 4000)])
    output(h2, [(a, 10_000)])
    d = _work(holder, 0xA001, 0, [{"account": c_acc, "share_bps": 10_000}], reference=True)  # output h2, registered as a work
    assert holder.get(f"/outputs/{h2}").json()["derived_work_id"] == d
    output(h3, [(b, 5000), (d, 5000)], reference={d})  # h2 was an input of h3 (not in the model's training set)

    csv = "\n".join([
        f"HEAD,NOV,{platform_key.holder_address},2026-11-01,2026-11-30,JPY",
        f"LINE,N1,{h1},gen-1,generation,subscription,JP,3,10001",
        f"LINE,N2,{h3},gen-3,generation,subscription,JP,5,20000",
        "FOOT,2,30001",
    ]) + "\n"  # fmt: skip
    assert platform.post("/usage/reports", files={"file": ("nov.csv", csv.encode())}).status_code == 201

    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    assert platform.get("/royalties", params={"period_start": "2026-11-01", "period_end": "2026-11-30"}).status_code == 403
    [run] = accountant.get("/royalties", params={"period_start": "2026-11-01", "period_end": "2026-11-30"}).json()
    # Line 1: 10001 -> platform 3000, pool 7001 -> a 4201, b 2800.
    # Line 2: 20000 -> platform 6000, pool 14000 -> b 7000, d 7000; d passes a's 10 % royalty: a 700, d keeps 6300.
    assert run["platform_total"] == 9000 and run["revenue"] == 30001 and run["holders_total"] == 21001
    assert run["work_totals"] == {str(a): 4901, str(b): 9800, str(d): 6300}
    payees = {(p["account"], p["payout"]): p["amount"] for p in run["payees"]}
    assert payees == {(a_acc, a_pay): 3431 + 9800, (b_acc, b_acc): 1470, (c_acc, c_acc): 6300}

    # Re-importing the same file changes nothing; a correction replaces a line, the original stays.
    assert platform.post("/usage/reports", files={"file": ("nov.csv", csv.encode())}).status_code == 200
    again = accountant.get("/royalties", params={"period_start": "2026-11-01", "period_end": "2026-11-30"}).json()
    assert again == [run]
    correction = "\n".join([
        f"HEAD,NOV-FIX,{platform_key.holder_address},2026-11-01,2026-11-30,JPY,NOV",
        f"LINE,N2-FIX,{h3},gen-3,generation,subscription,JP,5,10000,N2",
        "FOOT,1,10000",
    ]) + "\n"  # fmt: skip
    assert platform.post("/usage/reports", files={"file": ("fix.csv", correction.encode())}).status_code == 201
    [fixed] = accountant.get("/royalties", params={"period_start": "2026-11-01", "period_end": "2026-11-30"}).json()
    assert fixed["revenue"] == 20001 and fixed["holders_total"] + fixed["platform_total"] == 20001
    assert accountant.get("/royalties", params={"period_start": "2026-12-01", "period_end": "2026-12-31"}).json() == []


def test_cli_imports_a_report_and_computes(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ledger.cli.main import app

    w = _work(holder, 7, 500, [{"account": Account.create().address, "share_bps": 10_000}])
    platform_key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, platform_key.token)
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [w]}).json()["model_id"]
    hashes = ["0x" + f"{0xB000 + i:064x}" for i in range(50)]
    body = {"outputs": [{"output_hash": h, "model_id": model, "links": [{"work_id": w, "weight_bps": 10_000}]} for h in hashes]}
    assert platform.post("/outputs/batch", json=body).status_code == 201
    lines = [f"LINE,C{i},{hashes[i % 50]},ref,stream,ad_supported,ZZ,1,{i}" for i in range(5000)]
    report = tmp_path / "big.csv"
    report.write_text("\n".join([f"HEAD,BIG,{platform_key.holder_address},2026-10-01,2026-10-31,EUR", *lines, f"FOOT,5000,{sum(range(5000))}"]) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["usage", "import", str(report), "--api-url", server.url, "--api-key", platform_key.token])
    assert result.exit_code == 0 and "5,000 lines" in result.output, result.output
    again = runner.invoke(app, ["usage", "import", str(report), "--api-url", server.url, "--api-key", platform_key.token])
    assert again.exit_code == 0 and "nothing changed" in again.output
    accountant = create_api_key(ledger, Role.accountant, "acct").token
    out = runner.invoke(app, ["royalties", "compute", "--from", "2026-10-01", "--to", "2026-10-31", "--api-url", server.url, "--api-key", accountant])
    total = sum(range(5000))
    assert out.exit_code == 0 and f"revenue {total:,}" in out.output


def _one_output_platform(ledger: Ledger, server: Server, work: int, seed: int) -> tuple[httpx.Client, str, str]:
    """A platform with a model over ``work`` and one output linking it alone."""
    key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, key.token)
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [work]}).json()["model_id"]
    h = "0x" + f"{seed:064x}"
    body = {"output_hash": h, "model_id": model, "links": [{"work_id": work, "weight_bps": 10_000}]}
    assert platform.post("/outputs", json=body).status_code == 201
    assert key.holder_address is not None
    return platform, key.holder_address, h


def _report(platform: httpx.Client, address: str, report_id: str, day: str, h: str, revenue: int) -> None:
    csv = f"HEAD,{report_id},{address},{day},{day},USD\nLINE,{report_id}-1,{h},x,generation,pay_per_use,ZZ,1,{revenue}\nFOOT,1,{revenue}\n"
    resp = platform.post("/usage/reports", files={"file": ("r.csv", csv.encode())})
    assert resp.status_code == 201, resp.text


def test_a_period_pays_the_owners_in_force_at_its_end(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """A share transfer inside the period applies to it; one after its end does not, so re-running
    a closed period gives the same amounts."""
    work = _work(holder, 0xB001, 0, [])
    owner = holder.get(f"/works/{work}").json()["manager"]
    platform, address, h = _one_output_platform(ledger, server, work, 0xB101)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)

    now = ledger.w3.eth.get_block("latest")["timestamp"]
    day = datetime.fromtimestamp(now, timezone.utc).date()
    period = {"period_start": day.isoformat(), "period_end": day.isoformat()}
    _report(platform, address, "D1", day.isoformat(), h, 10_000)
    first, second = Account.create().address, Account.create().address
    assert holder.post(f"/works/{work}/share-transfers", json={"to": first, "share_bps": 2500}).status_code == 200  # inside the period
    [before] = accountant.get("/royalties", params=period).json()

    end_of_day = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) + 86_399
    ledger.w3.provider.make_request("evm_mine", [end_of_day + 1])  # the chain moves past the period's end
    assert holder.post(f"/works/{work}/share-transfers", json={"to": second, "share_bps": 2500}).status_code == 200  # after it
    [after] = accountant.get("/royalties", params=period).json()
    assert after == before
    assert {p["account"]: p["amount"] for p in before["payees"]} == {owner: 5250, first: 1750}  # 70 % pool: 7000 * 75/25

    next_day = (day + timedelta(days=1)).isoformat()
    _report(platform, address, "D2", next_day, h, 10_000)
    [later] = accountant.get("/royalties", params={"period_start": next_day, "period_end": next_day}).json()
    assert {p["account"]: p["amount"] for p in later["payees"]} == {owner: 3500, first: 1750, second: 1750}


def test_usage_survives_a_rebuild_of_the_projection(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """Outputs are a projection the indexer may drop and replay; usage lines are the platform's
    records and stay, so the royalty run after the rebuild is the same."""
    work = _work(holder, 0xB002, 0, [])
    platform, address, h = _one_output_platform(ledger, server, work, 0xB102)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    _report(platform, address, "R1", "2026-11-02", h, 12_345)
    period = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    before = accountant.get("/royalties", params=period).json()
    with Session(ledger.engine) as s:  # a checkpoint the chain does not know: the indexer must rebuild
        cp = s.get_one(Checkpoint, "chain")
        cp.block_hash = "0x" + "00" * 32
        s.commit()
    assert ledger.indexer.sync().rebuilt
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(UsageLine)).one() == 1
        assert s.exec(select(func.count()).select_from(WorkOwnerVersion)).one() >= 1
    assert accountant.get("/royalties", params=period).json() == before


def test_each_platform_pays_its_own_contracted_share(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path) -> None:
    work = _work(holder, 0xB003, 0, [])
    owner = holder.get(f"/works/{work}").json()["manager"]
    first, first_address, h1 = _one_output_platform(ledger, server, work, 0xB103)
    second, second_address, h2 = _one_output_platform(ledger, server, work, 0xB104)
    admin = client_for(server, create_api_key(ledger, Role.admin, "ops").token)
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)

    share = {"share_bps": 2000, "effective_from": "2026-11-01"}
    recorded = admin.put(f"/platforms/{first_address.lower()}/shares", json=share)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["platform"] == first_address and recorded.json()["entries"][0]["share_bps"] == 2000
    assert admin.put(f"/platforms/{first_address}/shares", json=share).status_code == 200  # same entry: no change
    later = operation_outcome(admin, admin.put(f"/platforms/{first_address}/shares", json=share, headers={"Prefer": "respond-async"}))
    assert later["kind"] == "record_share" and later["http_status"] == 200 and later["result"] == recorded.json()  # not waiting: the same answer, kept
    changed = admin.put(f"/platforms/{first_address}/shares", json={**share, "share_bps": 2500})
    assert changed.status_code == 409 and "never changed" in changed.json()["detail"]
    assert admin.put(f"/platforms/{first_address}/shares", json={**share, "share_bps": 10_001}).status_code == 422
    assert admin.put(f"/platforms/{first_address}/shares", json={**share, "effective_from": "Nov 1"}).status_code == 422
    assert accountant.put(f"/platforms/{first_address}/shares", json=share).status_code == 403
    assert first.put(f"/platforms/{first_address}/shares", json={**share, "share_bps": 0}).status_code == 403
    assert accountant.get(f"/platforms/{first_address}/shares").json()["default_bps"] == 3000

    _report(first, first_address, "P1", "2026-11-03", h1, 10_000)  # 20 % from Nov 1
    _report(second, second_address, "P2", "2026-11-03", h2, 10_000)  # the default 30 %
    _report(first, first_address, "P3", "2026-10-30", h1, 10_000)  # before the entry: the default
    [run] = accountant.get("/royalties", params={"period_start": "2026-10-01", "period_end": "2026-11-30"}).json()
    assert run["platform_totals"] == {first_address: 2000 + 3000, second_address: 3000}
    assert run["platform_total"] == 8000 and run["payees"] == [{"account": owner, "payout": owner, "amount": 22_000}]

    # The shares are on chain (PlatformTerms): a database rebuilt from it has them all.
    [event] = ledger.platform_terms.events.PlatformShareSet().get_logs(argument_filters={"platform": first_address}, from_block=0)
    assert (event["args"]["effectiveFrom"], event["args"]["shareBps"]) == (unix_day(date(2026, 11, 1), False), 2000)
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "rebuilt")
    try:
        with Session(ledger.engine) as s, Session(rebuilt.engine) as r:
            assert shares_for(r, [(1, first_address, unix_day(date(2026, 11, 3), False)), (2, second_address, 0)], 0) == {1: 2000, 2: 3000}
            rows = lambda session: sorted((x.platform, x.effective_from, x.share_bps) for x in session.exec(select(PlatformShare)))  # noqa: E731
            assert rows(r) == rows(s)
    finally:
        rebuilt.engine.dispose()

    # An entry may not reach back into a period a statement has paid; the default has entries too.
    assert accountant.post("/statements", json={"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "USD"}).status_code == 201
    backdated = admin.put(f"/platforms/{first_address}/shares", json={"share_bps": 1000, "effective_from": "2026-10-15"})
    assert backdated.status_code == 409 and "already paid" in backdated.json()["detail"]
    assert admin.put(f"/platforms/{second_address}/shares", json={"share_bps": 1000, "effective_from": "2026-10-15"}).status_code == 201  # it had no report in October
    assert admin.put(f"/platforms/{'0x' + '00' * 20}/shares", json={"share_bps": 1000, "effective_from": "2026-10-31"}).status_code == 409
    assert admin.put(f"/platforms/{'0x' + '00' * 20}/shares", json={"share_bps": 2500, "effective_from": "2026-12-01"}).status_code == 201
    assert accountant.get(f"/platforms/{first_address}/shares").json()["default_bps"] == 3000  # not yet in force


def test_a_ledger_from_before_platform_terms_gets_them_on_start(ledger: Ledger) -> None:
    """An existing data directory whose deployment predates PlatformTerms: the next start deploys
    it with the configured default, and the indexer projects that default."""
    path = ledger.deployment_path
    record = json.loads(path.read_text())
    old_address = record["contracts"].pop("PlatformTerms")["address"]
    path.write_text(json.dumps(record))
    restarted = open_ledger(ledger.settings.model_copy(update={"platform_share_bps": 2500}), deploy=True)
    try:
        assert restarted.platform_terms.address != old_address and "PlatformTerms" in json.loads(path.read_text())["contracts"]
        restarted.indexer.sync()
        with Session(restarted.engine) as s:
            assert shares_for(s, [(1, Account.create().address, 0)], 0) == {1: 2500}
    finally:
        restarted.engine.dispose()
