"""Relays participants' calls through the ERC-2771 LedgerForwarder.

A participant's key signs an EIP-712 ForwardRequest for one contract call; the operator's sender
submits ``forwarder.execute(request)`` and pays the gas; the target contract sees the participant
as ``_msgSender()``. Custodial keys sign here; self-custodied participants sign the same typed data
(``typed_data``) in their own wallet and the ledger only submits it.

Custodial calls made at the same time share a transaction (``chain.coalescing``): while one is
being mined the next ones gather, and go together as ``executeBatch`` in its non-atomic form, so
a request that fails does not take the others with it. Each caller gets the receipt cut down to
its own call's logs, or its own call's error.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from hexbytes import HexBytes
from web3.datastructures import AttributeDict
from web3.types import TxReceipt

from ledger.chain.addresses import checksum
from ledger.chain.calls import Call, Encoder
from ledger.chain.coalescing import Coalescer, Settle
from ledger.chain.errors import ContractRevert
from ledger.chain.rpc import block as rpc_block
from ledger.chain.sender import Dispatched, TxSender

FORWARDER_NAME = "LedgerForwarder"
FORWARD_REQUEST_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "gas", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint48"},
    {"name": "data", "type": "bytes"},
]
FORWARD_REQUEST_TYPE = "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
#: Extra gas over the estimate: the forwarder's own work and ERC-2771's sender suffix.
GAS_MARGIN = 50_000
#: Forward requests one relayed transaction carries at most, and the gas they may ask together
#: (public chains' blocks hold 30-45M).
MAX_BATCH = 64
MAX_BATCH_GAS = 12_000_000
#: executeBatch's own gas: the transaction and calldata, and per request the signature check,
#: the nonce and the event (measured about 25k; kept with room).
BATCH_OVERHEAD_GAS = 100_000
FORWARD_OVERHEAD_GAS = 60_000


class ForwardNotExecuted(RuntimeError):
    """A batched forward request the forwarder skipped: its nonce was used meanwhile (another
    process relayed for the same participant) or it expired. Nothing happened; a retry is safe."""


class _Skipped(ForwardNotExecuted):
    """Not executed at all (no ExecutedForwardRequest event): sent again once."""


@dataclass(frozen=True)
class _Forward:
    signer: LocalAccount
    call: Call
    gas: int


@dataclass(frozen=True)
class _Sent:
    """A relayed transaction broadcast, not yet mined: what its requests' answers need."""

    dispatched: Dispatched
    items: list[_Forward]
    keys: list[tuple[str, int]]  # (signer, forwarder nonce) of each item, in order
    alone: bool  # ``execute`` of one request: its answer is the whole receipt


class Relayer:
    def __init__(self, sender: TxSender, forwarder: Contract, ttl_s: int, gather_s: float = 0.0, overlap_s: float = 0.0) -> None:
        self.sender = sender
        self.w3 = sender.w3
        self.forwarder = forwarder
        self._forward = Encoder(forwarder)
        self.ttl_s = ttl_s
        self.batches: Coalescer[_Forward, TxReceipt] = Coalescer(self._send_batch, MAX_BATCH, gather_s, overlap_s=overlap_s)
        self._executed_topic = HexBytes(self.w3.keccak(text="ExecutedForwardRequest(address,uint256,bool)"))
        self.chain_id = sender.chain_id
        self._domain_separator = keccak(
            keccak(text=_DOMAIN_TYPE) + keccak(text=FORWARDER_NAME) + keccak(text="1")
            + self.chain_id.to_bytes(32, "big") + bytes(12) + bytes.fromhex(forwarder.address[2:])
        )  # fmt: skip
        self._forward_typehash = keccak(text=FORWARD_REQUEST_TYPE)

    def digest(self, typed: dict[str, Any]) -> bytes:
        """The EIP-712 digest of a forward request, encoded directly: eth-account's general
        encoder takes milliseconds a request, a batch of many requests is signed in one go.
        ``tests/test_write_coalescing.py`` checks it against eth-account's."""
        m = typed["message"]
        struct = keccak(
            self._forward_typehash + bytes(12) + bytes.fromhex(m["from"][2:]) + bytes(12) + bytes.fromhex(m["to"][2:])
            + b"".join(int(m[k]).to_bytes(32, "big") for k in ("value", "gas", "nonce", "deadline")) + keccak(bytes(m["data"]))
        )  # fmt: skip
        return keccak(b"\x19\x01" + self._domain_separator + struct)

    def typed_data(self, sender: str, to: str, data: bytes, gas: int, nonce: int, deadline: int) -> dict[str, Any]:
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "ForwardRequest": FORWARD_REQUEST_FIELDS,
            },
            "primaryType": "ForwardRequest",
            "domain": {
                "name": FORWARDER_NAME,
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": self.forwarder.address,
            },
            "message": {
                "from": checksum(sender),
                "to": checksum(to),
                "value": 0,
                "gas": gas,
                "nonce": nonce,
                "deadline": deadline,
                "data": data,
            },
        }

    def _gas(self, sender: str, call: Call) -> int:
        estimate = self.sender.estimate_gas({"from": checksum(sender), "to": call.to, "data": call.data})
        return int(estimate * 6 // 5) + GAS_MARGIN

    def prepare(self, sender: str, call: Call) -> dict[str, Any]:
        """The typed data ``sender`` must sign for ``call`` (gas estimated as if sent directly)."""
        gas = self._gas(sender, call)
        nonce = int(self.forwarder.functions.nonces(to_checksum_address(sender)).call())
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + self.ttl_s
        return self.typed_data(sender, call.to, call.data, gas, nonce, deadline)

    def submit(self, typed: dict[str, Any], signature: bytes) -> TxReceipt:
        return self.sender.send(self._execute(typed, signature))

    def _execute(self, typed: dict[str, Any], signature: bytes) -> Call:
        """``forwarder.execute`` of one signed request."""
        return self._forward("execute", self._request(typed, signature))

    @staticmethod
    def _request(typed: dict[str, Any], signature: bytes) -> tuple[Any, ...]:
        m = typed["message"]
        return (m["from"], m["to"], m["value"], m["gas"], m["deadline"], m["data"], signature)

    def relay(self, signer: LocalAccount, call: Call) -> TxReceipt:
        """Signs and relays ``call`` as ``signer``, in one transaction with whatever other calls
        wait. Its gas is estimated first (a simulation: refusals raise now, with the contract's
        own error) unless the call carries a bound; then a refusal comes from the batch
        (``_why_failed``), as for a call that passed its estimate and lost a race."""
        gas = self._gas(signer.address, call) if call.gas is None else call.gas
        return self.batches.submit(_Forward(signer, call, gas))

    def _relay_batch(self, items: list[_Forward], retry: bool = True) -> list[TxReceipt | BaseException]:
        """Signs, sends and waits for a batch: ``_send_batch`` and what it returns, at once."""
        return self._send_batch(items, retry)()

    def _send_batch(self, items: list[_Forward], retry: bool = True) -> Settle[TxReceipt]:
        """Signs the items' forward requests (a participant's several requests get consecutive
        nonces) and sends them: alone with ``execute``, together with ``executeBatch``. Returns
        what waits for them to be mined and answers each (``Coalescer``'s two phases: the next
        batch can be sent meanwhile). A request the forwarder skipped because another process
        used its nonce first goes once more.

        The relay lock is held from reading the forwarder's nonces until the transaction is
        broadcast, not until it is mined: another batch, of this process or another, is signed
        and sent meanwhile, numbered after this one's (the nonces are read from the pending
        state), and the node mines the operator's transactions in order. Before, API workers
        relayed one transaction at a time between them, each waiting for the one before it to be
        mined: on a chain with a block every few seconds, one transaction a block."""
        outbox = self.sender.outbox
        sent: list[list[TxReceipt | BaseException] | _Sent] = []
        parts = self._parts(items)
        for i, part in enumerate(parts):
            try:
                with outbox.relay_lock() if outbox is not None else nullcontext():
                    sent.append(self._dispatch_signed(part))
            except Exception as exc:  # noqa: BLE001 -- handed to the callers of this part and the ones after it
                if not sent:
                    raise
                # A batch over MAX_BATCH_GAS went as several transactions and one could not be
                # sent: the ones sent before it still settle (their callers get their receipts,
                # the outbox its rows), the rest of the batch gets the error. Raising here gave
                # every caller the error, the sent parts' registrations landed anyway, and their
                # outbox rows stayed pending until the next start.
                sent.extend([exc] * len(rest) for rest in parts[i:])
                break

        def settle() -> list[TxReceipt | BaseException]:
            results = [r for each in sent for r in (each if isinstance(each, list) else self._settled(each))]
            skipped = [i for i, r in enumerate(results) if isinstance(r, _Skipped)]
            if retry and skipped:
                for i, r in zip(skipped, self._relay_batch([items[i] for i in skipped], retry=False)):
                    results[i] = r
            return results

        return settle

    @staticmethod
    def _parts(items: list[_Forward]) -> list[list[_Forward]]:
        """The batch as transactions: halved until each half's gas fits ``MAX_BATCH_GAS``."""
        if len(items) > 1 and sum(it.gas for it in items) > MAX_BATCH_GAS:
            half = len(items) // 2
            return Relayer._parts(items[:half]) + Relayer._parts(items[half:])
        return [items]

    def _now_and_nonces(self, signers: list[str]) -> tuple[int, dict[str, int]]:
        """The latest block's time and each signer's next forwarder nonce, in one round trip. The
        nonces are the pending state's: they count the requests of transactions sent (by this or
        another process) and not mined yet."""
        found = self.sender.rpc.batch(
            [rpc_block("latest")]
            + [("eth_call", [{"to": self.forwarder.address, "data": "0x" + self._forward("nonces", a).data.hex()}, "pending"]) for a in signers]
        )  # fmt: skip
        return int(found[0]["timestamp"], 16), {a: int(n, 16) for a, n in zip(signers, found[1:])}

    def _dispatch_signed(self, items: list[_Forward]) -> list[TxReceipt | BaseException] | _Sent:
        """Signs the items' forward requests and broadcasts their transaction (``_Sent``), or
        answers a lone estimated request at once when the forwarder refuses it (the list)."""
        now, nonces = self._now_and_nonces(list(dict.fromkeys(it.signer.address for it in items)))
        deadline = now + self.ttl_s
        signed = []
        for it in items:
            address = it.signer.address
            typed = self.typed_data(address, it.call.to, it.call.data, it.gas, nonces[address], deadline)
            nonces[address] += 1
            signed.append((typed, bytes(it.signer.unsafe_sign_hash(self.digest(typed)).signature)))
        keys = [(t["message"]["from"], int(t["message"]["nonce"])) for t, _ in signed]
        if len(items) == 1 and items[0].call.gas is None:  # estimated: sent alone, simulated as sent
            try:
                return _Sent(self.sender.dispatch(self._execute(*signed[0])), items, keys, alone=True)
            except ContractRevert as exc:
                if exc.name != "FailedCall":
                    raise
                return [self._why_failed(items[0], "failed when sent")]
        operator = self.sender.account.address
        # No estimate (a binary search over the whole batch, the slowest step of a batch): each
        # request forwards at most its own gas, plus the forwarder's checks and nonce per request.
        gas = sum(it.gas for it in items) + BATCH_OVERHEAD_GAS + FORWARD_OVERHEAD_GAS * len(items)
        call = self._forward("executeBatch", [self._request(t, sig) for t, sig in signed], operator)
        return _Sent(self.sender.dispatch(call, gas=gas, simulate=False), items, keys, alone=False)

    def _settled(self, sent: _Sent) -> list[TxReceipt | BaseException]:
        """Each request's answer once its transaction is mined (``_per_request``); a lone request's
        is its receipt, whole."""
        receipt = self.sender.settle(sent.dispatched)
        return [receipt] if sent.alone else self._per_request(receipt, sent.items, sent.keys)

    def _per_request(self, receipt: TxReceipt, items: list[_Forward], keys: list[tuple[str, int]]) -> list[TxReceipt | BaseException]:
        """Each request's part of the batch's receipt: the logs its call emitted (those before its
        ExecutedForwardRequest event and after the previous one), or why it has none."""
        parts: dict[tuple[str, int], tuple[list[Any], bool]] = {}
        logs: list[Any] = []
        for log in receipt["logs"]:
            logs.append(log)
            topics = log["topics"]
            if log["address"] == self.forwarder.address and topics and bytes(topics[0]) == self._executed_topic:
                # ExecutedForwardRequest(address indexed signer, uint256 nonce, bool success)
                data = bytes(log["data"])
                signer = checksum(bytes(topics[1])[12:])
                parts[(signer, int.from_bytes(data[:32], "big"))] = (logs, data[63] == 1)
                logs = []
        out: list[TxReceipt | BaseException] = []
        for it, key in zip(items, keys):
            if key not in parts:
                out.append(_Skipped(f"the forward request of {key[0]} with nonce {key[1]} was not executed (nonce used meanwhile, or expired); retry"))
                continue
            own, success = parts[key]
            if success:
                out.append(AttributeDict({**receipt, "logs": own}))  # type: ignore[arg-type]
                continue
            out.append(self._why_failed(it, f"failed when mined (tx {HexBytes(receipt['transactionHash']).to_0x_hex()})"))
        return out

    def _why_failed(self, item: _Forward, when: str) -> BaseException:
        """A forwarded call that passed its estimate but failed later (the state changed between:
        a concurrent duplicate landed first): the contract's own refusal, as the call fails now."""
        try:
            self.sender.simulate(item.call, sender=item.signer.address)
        except ContractRevert as exc:
            return exc
        return ForwardNotExecuted(f"the call of {item.signer.address} {when}; retry")
