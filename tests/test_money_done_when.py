"""Issue 13's acceptance, end to end through the API and the CLI: subscription revenue for a
1,000-work model, output revenue with and without links, an advance and a reserve; a period
drafted, reviewed, published and verified with the usage files; three statements claimed in one
transaction; an amount explained down to its usage lines; another holder's key reads none of it."""

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.factories import _upload

FORBIDDEN = {3, 500, 997}
MONTHS = [("AUG", "2026-08-01", "2026-08-31"), ("SEP", "2026-09-01", "2026-09-30"), ("OCT", "2026-10-01", "2026-10-31")]


def test_money_the_way_holders_and_accountants_expect_it(ledger: Ledger, server: Server, tmp_path: Path) -> None:
    studio_key = create_api_key(ledger, Role.rights_holder, "studio")
    studio = client_for(server, studio_key.token)
    me = studio_key.holder_address
    assert me is not None
    ids: list[int] = []
    for lo in range(0, 1000, 200):
        works = [{"title": f"cut {i}", "content_hash": "0x" + f"{0xD0000 + i:064x}", "terms": {"training_allowed": i not in FORBIDDEN, "royalty_bps": 0}}
                 for i in range(lo, lo + 200)]  # fmt: skip
        resp = studio.post("/works/batch", json={"works": works})
        assert resp.status_code == 201, resp.text
        ids += [w["work_id"] for w in resp.json()]
    platform_key = create_api_key(ledger, Role.platform, "anime-gen")
    platform = client_for(server, platform_key.token)
    model = platform.post("/models", json={"name": "anime-base", "weights_hash": "0x" + "66" * 32, "work_ids": ids}).json()["model_id"]
    linked, unlinked = "0x" + "c1" * 32, "0x" + "c2" * 32
    assert platform.post("/outputs", json={"output_hash": linked, "model_id": model, "links": [{"work_id": ids[1], "weight_bps": 10_000}]}).status_code == 201
    assert platform.post("/outputs", json={"output_hash": unlinked, "model_id": model, "links": []}).status_code == 201

    accountant_key = create_api_key(ledger, Role.accountant, "books")
    accountant = client_for(server, accountant_key.token)
    ledger.settings.reserve_bps, ledger.settings.reserve_release_after = 500, 2
    assert accountant.post("/advances", json={"account": me, "currency": "JPY", "amount": 50_000, "note": "MG-S1"}).status_code == 201

    usage = tmp_path / "usage"
    usage.mkdir()
    runner = CliRunner(env={"COLUMNS": "300"})
    as_accountant = ["--api-url", server.url, "--api-key", accountant_key.token]
    as_studio = ["--api-url", server.url, "--api-key", studio_key.token]
    docs: dict[str, bytes] = {}
    for name, start, end in MONTHS:
        csv = "\n".join([
            f"HEAD,{name},{platform_key.holder_address},{start},{end},JPY",
            f"LINE,{name}-sub,model:{model},plan,subscription,subscription,JP,1000,1000003",
            f"LINE,{name}-o1,{linked},g1,generation,pay_per_use,JP,1,30001",
            f"LINE,{name}-o2,{unlinked},g2,generation,pay_per_use,JP,1,7777",
            "FOOT,3,1037781",
        ]) + "\n"  # fmt: skip
        (usage / f"{name}.csv").write_text(csv)
        assert _upload(platform, csv.encode()).status_code == 201
        period = ["--from", start, "--to", end, "--currency", "JPY"]
        if name != "OCT":
            closed = accountant.post("/statements", json={"period_start": start, "period_end": end, "currency": "JPY"})
            assert closed.status_code == 201, closed.text
            docs[name] = accountant.get(f"/statements/{closed.json()['statement_id']}/document").content
            continue
        # October: drafted, reviewed against September, published only as reviewed.
        drafted = runner.invoke(app, ["statements", "draft", *period, *as_accountant])
        assert drafted.exit_code == 0, drafted.output
        [draft] = accountant.get("/statements/drafts", params={"status": "draft"}).json()
        reviewed = runner.invoke(app, ["statements", "review", draft["draft_id"], *as_accountant])
        assert reviewed.exit_code == 0 and "2026-09-01" in reviewed.output, reviewed.output
        published = runner.invoke(app, ["statements", "publish", draft["draft_id"], *as_accountant])
        assert published.exit_code == 0, published.output
        docs[name] = accountant.get(f"/statements/{draft['draft_id']}/document").content
    aug, sep, oct_ = (json.loads(docs[n]) for n, _, _ in MONTHS)
    ids_of = {n: "0x" + hashlib.sha256(docs[n]).hexdigest() for n in docs}

    # The pool paid the 997 licensed works and named the 3 others; the advance was recouped in
    # August; August's reserve came back in October.
    assert oct_["modelPools"]["models"][0]["works"] == 997 and {e["workId"] for e in oct_["modelPools"]["models"][0]["excluded"]} == {ids[i] for i in FORBIDDEN}
    [a] = [e for e in aug["entries"] if e["account"] == me]
    assert a["recouped"] == 50_000 and a["withheld"] == a["earned"] * 500 // 10_000 and a["amount"] == a["earned"] - a["withheld"] - 50_000
    [o] = [e for e in oct_["entries"] if e["account"] == me]
    assert o["released"] == a["withheld"] and oct_["reserveReleases"][0]["heldBy"] == 0

    # Verified from the chain, the usage files, the training list and the statement before it.
    (tmp_path / "oct.json").write_bytes(docs["OCT"])
    (tmp_path / "sep.json").write_bytes(docs["SEP"])
    verified = runner.invoke(app, ["statements", "verify", str(tmp_path / "oct.json"), "--rpc-url", ledger.settings.rpc_url, "--usage", str(usage),
                                   "--blocks", str(ledger.settings.blocks_dir), "--previous", str(tmp_path / "sep.json")])  # fmt: skip
    assert verified.exit_code == 0, verified.output
    for check in ("amounts recomputed", "model pools recomputed", "advances on chain", "cumulative amounts", "balances brought forward"):
        assert check in verified.output

    # The studio claims the three statements in one transaction, with its own key.
    claimed = runner.invoke(app, ["statements", "claim-all", me, *as_studio])
    assert claimed.exit_code == 0, claimed.output
    paid = sum(e["amount"] for d in (aug, sep, oct_) for e in d["entries"] if e["account"] == me)
    assert f"{paid:,}" in claimed.output
    claims = [c for c in ledger.distributor.events.Claimed().get_logs(from_block=0) if c["args"]["account"] == me]
    assert [(c["args"]["amount"], c["args"]["cumulative"]) for c in claims] == [(paid, paid)]  # one claim, one transaction
    for n in docs:
        [entry] = studio.get(f"/statements/{ids_of[n]}/entries/{me}").json()
        assert entry["claimed_tx"] == claims[0]["transactionHash"].to_0x_hex()
    assert studio.post("/claims", json={"account": me}).status_code == 409  # nothing left

    # One of its amounts, explained down to the usage lines (CLI, the studio's own key).
    explained = runner.invoke(app, ["statements", "explain", ids_of["OCT"], "--account", me, "--work", str(ids[1]), *as_studio])
    assert explained.exit_code == 0, explained.output
    assert "linked at 100 %" in explained.output and f"model {model}'s pool, split equally over 997 works" in explained.output
    assert "line OCT-o1" in explained.output and "line OCT-sub" in explained.output and "report OCT" in explained.output

    # Another holder's key reads none of the studio's amounts.
    other = client_for(server, create_api_key(ledger, Role.rights_holder, "another studio").token)
    sid = ids_of["OCT"]
    for path, params in ((f"/statements/{sid}/entries/{me}", {}), (f"/statements/{sid}/explanation", {"account": me}), (f"/statements/{sid}/document", {}),
                         (f"/statements/{sid}/export", {"format": "csv", "account": me}), ("/statements/balances", {"account": me}),
                         ("/statements/earnings", {"account": me}), ("/statements", {"account": me}), ("/advances", {"account": me})):  # fmt: skip
        assert other.get(path, params=params).status_code == 403, path
