"""Terms, management, payout and share changes over HTTP, and the self-custodied signing flow."""

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key

from tests.conftest import Server, client_for, on_chain_state_is_projected, operation_outcome, sign_typed

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def _register(client: httpx.Client, seed: int, **extra: object) -> int:
    resp = client.post("/works", json={"title": "w", "terms": TERMS, "content_hash": "0x" + f"{seed:064x}", **extra})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["work_id"])


def test_manager_revokes_training_and_history_is_kept(ledger: Ledger, holder: httpx.Client, server: Server) -> None:
    work_id = _register(holder, 1)
    resp = holder.put(f"/works/{work_id}/terms", json={**TERMS, "training_allowed": False})
    assert resp.status_code == 200, resp.text
    work = resp.json()
    assert work["terms"]["training_allowed"] is False and work["terms_version"] == 2
    assert [(t["version"], t["training_allowed"]) for t in work["terms_history"]] == [(1, True), (2, False)]
    assert ledger.registry.contract.functions.isTrainable(work_id).call() is False

    other = create_api_key(ledger, Role.rights_holder, "someone else").token
    with client_for(server, other) as c:
        refused = c.put(f"/works/{work_id}/terms", json=TERMS)
        assert refused.status_code == 403 and "manager" in refused.json()["detail"]
    assert holder.put(f"/works/{work_id}/terms", json={**TERMS, "expires_at": 5}).status_code == 422
    assert holder.put("/works/999999/terms", json=TERMS).status_code == 404


def test_owner_transfers_share_and_changes_payout(ledger: Ledger, holder: httpx.Client, server: Server) -> None:
    work_id = _register(holder, 2)
    me = holder.get(f"/works/{work_id}").json()["manager"]
    newcomer = Account.create().address
    resp = holder.post(f"/works/{work_id}/share-transfers", json={"to": newcomer, "share_bps": 2500})
    assert resp.status_code == 200, resp.text
    shares = {o["account"]: o["share_bps"] for o in resp.json()["owners"]}
    assert shares == {me: 7500, newcomer: 2500} and sum(shares.values()) == 10_000

    payout = Account.create().address
    resp = holder.put(f"/works/{work_id}/payout", json={"payout": payout})
    assert resp.status_code == 200
    assert {o["account"]: o["payout"] for o in resp.json()["owners"]}[me] == payout
    assert on_chain_state_is_projected(ledger, work_id)

    too_much = holder.post(f"/works/{work_id}/share-transfers", json={"to": newcomer, "share_bps": 7501})
    assert too_much.status_code == 422 and "7500" in too_much.json()["detail"]
    bad = holder.put(f"/works/{work_id}/payout", json={"payout": "0x123"})
    assert bad.status_code == 422
    stranger = create_api_key(ledger, Role.rights_holder, "stranger").token
    with client_for(server, stranger) as c:
        assert c.put(f"/works/{work_id}/payout", json={"payout": payout}).status_code == 403


def test_management_can_be_handed_over(ledger: Ledger, holder: httpx.Client, server: Server) -> None:
    work_id = _register(holder, 3)
    successor = create_api_key(ledger, Role.rights_holder, "successor")
    resp = holder.put(f"/works/{work_id}/manager", json={"manager": successor.holder_address})
    assert resp.status_code == 200 and resp.json()["manager"] == successor.holder_address
    assert holder.put(f"/works/{work_id}/terms", json=TERMS).status_code == 403
    with client_for(server, successor.token) as c:
        assert c.put(f"/works/{work_id}/terms", json={**TERMS, "royalty_bps": 900}).json()["terms"]["royalty_bps"] == 900


def test_self_custodied_holder_signs_in_own_wallet(ledger: Ledger, server: Server, wallet: LocalAccount) -> None:
    token = create_api_key(ledger, Role.rights_holder, "wallet user", address=wallet.address).token
    with client_for(server, token) as c:
        works = [{"title": f"w{i}", "terms": TERMS, "content_hash": "0x" + f"{100 + i:064x}"} for i in range(2)]
        prepared = c.post("/works/batch", json={"works": works})
        assert prepared.status_code == 202, prepared.text
        body = prepared.json()
        assert body["status"] == "signature_required" and len(body["works"]) == 2
        assert ledger.registry.contract.functions.workCount().call() == 0  # nothing on chain before signing
        typed = body["typed_data"]
        assert typed["message"]["from"] == wallet.address

        # A signature by another key, or for another sender, is refused without a transaction.
        forged = c.post("/relay", json={"message": typed["message"], "signature": sign_typed(Account.create(), typed)})
        assert forged.status_code == 422 and "signature" in forged.json()["detail"]
        other_from = {**typed["message"], "from": Account.create().address}
        assert c.post("/relay", json={"message": other_from, "signature": sign_typed(wallet, typed)}).status_code == 403

        relayed = c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)})
        assert relayed.status_code == 201, relayed.text
        registered = relayed.json()["works"]
        assert [w["content_hash"] for w in registered] == [w["content_hash"] for w in works]
        assert c.get(f"/works/{registered[0]['work_id']}").json()["manager"] == wallet.address
        # Replaying the same signed request does nothing: its nonce is used.
        replay = c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)})
        assert replay.status_code == 422

        # Changes follow the same two steps.
        change = c.put(f"/works/{registered[0]['work_id']}/terms", json={**TERMS, "training_allowed": False})
        assert change.status_code == 202
        typed = change.json()["typed_data"]
        assert c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)}).status_code == 201
        assert c.get(f"/works/{registered[0]['work_id']}").json()["terms"]["training_allowed"] is False

        # A refusal is reported at prepare time, with the contract's reason, before any signing.
        dup = c.post("/works", json=works[0])
        assert dup.status_code == 409


def test_self_custodied_platform_relays_an_output(ledger: Ledger, server: Server, holder: httpx.Client, wallet: LocalAccount) -> None:
    work_id = _register(holder, 9)
    token = create_api_key(ledger, Role.platform, "wallet platform", address=wallet.address).token
    with client_for(server, token) as c:
        prepared = c.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [work_id]})
        assert prepared.status_code == 202
        typed = prepared.json()["typed_data"]
        assert typed["message"]["to"] == ledger.models.address
        assert c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)}).status_code == 201
        ledger.indexer.sync()
        output = {"output_hash": "0x" + "42" * 32, "model_id": 1, "links": [{"work_id": work_id, "weight_bps": 10_000}]}
        prepared = c.post("/outputs", json=output)
        assert prepared.status_code == 202, prepared.text
        typed = prepared.json()["typed_data"]
        assert c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)}).status_code == 201
        got = c.get(f"/outputs/{output['output_hash']}").json()
        assert got["platform"] == wallet.address and got["links"][0]["work_id"] == work_id


def test_a_holder_that_will_not_wait_changes_a_work_in_the_background(ledger: Ledger, holder: httpx.Client, server: Server) -> None:
    """`Prefer: respond-async` on a work's changes (terms, payout): 202 at once; the operation
    then holds what the request would have answered (200 and the work as it is now, or the 403
    of a key that may not change it), and the change is on chain."""
    later = {"Prefer": "respond-async"}
    work_id = _register(holder, 0xA51)
    op = operation_outcome(holder, holder.put(f"/works/{work_id}/terms", json={**TERMS, "training_allowed": False}, headers=later))
    assert op["kind"] == "update_terms" and op["http_status"] == 200, op
    work = op["result"]
    assert isinstance(work, dict) and work["terms"]["training_allowed"] is False and work["terms_version"] == 2
    assert holder.get(f"/works/{work_id}").json() == work and ledger.registry.contract.functions.isTrainable(work_id).call() is False
    payout = Account.create().address
    op = operation_outcome(holder, holder.put(f"/works/{work_id}/payout", json={"payout": payout}, headers=later))
    assert op["http_status"] == 200 and isinstance(op["result"], dict) and op["result"]["owners"][0]["payout"] == payout, op
    with client_for(server, create_api_key(ledger, Role.rights_holder, "not the manager").token) as c:
        refused = operation_outcome(c, c.put(f"/works/{work_id}/terms", json=TERMS, headers=later))
        assert refused["http_status"] == 403 and "manager" in refused["result"]["detail"]  # type: ignore[index]
    assert holder.put(f"/works/{work_id}/terms", json={**TERMS, "royalty_bps": -1}, headers=later).status_code == 422  # validated before accepting
