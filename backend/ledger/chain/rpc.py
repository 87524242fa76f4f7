"""JSON-RPC posted straight to the node, for the hot paths: the indexer's log reads and the
relay's turn.

web3.py formats every request and answer through layers of middleware and formatters: about a
millisecond and a half of Python a call here, against a few hundred microseconds posted straight.
A relay turn made eleven such calls one after another, each giving up the GIL and waiting to get
it back from the request threads; batched here it makes four round trips. Answers keep the
node's hex; ``log_of`` and ``receipt_of`` turn logs and receipts into the types web3 gives (the
projectors and ``process_receipt`` read them alike).

A node that fails raises what web3's provider would, so the API answers 503 as for any other
call to a node that is down (``chain.health.UNREACHABLE``); an error answer raises
``Web3RPCError`` as web3 does.
"""

import http.client
import json
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.datastructures import AttributeDict
from web3.exceptions import Web3RPCError
from web3.types import TxReceipt

from ledger_recorder.typed import checksum

Request = tuple[str, list[Any]]


def block(number: int | str) -> Request:
    """eth_getBlockByNumber for block ``number`` (or a tag such as ``"latest"``), without its
    transactions: what every caller here wants of a block (its time, hash or gas limit)."""
    return ("eth_getBlockByNumber", [hex(number) if isinstance(number, int) else number, False])


class JsonRpc:
    """One node's JSON-RPC endpoint. Over HTTP, a kept-alive ``http.client`` connection per
    thread (httpx's and requests' pools cost about a millisecond of Python a request here, most
    of what a local node's answer takes); any other provider goes through web3's provider,
    unbatched."""

    def __init__(self, w3: Web3) -> None:
        self.provider = w3.provider
        self._local = threading.local()
        if isinstance(self.provider, HTTPProvider):
            url = urlsplit(str(self.provider.endpoint_uri))
            self._https = url.scheme == "https"
            self._host, self._port = url.hostname or "localhost", url.port
            self._path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            timeout = dict(self.provider.get_request_kwargs()).get("timeout", 30)
            self._timeout = float(max(timeout) if isinstance(timeout, tuple) else timeout)
            self._headers = {**dict(self.provider.get_request_headers()), "Content-Type": "application/json", "Connection": "keep-alive"}

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = self._local.conn = kind(self._host, self._port, timeout=self._timeout)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _post(self, payload: Any, what: str) -> Any:
        body = json.dumps(payload).encode()
        for attempt in (0, 1):
            conn = self._connection()
            reused = conn.sock is not None
            try:
                conn.request("POST", self._path, body, self._headers)
                resp = conn.getresponse()
                content = resp.read()
            except TimeoutError as exc:
                self._drop()
                raise requests.exceptions.Timeout(f"{what}: {exc}") from exc
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # A kept-alive connection the node had closed meanwhile: the request never got
                # there, so it is sent once more on a new one.
                self._drop()
                if reused and attempt == 0:
                    continue
                raise requests.exceptions.ConnectionError(f"{what}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise requests.exceptions.ConnectionError(f"{what}: {exc}") from exc
            if resp.status != 200:
                self._drop()
                raise requests.exceptions.HTTPError(f"{what}: HTTP {resp.status} {content[:200]!r}")
            if resp.will_close:
                self._drop()
            return json.loads(content)
        raise AssertionError("unreachable")

    def answer(self, method: str, params: list[Any]) -> dict[str, Any]:
        """The node's whole answer (``result`` or ``error``)."""
        if not isinstance(self.provider, HTTPProvider):
            return dict(self.provider.make_request(method, params))  # type: ignore[arg-type]
        answer: dict[str, Any] = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, method)
        return answer

    def call(self, method: str, params: list[Any]) -> Any:
        """The result, or ``Web3RPCError`` with the node's error."""
        return _result(self.answer(method, params), method)

    def batch(self, requests_: Sequence[Request], errors: bool = False) -> list[Any]:
        """Several calls in one round trip; their results in order. An error answer raises, as
        ``call``, or with ``errors`` takes its result's place as a ``Web3RPCError``."""
        if not isinstance(self.provider, HTTPProvider):
            return [_result(self.answer(m, p), m, errors) for m, p in requests_]
        what = ", ".join(m for m, _ in requests_)
        answers = self._post([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(requests_)], what)
        if not isinstance(answers, list):  # a node that refuses batches answers one error
            raise Web3RPCError(f"{what}: {answers.get('error') if isinstance(answers, dict) else answers}")
        by_id = {a.get("id"): a for a in answers}
        return [_result(by_id.get(i, {"error": "no answer"}), m, errors) for i, (m, _) in enumerate(requests_)]


def _result(answer: dict[str, Any], method: str, errors: bool = False) -> Any:
    if "error" in answer:
        error = Web3RPCError(f"{method}: {answer['error']}", rpc_response=answer)  # type: ignore[arg-type]
        if errors:
            return error
        raise error
    return answer.get("result")


def log_of(raw: dict[str, Any], addresses: dict[str, str], shared: dict[str, HexBytes]) -> dict[str, Any]:
    """A log as web3 gives it, from the node's hex. ``addresses`` and ``shared`` keep the values
    logs repeat (contract addresses, transaction and block hashes, topics): made once each."""
    address = raw["address"]
    if address not in addresses:
        addresses[address] = checksum(address)
    found = []
    for text in (raw["transactionHash"], raw["blockHash"], *raw["topics"]):
        if text not in shared:
            shared[text] = HexBytes(bytes.fromhex(text[2:]))
        found.append(shared[text])
    log = {
        "address": addresses[address], "topics": found[2:], "data": HexBytes(bytes.fromhex(raw["data"][2:])), "blockNumber": int(raw["blockNumber"], 16),
        "logIndex": int(raw["logIndex"], 16), "transactionHash": found[0], "transactionIndex": int(raw["transactionIndex"], 16),
        "blockHash": found[1], "removed": bool(raw.get("removed", False)),
    }  # fmt: skip
    if raw.get("blockTimestamp") is not None:  # nodes that follow the 2025 addition to logs (anvil, geth) give their block's time
        log["blockTimestamp"] = int(raw["blockTimestamp"], 16)
    return log


_INTS = ("blockNumber", "cumulativeGasUsed", "effectiveGasPrice", "gasUsed", "status", "transactionIndex", "type", "blobGasUsed", "blobGasPrice")


def receipt_of(raw: dict[str, Any]) -> TxReceipt:
    """A receipt as web3 gives it (the fields the ledger reads: numbers as ints, hashes as
    HexBytes, addresses checksummed, logs as ``log_of``), from the node's hex."""
    out: dict[str, Any] = dict(raw)
    for k in _INTS:
        if out.get(k) is not None:
            out[k] = int(out[k], 16)
    for k in ("transactionHash", "blockHash", "logsBloom"):
        if out.get(k) is not None:
            out[k] = HexBytes(bytes.fromhex(out[k][2:]))
    for k in ("from", "to", "contractAddress"):
        if out.get(k):
            out[k] = checksum(out[k])
    addresses: dict[str, str] = {}
    shared: dict[str, HexBytes] = {}
    out["logs"] = [log_of(log, addresses, shared) for log in raw.get("logs", [])]  # dicts: web3's event decoding reads them alike
    return AttributeDict(out)  # type: ignore[return-value]
