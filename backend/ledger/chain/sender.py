"""The single path by which the ledger sends transactions: nonce, gas, signing, receipt, errors.

A lock serialises sends from one account within the process, so concurrent API requests never
race for a nonce. Reverts are simulated first (eth_call) so the caller gets the contract's custom
error before anything is broadcast.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import TxReceipt

from ledger.chain.calls import Call
from ledger.chain.errors import ErrorDecoder

if TYPE_CHECKING:
    from ledger.chain.outbox import Outbox


class TransactionFailed(RuntimeError):
    """Mined but status 0: should not happen after a successful simulation, but is checked."""


class TxSender:
    def __init__(self, w3: Web3, account: LocalAccount, decoder: ErrorDecoder, timeout_s: float = 120, outbox: "Outbox | None" = None) -> None:
        self.w3 = w3
        self.account = account
        self.decoder = decoder
        self.timeout_s = timeout_s
        self.outbox = outbox  # where signed transactions are recorded before they are broadcast
        self._lock = threading.Lock()

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

    def _fees(self) -> dict[str, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tip = int(self.w3.eth.max_priority_fee)
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _submit(self, build: Callable[[dict[str, Any]], dict[str, Any]], what: str) -> TxReceipt:
        """Fills nonce and chain id, signs, records in the outbox, broadcasts and waits; one sender
        at a time per account."""
        with self._lock:
            tx = build(
                {
                    "from": self.account.address,
                    "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                    "chainId": self.w3.eth.chain_id,
                }
            )
            signed = self.account.sign_transaction(tx)
            if self.outbox is not None:
                self.outbox.record(self.account.address, int(tx["nonce"]), what, signed.raw_transaction, signed.hash)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout_s)
        if self.outbox is not None:
            self.outbox.settle(tx_hash, receipt)
        if receipt["status"] != 1:
            raise TransactionFailed(f"{what} {HexBytes(tx_hash).to_0x_hex()} reverted")
        return receipt

    def send(self, call: Call, gas: int | None = None) -> TxReceipt:
        """Simulates, signs and sends ``call``, waits for its receipt and returns it."""
        self.simulate(call)

        def build(base: dict[str, Any]) -> dict[str, Any]:
            tx = {**base, "to": call.to, "data": call.data, "value": 0, **self._fees()}
            tx["gas"] = gas or int(self.w3.eth.estimate_gas(tx)) * 11 // 10
            return tx

        return self._submit(build, call.function)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> TxReceipt:
        constructor = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args)
        return self._submit(constructor.build_transaction, "deployment")
