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


WORK_REGISTERED = "WorkRegistered(uint64,bytes32,address,string,(uint16,uint16,uint40,string),(address,address,uint16)[],bytes32)"
WORK_REGISTERED_TOPIC = bytes(keccak(text=WORK_REGISTERED))


def _word(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 32], "big")


def _text(data: bytes, at: int) -> str:
    n = _word(data, at)
    return data[at + 32 : at + 32 + n].decode()


def decode_work_registered(topics: list[bytes], data: bytes) -> dict[str, Any]:
    """WorkRegistered (terms format 2) read straight from its ABI layout: most events of a rebuild
    are these, and eth_abi's general decoder spent about 0.2 ms on each. The layout is fixed by the
    event's signature; ``tests/test_indexer.py`` checks every field against eth_abi's reading."""
    cid_at, terms_at, owners_at = _word(data, 0), _word(data, 32), _word(data, 64)
    count = _word(data, owners_at)
    owners = []
    for i in range(count):
        at = owners_at + 32 + 96 * i
        owners.append({"account": _checksum(data[at + 12 : at + 32]), "payout": _checksum(data[at + 44 : at + 64]), "shareBps": _word(data, at + 64)})
    return {
        "workId": int.from_bytes(topics[1], "big"),
        "contentHash": bytes(topics[2]),
        "manager": _checksum(bytes(topics[3][12:])),
        "metadataCid": _text(data, cid_at),
        "terms": {
            "uses": _word(data, terms_at), "royaltyBps": _word(data, terms_at + 32), "expiresAt": _word(data, terms_at + 64),
            "constraints": _text(data, terms_at + _word(data, terms_at + 96)),
        },  # fmt: skip
        "owners": owners,
        "ownersHash": data[96:128],
    }


class EventDecoder:
    def __init__(self, contracts: dict[str, Contract]) -> None:
        self._events: dict[tuple[str, bytes], _EventSpec] = {}
        self._work_registered = WORK_REGISTERED_TOPIC
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
        if topic0 == self._work_registered and spec.contract == "WorkRegistry":
            topics, data = log["topics"], log["data"]  # bytes from the runner; HexBytes from web3's receipts
            if type(data) is not bytes:
                topics, data = [bytes(t) for t in topics], bytes(data)
            return DecodedEvent(spec.contract, spec.name, decode_work_registered(topics, data))
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
