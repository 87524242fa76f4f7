"""The projection follows every registry event, resumes after restarts, and rebuilds from logs."""

from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.registry import Owner, owners_hash
from ledger.chain.sender import TxSender
from ledger.models import IndexerIncident, Work, WorkOwner, WorkTermsVersion
from ledger.runtime import Ledger
from ledger.services.keys import authenticate, custodial_signer
from tests.conftest import rebuilt_from_chain

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


def test_changes_made_directly_on_chain_are_projected(ledger: Ledger, holder: httpx.Client, holder_key: str) -> None:
    [work_id] = _register(holder, 1, 1)
    me = _holder_sender(ledger, holder_key)
    fns = ledger.registry.contract.functions
    newcomer, new_payout = "0x" + "77" * 20, "0x" + "88" * 20
    me.send(ledger.call("WorkRegistry", "updateTerms", work_id, (0, 250, 0, "")))
    me.send(ledger.call("WorkRegistry", "transferShare", work_id, [(me.account.address, me.account.address, 10_000)], 0, newcomer, newcomer, 2500))
    current = sorted(
        [Owner(me.account.address, me.account.address, 7500), Owner(newcomer, newcomer, 2500)], key=lambda o: int(o.account, 16)
    )
    mine = next(i for i, o in enumerate(current) if o.account == me.account.address)
    me.send(ledger.call("WorkRegistry", "setPayout", work_id, [o.as_tuple() for o in current], mine, new_payout))

    ledger.indexer.sync()
    work = holder.get(f"/works/{work_id}").json()
    nothing = dict.fromkeys(("data_mining", "ai_inference", "ai_generative_training", "ai_training", "reference", "creator_finetune"), "notAllowed")
    assert work["terms"] == {"uses": nothing, "constraints": "", "training_allowed": False, "reference_allowed": False, "royalty_bps": 250, "expires_at": 0}
    assert [t["version"] for t in work["terms_history"]] == [1, 2]
    assert work["terms_history"][0]["training_allowed"] is True  # the past stays on record
    owners = {o["account"].lower(): (o["payout"].lower(), o["share_bps"]) for o in work["owners"]}
    assert owners == {me.account.address.lower(): (new_payout, 7500), newcomer: (newcomer, 2500)}
    assert work["owners_hash"] == "0x" + fns.ownersHashOf(work_id).call().hex()
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


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 2**64 - 1), st.binary(min_size=32, max_size=32), st.text(max_size=80), st.integers(0, 2**16 - 1), st.integers(0, 2**16 - 1),
    st.integers(0, 2**40 - 1), st.text(max_size=120), st.lists(st.tuples(st.binary(min_size=20, max_size=20), st.binary(min_size=20, max_size=20), st.integers(0, 2**16 - 1)), max_size=12),
    st.binary(min_size=32, max_size=32),
)  # fmt: skip
def test_the_quick_work_registered_decoder_reads_what_eth_abi_reads(
    work_id: int, content: bytes, cid: str, uses: int, royalty: int, expires: int, constraints: str, owners: list[tuple[bytes, bytes, int]], owners_hash: bytes
) -> None:
    from eth_abi import decode, encode
    from eth_utils import to_checksum_address

    from ledger.indexer.decoding import decode_work_registered

    manager = bytes(range(20))
    types = ["string", "(uint16,uint16,uint40,string)", "(address,address,uint16)[]", "bytes32"]
    values = [cid, (uses, royalty, expires, constraints), [("0x" + a.hex(), "0x" + p.hex(), s) for a, p, s in owners], owners_hash]
    data = encode(types, values)
    topics = [b"\0" * 32, work_id.to_bytes(32, "big"), content, bytes(12) + manager]
    got = decode_work_registered(topics, data)
    ref_cid, ref_terms, ref_owners, ref_hash = decode(types, data)
    assert got == {
        "workId": work_id, "contentHash": content, "manager": to_checksum_address(manager), "metadataCid": ref_cid,
        "terms": {"uses": ref_terms[0], "royaltyBps": ref_terms[1], "expiresAt": ref_terms[2], "constraints": ref_terms[3]},
        "owners": [{"account": to_checksum_address(a), "payout": to_checksum_address(p), "shareBps": s} for a, p, s in ref_owners],
        "ownersHash": ref_hash,
    }  # fmt: skip


def test_registrations_take_the_quick_decoder(ledger: Ledger, holder: httpx.Client) -> None:
    from ledger.indexer import decoding

    calls: list[int] = []
    real = decoding.decode_work_registered

    def counting(topics: list[bytes], data: bytes) -> dict[str, object]:
        calls.append(1)
        return real(topics, data)

    decoding.decode_work_registered = counting  # type: ignore[assignment]
    try:
        resp = holder.post("/works", json={"title": "quick", "content_hash": "0x" + "7e" * 32, "terms": {"training_allowed": True, "royalty_bps": 100}})
        assert resp.status_code == 201 and calls, resp.text
    finally:
        decoding.decode_work_registered = real  # type: ignore[assignment]


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
