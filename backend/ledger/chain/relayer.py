"""Relays participants' calls through the ERC-2771 LedgerForwarder.

A participant's key signs an EIP-712 ForwardRequest for one contract call; the operator's sender
submits ``forwarder.execute(request)`` and pays the gas; the target contract sees the participant
as ``_msgSender()``. Custodial keys sign here; self-custodied participants sign the same typed data
(``typed_data``) in their own wallet and the ledger only submits it.
"""

import threading
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.types import TxReceipt

from ledger.chain.calls import Call, Encoder
from ledger.chain.sender import TxSender

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
#: Extra gas over the estimate: the forwarder's own work and ERC-2771's sender suffix.
GAS_MARGIN = 50_000


class Relayer:
    def __init__(self, sender: TxSender, forwarder: Contract, ttl_s: int) -> None:
        self.sender = sender
        self.w3 = sender.w3
        self.forwarder = forwarder
        self._forward = Encoder(forwarder)
        self.ttl_s = ttl_s
        self._lock = threading.Lock()  # one outstanding request per forwarder nonce read

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
                "chainId": self.w3.eth.chain_id,
                "verifyingContract": self.forwarder.address,
            },
            "message": {
                "from": to_checksum_address(sender),
                "to": to_checksum_address(to),
                "value": 0,
                "gas": gas,
                "nonce": nonce,
                "deadline": deadline,
                "data": data,
            },
        }

    def prepare(self, sender: str, call: Call) -> dict[str, Any]:
        """The typed data ``sender`` must sign for ``call`` (gas estimated as if sent directly)."""
        estimate = self.sender.estimate_gas({"from": to_checksum_address(sender), "to": call.to, "data": call.data})
        gas = int(estimate * 6 // 5) + GAS_MARGIN
        nonce = int(self.forwarder.functions.nonces(to_checksum_address(sender)).call())
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + self.ttl_s
        return self.typed_data(sender, call.to, call.data, gas, nonce, deadline)

    def submit(self, typed: dict[str, Any], signature: bytes) -> TxReceipt:
        m = typed["message"]
        request = (m["from"], m["to"], m["value"], m["gas"], m["deadline"], m["data"], signature)
        return self.sender.send(self._forward("execute", request))

    def relay(self, signer: LocalAccount, call: Call) -> TxReceipt:
        """Simulates ``call`` as ``signer`` (so refusals carry the contract's own error), then signs
        and relays it."""
        self.sender.simulate(call, sender=signer.address)
        with self._lock:
            typed = self.prepare(signer.address, call)
            signature = bytes(signer.sign_message(encode_typed_data(full_message=typed)).signature)
            return self.submit(typed, signature)
