"""A 201 means durable: the embedded node's state is on disk before the answer, and a
transaction a chain lost anyway (restarted from an older state) is sent again with the same
bytes at the next start, so the work comes back under its id and a retry is a 409, not a 500."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from web3 import Web3

from ledger.chain.durability import ChainStateSaver
from ledger.chain.node import AnvilNode
from ledger.models import IndexerIncident, Role, Work
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, free_port, make_settings, operation_outcome

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


@pytest.fixture
def slow_dumping_node(tmp_path: Path) -> Iterator[AnvilNode]:
    """anvil that writes its state file only every hour (and on a clean exit): whatever is
    durable after a SIGKILL is what the ledger saved itself."""
    node = AnvilNode(tmp_path / "chain", free_port(), state_interval_s=3600)
    node.start()
    yield node
    node.stop()


def test_a_registration_answered_201_survives_the_node_being_killed(slow_dumping_node: AnvilNode, tmp_path: Path) -> None:
    """Regression: a work answered 201 vanished when the node was killed within a second."""
    ledger = open_ledger(make_settings(tmp_path / "data", slow_dumping_node.url, f"sqlite:///{tmp_path / 'l.db'}"), deploy=True, node=slow_dumping_node)
    token = create_api_key(ledger, Role.rights_holder, "studio").token
    with Server(ledger) as server, client_for(server, token) as c:
        resp = c.post("/works", json={"title": "kept", "terms": TERMS, "content_hash": "0x" + "d1" * 32})
        assert resp.status_code == 201
        mined = ledger.w3.eth.get_transaction_receipt(resp.json()["tx_hash"])
        slow_dumping_node.kill()  # no dump of its own, and none by the ledger since its start: the outbox has it
        slow_dumping_node.start()  # and replays it into the node before anyone talks to it
        assert ledger.registry.contract.functions.workCount().call() == 1
        again = ledger.w3.eth.get_transaction_receipt(resp.json()["tx_hash"])
        assert (again["blockNumber"], again["blockHash"]) == (mined["blockNumber"], mined["blockHash"])
        assert c.get(f"/works/{resp.json()['work_id']}").status_code == 200
        second = c.post("/works", json={"title": "after", "terms": TERMS, "content_hash": "0x" + "d3" * 32})
        assert second.status_code == 201 and second.json()["work_id"] == 2, second.text
    with Session(ledger.engine) as s:
        assert s.exec(select(IndexerIncident)).all() == []  # the same blocks: nothing was rebuilt
    assert ledger.sender.after_mined is None  # no state dump per write
    ledger.engine.dispose()


def test_a_transaction_the_chain_lost_is_sent_again_and_a_retry_is_a_409(slow_dumping_node: AnvilNode, tmp_path: Path) -> None:
    """Regression: after the node lost a mined registration, its id went to another work and the
    identical retry answered 500 (the outbox refused the same signed bytes)."""
    settings = make_settings(tmp_path / "data", slow_dumping_node.url, f"sqlite:///{tmp_path / 'l.db'}")
    ledger = open_ledger(settings, deploy=True)  # no state saver: this ledger does not run the node
    token = create_api_key(ledger, Role.rights_holder, "studio").token
    ChainStateSaver(ledger.w3, slow_dumping_node.state_file).save(ledger.w3.eth.block_number)
    before = tmp_path / "before.json"
    shutil.copy(slow_dumping_node.state_file, before)
    spec = {"title": "lost and found", "terms": TERMS, "content_hash": "0x" + "d2" * 32}
    with Server(ledger) as server, client_for(server, token) as c:
        first = c.post("/works", json=spec)
        assert first.status_code == 201
    work_id = first.json()["work_id"]
    mined = ledger.w3.eth.get_transaction_receipt(first.json()["tx_hash"])
    block = ledger.w3.eth.get_block(mined["blockNumber"])
    ledger.engine.dispose()
    slow_dumping_node.kill()
    shutil.copy(before, slow_dumping_node.state_file)  # the node comes back from before the registration
    slow_dumping_node.start()
    # ... an hour later by its clock: sent again now, the forward request would be past its deadline
    # (a lost work, as before the replay), and in any case in a block with another hash.
    node_w3 = Web3(Web3.HTTPProvider(slow_dumping_node.url))
    node_w3.provider.make_request("evm_setTime", [int(block["timestamp"]) + 3600])  # type: ignore[arg-type]

    restarted = open_ledger(settings, deploy=False)  # recovery sends the lost transaction again
    assert restarted.registry.contract.functions.workCount().call() == 1
    # ... into the very same block: its own timestamp, so the same hash (nothing projected moves).
    again = restarted.w3.eth.get_transaction_receipt(first.json()["tx_hash"])
    assert again["blockNumber"] == mined["blockNumber"] and again["blockHash"] == mined["blockHash"]
    assert restarted.w3.eth.get_block(block["number"])["timestamp"] == block["timestamp"]
    with Server(restarted) as server, client_for(server, token) as c:
        retry = c.post("/works", json=spec)
        assert retry.status_code == 409 and retry.json()["work_id"] == work_id, retry.text
        assert c.get(f"/works/{work_id}").json()["content_hash"] == spec["content_hash"]
    with Session(restarted.engine) as s:
        assert s.get(Work, work_id) is not None
    restarted.engine.dispose()


def test_a_replay_funds_an_account_again_before_the_transaction_that_spends_it(slow_dumping_node: AnvilNode, tmp_path: Path) -> None:
    """Gas money the ledger gave an account on the development node (anvil_setBalance, no
    transaction) is journaled: a replay gives it again first, so the account's own transaction
    lands in the same block again instead of being refused for want of funds."""
    from eth_account import Account

    from ledger.chain.calls import Encoder
    from ledger.chain.compiler import compile_contract
    from ledger.chain.deployment import fund_on_dev_chain
    from ledger.chain.sender import TxSender

    settings = make_settings(tmp_path / "data", slow_dumping_node.url, f"sqlite:///{tmp_path / 'l.db'}")
    ledger = open_ledger(settings, deploy=True)
    compiled = compile_contract("test/SettlementTokenForTests.sol")
    token = ledger.w3.eth.contract(address=ledger.sender.deploy(compiled.abi, compiled.bytecode, ledger.operator.address)["contractAddress"], abi=compiled.abi)
    ChainStateSaver(ledger.w3, slow_dumping_node.state_file).save(ledger.w3.eth.block_number)
    before = tmp_path / "before.json"
    shutil.copy(slow_dumping_node.state_file, before)
    spender = Account.create()
    fund_on_dev_chain(ledger.w3, spender.address, outbox=ledger.sender.outbox)
    own = TxSender(ledger.w3, spender, ledger.sender.decoder, outbox=ledger.sender.outbox, fees=ledger.sender.fees)
    approved = own.send(Encoder(token)("approve", ledger.distributor.address, 12345))
    ledger.engine.dispose()
    slow_dumping_node.kill()
    shutil.copy(before, slow_dumping_node.state_file)  # from before the funding and the approval
    slow_dumping_node.start()

    restarted = open_ledger(settings, deploy=False)
    again = restarted.w3.eth.get_transaction_receipt(approved["transactionHash"])
    assert again["blockNumber"] == approved["blockNumber"] and again["blockHash"] == approved["blockHash"]
    assert token.functions.allowance(spender.address, ledger.distributor.address).call() == 12345
    restarted.engine.dispose()


def test_a_caller_that_will_not_wait_gets_202_and_a_status_url(ledger: Ledger, server: Server, holder_key: str) -> None:
    """On a chain that takes minutes to confirm, `Prefer: respond-async` answers at once; the
    outcome (the answer the caller would have had) is kept for the key that asked."""
    spec = {"title": "later", "terms": TERMS, "content_hash": "0x" + "d3" * 32}
    with client_for(server, holder_key) as c:
        resp = c.post("/works", json=spec, headers={"Prefer": "respond-async"})
        assert resp.status_code == 202 and resp.headers["preference-applied"] == "respond-async"
        url = resp.json()["status_url"]
        assert resp.headers["location"] == url
        op = operation_outcome(c, resp)
        assert op["status"] == "done" and op["http_status"] == 201 and op["result"]["content_hash"] == spec["content_hash"]  # type: ignore[index]
        op = operation_outcome(c, c.post("/works/batch", json={"works": [spec]}, headers={"Prefer": "respond-async"}))
        assert op["http_status"] == 409 and op["result"]["work_id"] == c.get(url).json()["result"]["work_id"]
        assert c.post("/works", json={**spec, "title": ""}, headers={"Prefer": "respond-async"}).status_code == 422  # validated before accepting
    other = create_api_key(ledger, Role.rights_holder, "other").token
    with client_for(server, other) as o:
        assert o.get(url).status_code == 404


def test_outcomes_of_writes_answered_202_are_forgotten_after_the_keeping_window(ledger: Ledger) -> None:
    """`forget_old` (run at start) removes outcomes finished longer ago than
    `LEDGER_OPERATION_KEEP_DAYS`; a newer one, and one still running however old, stay."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel import Session

    from ledger.models import Operation
    from ledger.services.operations import forget_old

    now = datetime.now(timezone.utc)  # handed to forget_old: the rows' ages are exact, whatever the machine's pace
    keep = timedelta(days=ledger.settings.operation_keep_days)
    rows = {
        "old": Operation(id="f0" * 16, key_id=1, kind="t", status="done", created_at=now - keep * 2, finished_at=now - keep - timedelta(seconds=1)),
        "new": Operation(id="f1" * 16, key_id=1, kind="t", status="done", created_at=now - keep * 2, finished_at=now - keep + timedelta(seconds=1)),
        "running": Operation(id="f2" * 16, key_id=1, kind="t", status="running", created_at=now - keep * 3),
    }
    ids = {name: row.id for name, row in rows.items()}
    with Session(ledger.engine) as s:
        s.add_all(rows.values())
        s.commit()
    assert forget_old(ledger, now=now) == 1
    with Session(ledger.engine) as s:
        left = {name for name, op_id in ids.items() if s.get(Operation, op_id) is not None}
    assert left == {"new", "running"}
