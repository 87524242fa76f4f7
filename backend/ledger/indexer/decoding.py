"""Decodes raw logs into (event name, args) for every event of a contract ABI."""

from typing import Any

from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import EventData, LogReceipt


class EventDecoder:
    def __init__(self, contract: Contract) -> None:
        self._by_topic: dict[bytes, Any] = {}
        for event in contract.all_events():
            self._by_topic[bytes(HexBytes(event.topic))] = event

    def decode(self, log: LogReceipt) -> EventData | None:
        if not log["topics"]:
            return None
        event = self._by_topic.get(bytes(log["topics"][0]))
        return event.process_log(log) if event is not None else None
