"""Decodes raw logs of the ledger's contracts into (contract name, event name, args).

Decoding goes straight through eth_abi: web3.py's ``process_log`` normalises every nested value
in Python and took most of the indexer's time on large batches. Structs come back as dicts keyed
by component name, addresses checksummed, exactly as the projectors expect.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, keccak
from web3.contract import Contract
from web3.types import LogReceipt

from ledger.chain.errors import canonical_type
from ledger_recorder.typed import checksum

_DYNAMIC = ("string", "bytes")

#: The same few addresses (contracts, holders, platforms) recur in almost every log.
_checksum = checksum  # EIP-55, cached: one implementation with the records' (keccak in C)


class DecodedEvent(NamedTuple):
    contract: str
    name: str
    args: dict[str, Any]


def _shape(value: Any, spec: dict[str, Any]) -> Any:
    """Gives eth_abi's plain tuples the names and address form of the ABI."""
    t = spec["type"]
    if t.endswith("]"):
        inner = {**spec, "type": t[: t.rindex("[")]}
        return [_shape(v, inner) for v in value]
    if t == "tuple":
        return {c["name"]: _shape(v, c) for v, c in zip(value, spec["components"])}
    if t == "address":
        return _checksum(value)
    return value


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    indexed: list[dict[str, Any]]
    data: list[dict[str, Any]]
    data_types: list[str]


#: Struct fields added since a contract's first deployment format (WorkRegistry terms format 2;
#: ModelRegistry's ``generative``). Events logged by a deployment of the earlier format lack them:
#: the decoder knows both shapes and projectors read the missing field as its format-1 meaning.
ADDED_FIELDS: dict[str, frozenset[str]] = {
    "WorkRegistry": frozenset({"constraints"}),
    "ModelRegistry": frozenset({"generative"}),
}


def _without(item: dict[str, Any], names: frozenset[str]) -> dict[str, Any] | None:
    """The event as it was before ``names`` were added to its structs, or None if it has none of them."""
    changed = False

    def strip(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal changed
        out = []
        for i in inputs:
            if i["name"] in names:
                changed = True
                continue
            if "components" in i:
                i = {**i, "components": strip(i["components"])}
            out.append(i)
        return out

    legacy = {**item, "inputs": strip(item["inputs"])}
    return legacy if changed else None


WORKS_REGISTERED = "WorksRegistered(uint64,uint64,address,bytes)"
WORKS_REGISTERED_TOPIC = bytes(keccak(text=WORKS_REGISTERED))


class EventDecoder:
    def __init__(self, contracts: dict[str, Contract]) -> None:
        self._events: dict[tuple[str, bytes], _EventSpec] = {}
        for contract_name, contract in contracts.items():
            items = [i for i in contract.abi if i.get("type") == "event"]
            added = ADDED_FIELDS.get(contract_name)
            if added:
                items += [legacy for i in items if (legacy := _without(i, added)) is not None]
            for item in items:
                data = [i for i in item["inputs"] if not i["indexed"]]
                spec = _EventSpec(
                    contract_name,
                    item["name"],
                    [i for i in item["inputs"] if i["indexed"]],
                    data,
                    [canonical_type(i) for i in data],
                )
                self._events[(contract.address, bytes(event_abi_to_log_topic(item)))] = spec

    def decode(self, log: LogReceipt) -> DecodedEvent | None:
        if not log["topics"]:
            return None
        topic0 = bytes(log["topics"][0])
        spec = self._events.get((_checksum(log["address"]), topic0))
        if spec is None:
            return None
        args: dict[str, Any] = {}
        for topic, item in zip(log["topics"][1:], spec.indexed):
            t = canonical_type(item)
            if t in _DYNAMIC or t.endswith("]") or t.startswith("("):
                args[item["name"]] = bytes(topic)  # only its hash is in the log
            else:
                args[item["name"]] = _shape(decode([t], bytes(topic))[0], item)
        for value, item in zip(decode(spec.data_types, bytes(log["data"])), spec.data):
            args[item["name"]] = _shape(value, item)
        return DecodedEvent(spec.contract, spec.name, args)
