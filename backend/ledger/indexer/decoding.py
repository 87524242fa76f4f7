"""Decodes raw logs of the ledger's contracts into (contract name, event name, args)."""

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import LogReceipt


@dataclass(frozen=True)
class DecodedEvent:
    contract: str
    name: str
    args: dict[str, Any]


class EventDecoder:
    def __init__(self, contracts: dict[str, Contract]) -> None:
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for name, contract in contracts.items():
            for event in contract.all_events():
                self._events[(contract.address, bytes(HexBytes(event.topic)))] = (name, event)

    def decode(self, log: LogReceipt) -> DecodedEvent | None:
        if not log["topics"]:
            return None
        found = self._events.get((to_checksum_address(log["address"]), bytes(log["topics"][0])))
        if found is None:
            return None
        contract, event = found
        data = event.process_log(log)
        return DecodedEvent(contract, data["event"], dict(data["args"]))
