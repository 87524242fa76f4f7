"""JSON-RPC posted straight (``chain.rpc``): the same receipts and logs web3 gives, batches
answered in order, and a node that drops or refuses connections handled as web3's provider would."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError

from ledger.chain.rpc import JsonRpc
from ledger.reliability.api_process import free_port
from ledger.runtime import Ledger


def test_a_receipt_posted_straight_reads_as_web3s(ledger: Ledger) -> None:
    """Every field the ledger reads, with web3's types, for a registration with several logs."""
    from ledger.services.keys import create_api_key
    from ledger.models import Role

    create_api_key(ledger, Role.rights_holder, "rpc")  # a transaction of the operator's, with logs
    tx = ledger.sender.outbox.entries("mined")[-1].tx_hash if ledger.sender.outbox else None
    assert tx is not None
    ours, theirs = ledger.sender.receipt(tx), ledger.w3.eth.get_transaction_receipt(tx)
    assert ours is not None and theirs["logs"]
    for field in ("blockNumber", "blockHash", "transactionHash", "transactionIndex", "status", "gasUsed", "cumulativeGasUsed", "effectiveGasPrice", "from", "to", "contractAddress", "type"):
        assert ours[field] == theirs[field] and type(ours[field]) is type(theirs[field]), field
    assert len(ours["logs"]) == len(theirs["logs"])
    for mine, web3s in zip(ours["logs"], theirs["logs"]):
        stamped = dict(web3s)
        if "blockTimestamp" in stamped:  # a field web3 does not know it leaves in hex; here it is read
            stamped["blockTimestamp"] = int(stamped["blockTimestamp"], 16)
        assert {k: mine[k] for k in stamped} == stamped
    assert ledger.sender.receipt("0x" + "ab" * 32) is None  # unknown: None, as while not mined
    # The block's time the outbox keeps: from the logs' stamps, or asked where a node has none.
    block_time = ledger.w3.eth.get_block(theirs["blockNumber"])["timestamp"]
    unstamped = {**ours, "logs": [{k: v for k, v in log.items() if k != "blockTimestamp"} for log in ours["logs"]]}
    assert ledger.sender._block_time(ours) == ledger.sender._block_time(unstamped) == block_time


def test_a_batch_answers_in_the_order_asked_and_an_error_raises(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3)
    head, chain = rpc.batch([("eth_blockNumber", []), ("eth_chainId", [])])
    assert int(chain, 16) == ledger.w3.eth.chain_id and int(head, 16) >= ledger.w3.eth.block_number - 1
    with pytest.raises(Web3RPCError, match="no_such_method"):
        rpc.batch([("eth_blockNumber", []), ("no_such_method", [])])
    head, error = rpc.batch([("eth_blockNumber", []), ("no_such_method", [])], errors=True)
    assert int(head, 16) >= 0 and isinstance(error, Web3RPCError)


def test_a_node_without_a_suggested_tip_gets_web3s_estimate(ledger: Ledger) -> None:
    """eth_maxPriorityFeePerGas is not on every node: its error is replaced by web3's estimate."""
    latest = ledger.sender.rpc.call("eth_getBlockByNumber", ["latest", False])
    suggested = ledger.sender._fees_of(latest, ledger.sender.rpc.call("eth_maxPriorityFeePerGas", []))
    estimated = ledger.sender._fees_of(latest, Web3RPCError("eth_maxPriorityFeePerGas: the method does not exist"))
    assert estimated == suggested and estimated["maxPriorityFeePerGas"] == ledger.w3.eth.max_priority_fee


class _NodeThatDropsIdleConnections(BaseHTTPRequestHandler):
    """A stand-in node (anvil cannot be told to) that closes each connection after answering,
    without saying so: the client's kept-alive connection is dead when it next sends."""

    protocol_version = "HTTP/1.1"
    answered = 0

    def do_POST(self) -> None:  # noqa: N802 -- http.server's name
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": hex(type(self).answered)}).encode()
        type(self).answered += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def dropping_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NodeThatDropsIdleConnections)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_connection_the_node_closed_is_opened_again(dropping_node: str) -> None:
    rpc = JsonRpc(Web3(HTTPProvider(dropping_node)))
    assert [rpc.call("eth_blockNumber", []) for _ in range(3)] == ["0x0", "0x1", "0x2"]  # each after the last was dropped


def test_a_node_that_is_down_raises_what_web3s_provider_would() -> None:
    """So the API answers 503, as for any other call to a node that is down."""
    rpc = JsonRpc(Web3(HTTPProvider(f"http://127.0.0.1:{free_port()}")))
    with pytest.raises(requests.exceptions.ConnectionError):
        rpc.call("eth_blockNumber", [])


def test_a_node_that_does_not_stamp_logs_gives_the_same_times(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs carry their block's time only on nodes that follow the 2025 addition (anvil does):
    without it, the indexer and the sender ask for the blocks, and record the same times."""
    from sqlmodel import Session, select

    from ledger.chain.registry import Terms
    from ledger.models import Role, Work
    from ledger.services.keys import authenticate, create_api_key
    from ledger.services.works import WorkRequest, register_works
    from tests.conftest import rebuilt_from_chain

    key = create_api_key(ledger, Role.rights_holder, "stamps")
    with Session(ledger.engine) as s:
        api_key = authenticate(s, key.token)
    assert api_key is not None
    register_works(ledger, api_key, [WorkRequest(f"w{i}", Terms(1, 0), content_hash=bytes([0x5A, i + 1]) + bytes(30)) for i in range(3)])
    batch = JsonRpc.batch
    removed = []

    def unstamped(self: JsonRpc, requests_: Any) -> list[Any]:  # as a node without the field answers
        found = batch(self, requests_)
        for (method, _), result in zip(requests_, found):
            if method == "eth_getLogs":
                removed.extend(log.pop("blockTimestamp") for log in result if "blockTimestamp" in log)
        return found

    monkeypatch.setattr(JsonRpc, "batch", unstamped)
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "unstamped")
    with Session(ledger.engine) as a, Session(rebuilt.engine) as b:
        stamped = {w.work_id: w.registered_at for w in a.exec(select(Work)).all()}
        asked = {w.work_id: w.registered_at for w in b.exec(select(Work)).all()}
    assert removed and stamped and asked == stamped  # the rebuild read logs without their times
    rebuilt.engine.dispose()
