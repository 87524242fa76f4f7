"""The single path by which the ledger sends transactions: nonce, gas, signing, receipt, errors.

A lock serialises sends from one account within the process, and the outbox's file lock across
processes, from reading the nonce until the node has the transaction, so concurrent API requests
never race for a nonce; waiting for the receipt (``settle``) holds neither. Reverts are simulated
first (eth_call) so the caller gets the contract's custom error before anything is broadcast.

A transaction not mined within ``FeePolicy.bump_after_s`` is **replaced**: the same transaction
(same nonce) signed again with fees raised by ``bump_percent`` (nodes require at least 10 %), up
to ``max_fee_per_gas`` when set. Every version is recorded in the outbox before it is broadcast;
whichever is mined settles the send, and the others are marked ``replaced``. One nonce, so the
call lands once, whatever the version.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxReceipt

from ledger.chain.calls import Call
from ledger.chain.errors import ErrorDecoder
from ledger.chain.outbox import Clock, Outbox, first_receipt
from ledger.chain.rpc import JsonRpc, receipt_of, block as rpc_block


log = logging.getLogger(__name__)


class TransactionFailed(RuntimeError):
    """Mined but status 0: should not happen after a successful simulation, but is checked."""


@dataclass(frozen=True)
class FeePolicy:
    """When and how far a transaction stuck in the mempool is re-priced."""

    bump_after_s: float = 30.0  # no receipt after this long: send a higher-fee replacement
    bump_percent: int = 25  # geth and most nodes refuse a replacement below +10 %
    max_fee_per_gas: int | None = None  # wei; never offer more (None: no cap)
    poll_s: float = 1.0  # longest pause between receipt polls (``outbox.first_receipt``)


@dataclass(frozen=True)
class Dispatched:
    """A signed transaction the node has (``TxSender.dispatch``), not yet known to be mined:
    every version of it so far (``hashes``: a fee bump adds one)."""

    tx: dict[str, Any]
    what: str
    hashes: list[bytes]


class TxSender:
    def __init__(
        self, w3: Web3, account: LocalAccount, decoder: ErrorDecoder, timeout_s: float = 120, outbox: Outbox | None = None,
        fees: FeePolicy | None = None, clock: Clock = Clock(), confirmations: int = 1,
        after_mined: Callable[[int], None] | None = None,
    ) -> None:  # fmt: skip
        self.w3 = w3
        self.account = account
        self.decoder = decoder
        self.timeout_s = timeout_s
        self.outbox = outbox  # where signed transactions are recorded before they are broadcast
        self.fees = fees or FeePolicy()
        self.clock = clock
        #: Blocks that must include a transaction (its own counts as one) before a send returns.
        self.confirmations = confirmations
        #: Called with the block of every mined transaction before a send returns (the embedded
        #: node's state saver: ``durability.ChainStateSaver.save``).
        self.after_mined = after_mined
        self._lock = threading.Lock()
        self.rpc = JsonRpc(w3)  # a send's own round trips, posted straight (``chain.rpc``)
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def _revert_data(self, exc: Exception) -> Any:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        return data

    def simulate(self, call: Call, sender: str | None = None) -> bytes:
        """eth_call (from the operator, or ``sender``); raises ContractRevert with the decoded custom error."""
        try:
            return bytes(self.w3.eth.call({"from": sender or self.account.address, "to": call.to, "data": call.data}))
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.decoder.decode(self._revert_data(exc)) from exc

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        """eth_estimateGas on the pending state, where a transaction numbered after those sent
        and not yet mined will run (a relayed forward request is signed with the pending nonce);
        a revert (the state changed since the simulation: a concurrent duplicate was mined first)
        raises ContractRevert with the decoded custom error."""
        try:
            return int(self.w3.eth.estimate_gas(tx, "pending"))  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.decoder.decode(self._revert_data(exc)) from exc

    _FEE_REQUESTS = [rpc_block("latest"), ("eth_maxPriorityFeePerGas", [])]

    def _fees(self) -> dict[str, int]:
        return self._fees_of(*self.rpc.batch(self._FEE_REQUESTS, errors=True))

    def _fees_of(self, latest: dict[str, Any], tip: str | Exception) -> dict[str, int]:
        """EIP-1559 fees from the latest block's base fee and the node's suggested tip; a node
        without ``eth_maxPriorityFeePerGas`` gets web3's estimate from the fee history instead."""
        base = int(latest.get("baseFeePerGas") or "0x0", 16)
        suggested = int(self.w3.eth.max_priority_fee) if isinstance(tip, Exception) else int(tip, 16)
        return self._capped({"maxFeePerGas": 2 * base + suggested, "maxPriorityFeePerGas": suggested})

    def _next(self) -> dict[str, Any]:
        """The next transaction's sender, nonce, chain id and fees: one round trip."""
        count, latest, tip = self.rpc.batch([("eth_getTransactionCount", [self.account.address, "pending"]), *self._FEE_REQUESTS], errors=True)
        for answer in (count, latest):
            if isinstance(answer, Exception):
                raise answer
        return {"from": self.account.address, "nonce": int(count, 16), "chainId": self.chain_id, **self._fees_of(latest, tip)}

    def _block_time(self, receipt: TxReceipt) -> int:
        """The time of the receipt's block: from its logs where the node puts it there, else asked."""
        stamped = next((log["blockTimestamp"] for log in receipt["logs"] if "blockTimestamp" in log), None)
        if stamped is not None:
            return int(stamped)
        return int(self.rpc.call(*rpc_block(int(receipt["blockNumber"])))["timestamp"], 16)

    def broadcast(self, raw: bytes) -> None:
        self.rpc.call("eth_sendRawTransaction", [HexBytes(raw).to_0x_hex()])

    def receipt(self, tx_hash: bytes | str) -> TxReceipt | None:
        """The transaction's receipt, or None while it is not mined."""
        found = self.rpc.call("eth_getTransactionReceipt", [HexBytes(tx_hash).to_0x_hex()])
        return None if found is None else receipt_of(found)

    def _capped(self, fees: dict[str, int]) -> dict[str, int]:
        cap = self.fees.max_fee_per_gas
        if cap is None:
            return fees
        return {"maxFeePerGas": min(fees["maxFeePerGas"], cap), "maxPriorityFeePerGas": min(fees["maxPriorityFeePerGas"], cap)}

    def _bumped(self, tx: dict[str, Any]) -> dict[str, Any] | None:
        """The same transaction at higher fees (at least ``bump_percent`` more, and what the chain
        asks now), or None when the cap leaves no room for a replacement nodes would accept."""
        if "maxFeePerGas" not in tx:
            return None  # a legacy-priced transaction: waited for, not re-priced
        up = lambda v: int(v) * (100 + self.fees.bump_percent) // 100 + 1  # noqa: E731
        now = self._fees()
        fees = self._capped(
            {"maxFeePerGas": max(up(tx["maxFeePerGas"]), now["maxFeePerGas"]), "maxPriorityFeePerGas": max(up(tx["maxPriorityFeePerGas"]), now["maxPriorityFeePerGas"])}
        )
        if fees["maxFeePerGas"] * 100 < int(tx["maxFeePerGas"]) * 110 or fees["maxPriorityFeePerGas"] * 100 < int(tx["maxPriorityFeePerGas"]) * 110:
            return None
        return {**tx, **fees}

    def _sign_and_broadcast(self, tx: dict[str, Any], what: str) -> bytes:
        """Signs, records in the outbox, broadcasts; a replacement the node refuses is settled as
        ``refused`` in the outbox and the error raised."""
        signed = self.account.sign_transaction(tx)
        if self.outbox is not None:
            self.outbox.record(self.account.address, int(tx["nonce"]), what, signed.raw_transaction, signed.hash)
        try:
            self.broadcast(signed.raw_transaction)
        except (ValueError, Web3RPCError):
            if self.outbox is not None and "fee bump" in what:
                self.outbox.settle(signed.hash, None, "refused")
            raise
        return bytes(signed.hash)

    def _submit(self, build: Callable[[dict[str, Any]], dict[str, Any]], what: str) -> TxReceipt:
        return self.settle(self._dispatch(build, what))

    def _dispatch(self, build: Callable[[dict[str, Any]], dict[str, Any]], what: str) -> Dispatched:
        """Fills nonce and chain id, signs, records in the outbox and broadcasts: one sender at a
        time per account, in this process and across processes, until the node has it."""
        with self._lock, self.outbox.nonce_lock() if self.outbox is not None else nullcontext():
            tx = build(self._next())
            return Dispatched(tx, what, [self._sign_and_broadcast(tx, what)])

    def settle(self, sent: Dispatched) -> TxReceipt:
        """Waits for a dispatched transaction's receipt, re-pricing it while it is stuck, settles
        it in the outbox and makes it durable. Holds no lock: another send can be signed and
        broadcast meanwhile (the node orders one account's transactions by nonce)."""
        tx, what, hashes = sent.tx, sent.what, list(sent.hashes)
        deadline = self.clock.now() + self.timeout_s
        while (found := first_receipt(self.receipt, hashes, min(self.fees.bump_after_s, max(0.0, deadline - self.clock.now())), self.fees.poll_s, self.clock)) is None:
            if self.clock.now() >= deadline:
                raise TimeExhausted(f"{what} {HexBytes(hashes[-1]).to_0x_hex()} not mined within {self.timeout_s} s (outbox: pending)")
            bumped = self._bumped(tx)
            if bumped is None:
                continue
            try:
                hashes.append(self._sign_and_broadcast(bumped, f"{what} (fee bump {len(hashes)})"))
                tx = bumped
                log.warning("%s: not mined after %s s; replaced with maxFeePerGas %s", what, self.fees.bump_after_s, bumped["maxFeePerGas"])
            except (ValueError, Web3RPCError) as exc:  # mined meanwhile ("nonce too low"), or the node wants more: keep waiting
                log.info("%s: replacement refused by the node: %s", what, exc)
        receipt = found[1]
        if self.outbox is not None:
            timestamp = self._block_time(receipt)
            for h in hashes:
                if h == bytes(receipt["transactionHash"]):
                    self.outbox.settle(h, receipt, block_timestamp=timestamp)
                else:
                    self.outbox.settle(h, None, "replaced")
        if receipt["status"] != 1:
            raise TransactionFailed(f"{what} {HexBytes(receipt['transactionHash']).to_0x_hex()} reverted")
        self._make_durable(int(receipt["blockNumber"]))
        return receipt

    def _make_durable(self, block: int) -> None:
        """Waits for the confirmations, then has the embedded node's state written to disk."""
        deadline = self.clock.now() + self.timeout_s
        while self.confirmations > 1 and int(self.w3.eth.block_number) < block + self.confirmations - 1:
            if self.clock.now() >= deadline:
                raise TimeExhausted(f"block {block} did not get {self.confirmations} confirmations within {self.timeout_s} s")
            self.clock.sleep(self.fees.poll_s)
        if self.after_mined is not None:
            self.after_mined(block)

    def send(self, call: Call, gas: int | None = None, simulate: bool = True) -> TxReceipt:
        """Simulates, signs and sends ``call``, waits for its receipt and returns it. The gas
        estimate is the simulation (a revert raises with the decoded error) unless ``gas`` is
        given; ``simulate=False`` skips it then (a call that cannot revert for its caller's sake,
        like a non-atomic batch of forward requests)."""
        return self.settle(self.dispatch(call, gas, simulate))

    def dispatch(self, call: Call, gas: int | None = None, simulate: bool = True) -> Dispatched:
        """``send`` up to the broadcast: what must happen under a caller's lock (the relayer's,
        whose forward requests are numbered by what is already sent); ``settle`` then waits."""
        if gas is not None and simulate:
            self.simulate(call)

        def build(base: dict[str, Any]) -> dict[str, Any]:
            tx = {**base, "to": call.to, "data": call.data, "value": 0}
            tx["gas"] = gas or self.estimate_gas(tx) * 11 // 10
            return tx

        return self._dispatch(build, call.function)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> TxReceipt:
        constructor = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args)
        return self._submit(constructor.build_transaction, "deployment")
