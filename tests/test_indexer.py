"""The projection follows every registry event, resumes after restarts, and rebuilds from logs."""

from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.registry import Owner, WorkState, owners_hash
from ledger.chain.sender import TxSender
from ledger.models import IndexerIncident, Work, WorkOwner, WorkTermsVersion
from ledger.runtime import Ledger
from ledger.services.keys import authenticate, custodial_signer
from tests.conftest import on_chain_state_is_projected, rebuilt_from_chain

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def _register(holder: httpx.Client, n: int, seed: int) -> list[int]:
    works = [{"title": f"w{i}", "terms": TERMS, "content_hash": "0x" + f"{seed:032x}{i:032x}"} for i in range(n)]
    resp = holder.post("/works/batch", json={"works": works})
    assert resp.status_code == 201, resp.text
    return [r["work_id"] for r in resp.json()]


def _snapshot(ledger: Ledger) -> list[tuple[object, ...]]:
    """Everything the projection holds, in a stable order, for comparing two databases."""
    with Session(ledger.engine) as s:
        works = [tuple(w.model_dump().values()) for w in s.exec(select(Work).order_by(Work.work_id)).all()]
        owners = [tuple(o.model_dump().values()) for o in s.exec(select(WorkOwner).order_by(WorkOwner.work_id, WorkOwner.account)).all()]
        terms = [tuple(t.model_dump().values()) for t in s.exec(select(WorkTermsVersion).order_by(WorkTermsVersion.work_id, WorkTermsVersion.version)).all()]
    return works + owners + terms


def _holder_sender(ledger: Ledger, token: str) -> TxSender:
    with Session(ledger.engine) as s:
        key = authenticate(s, token)
    assert key is not None
    signer = custodial_signer(ledger, key)
    fund_on_dev_chain(ledger.w3, signer.address)
    return TxSender(ledger.w3, signer, ledger.sender.decoder)


def _state(ledger: Ledger, work_id: int) -> tuple[object, ...]:
    """The work's current state, as a holder calling the registry itself reads it from the projection."""
    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        return WorkState.of(s.get_one(Work, work_id)).as_tuple()


def test_changes_made_directly_on_chain_are_projected(ledger: Ledger, holder: httpx.Client, holder_key: str) -> None:
    [work_id] = _register(holder, 1, 1)
    me = _holder_sender(ledger, holder_key)
    newcomer, new_payout = "0x" + "77" * 20, "0x" + "88" * 20
    me.send(ledger.call("WorkRegistry", "updateTerms", _state(ledger, work_id), (0, 250, 0, "")))
    me.send(ledger.call("WorkRegistry", "transferShare", _state(ledger, work_id), [(me.account.address, me.account.address, 10_000)], 0, newcomer, newcomer, 2500))
    current = sorted(
        [Owner(me.account.address, me.account.address, 7500), Owner(newcomer, newcomer, 2500)], key=lambda o: int(o.account, 16)
    )
    mine = next(i for i, o in enumerate(current) if o.account == me.account.address)
    me.send(ledger.call("WorkRegistry", "setPayout", _state(ledger, work_id), [o.as_tuple() for o in current], mine, new_payout))

    ledger.indexer.sync()
    work = holder.get(f"/works/{work_id}").json()
    nothing = dict.fromkeys(("data_mining", "ai_inference", "ai_generative_training", "ai_training", "reference", "creator_finetune"), "notAllowed")
    assert work["terms"] == {"uses": nothing, "constraints": "", "training_allowed": False, "reference_allowed": False, "royalty_bps": 250, "expires_at": 0}
    assert [t["version"] for t in work["terms_history"]] == [1, 2]
    assert work["terms_history"][0]["training_allowed"] is True  # the past stays on record
    owners = {o["account"].lower(): (o["payout"].lower(), o["share_bps"]) for o in work["owners"]}
    assert owners == {me.account.address.lower(): (new_payout, 7500), newcomer: (newcomer, 2500)}
    assert on_chain_state_is_projected(ledger, work_id)
    assert bytes.fromhex(work["owners_hash"][2:]) == owners_hash(
        [Owner(o["account"], o["payout"], o["share_bps"]) for o in work["owners"]]
    )


def test_indexer_resumes_from_its_checkpoint(ledger: Ledger, holder: httpx.Client) -> None:
    _register(holder, 3, 2)
    ledger.indexer.sync()
    before = _snapshot(ledger)
    fresh = ledger.new_indexer()
    result = fresh.sync()
    assert result.events == 0 and not result.rebuilt
    assert _snapshot(ledger) == before


def test_a_new_database_is_rebuilt_from_logs_alone(ledger: Ledger, holder: httpx.Client, tmp_path: Path) -> None:
    _register(holder, 4, 3)
    ledger.indexer.sync()
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "rebuild")
    assert _snapshot(rebuilt) == _snapshot(ledger)


def test_chain_that_fell_behind_the_database_is_detected_and_wins(ledger: Ledger, holder: httpx.Client) -> None:
    _register(holder, 2, 4)
    ledger.indexer.sync()
    snapshot_id = ledger.w3.provider.make_request("evm_snapshot", [])["result"]
    _register(holder, 3, 5)  # these will be lost, like blocks a killed local chain never dumped
    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Work)).one() == 5
    ledger.w3.provider.make_request("evm_revert", [snapshot_id])
    ledger.w3.provider.make_request("anvil_mine", [hex(10)])  # head passes the checkpoint: hashes differ

    ledger.indexer.sync()  # (the API's poller may get there first; either way one rebuild happens)
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Work)).one() == 2
        incident = s.exec(select(IndexerIncident)).one()
    assert incident.works_before == 5 and incident.works_after == 2
    assert "block" in incident.detail
    health = holder.get("/health").json()
    assert health["works"] == 2 and health["incidents"][0]["kind"] == "divergence"


def test_no_sync_runs_while_the_indexer_is_paused(ledger: Ledger) -> None:
    """Statement close pauses the indexer while it writes and publishes: a sync started meanwhile
    (the API's poller) waits for it."""
    import threading

    done = threading.Event()

    def sync() -> None:
        ledger.indexer.sync()
        done.set()

    with ledger.indexer.paused():
        worker = threading.Thread(target=sync, daemon=True)
        worker.start()
        assert not done.wait(0.5)  # blocked
    assert done.wait(30)  # runs once the pause ends


def test_a_node_that_stops_answering_mid_sync_raises_what_the_api_answers_503_to(tmp_path: Path) -> None:
    """The indexer reads logs with its own HTTP client; a node gone between two calls must raise
    what web3's provider raises, which the API turns into a 503, not a 500."""
    import socket

    import pytest
    from web3 import HTTPProvider, Web3

    from ledger.chain.health import UNREACHABLE
    from ledger.content.store import LocalBlockStore
    from ledger.db import init_db, make_engine
    from ledger.indexer.runner import Indexer

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    indexer = Indexer(Web3(HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 2})), engine, {}, LocalBlockStore(tmp_path), 0)
    with pytest.raises(UNREACHABLE):
        indexer._logs(0, 1)
    engine.dispose()


def test_a_chain_behind_the_projection_gets_time_to_catch_up_before_a_rebuild(ledger: Ledger, holder: httpx.Client) -> None:
    """A restarting embedded node replays its lost blocks within seconds, the very same blocks: the
    projection waits for that (`behind_grace_s`, on an injected clock) instead of rebuilding at once;
    a chain still behind after the grace wins as before."""
    _register(holder, 2, 6)
    ledger.indexer.sync()
    snapshot_id = ledger.w3.provider.make_request("evm_snapshot", [])["result"]
    _register(holder, 3, 7)
    indexer = ledger.new_indexer()  # its own clock; the API's poller keeps the real one
    indexer.sync()
    now = [1000.0]
    indexer.clock = lambda: now[0]
    ledger.w3.provider.make_request("evm_revert", [snapshot_id])  # the head is behind the checkpoint now
    assert not indexer.sync().rebuilt
    now[0] += indexer.behind_grace_s - 1
    assert not indexer.sync().rebuilt
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Work)).one() == 5 and s.exec(select(IndexerIncident)).all() == []
    now[0] += 2
    assert indexer.sync().rebuilt
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Work)).one() == 2
