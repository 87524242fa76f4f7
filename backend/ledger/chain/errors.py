"""Turns revert data into the contract's custom error name and arguments.

The API maps these to 4xx responses, so a refused transaction reads as what the contract said.
"""

from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector


class ContractRevert(Exception):
    """A transaction or call reverted with a known custom error (or an unknown one, name '')."""

    def __init__(self, name: str, values: tuple[Any, ...], data: bytes) -> None:
        super().__init__(name, values)
        self.name = name
        self.values = values
        self.data = data

    def __str__(self) -> str:
        return f"{self.name or 'revert'}{self.values}"


def canonical_type(t: dict[str, Any]) -> str:
    """The ABI type as it appears in signatures: tuples spelled out, e.g. ``(uint64,uint16)[]``."""
    if t["type"].startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in t["components"]) + ")" + t["type"][5:]
    return t["type"]


class ErrorDecoder:
    """Decodes revert data against every custom error of one or more ABIs."""

    def __init__(self, *abis: list[dict[str, Any]]) -> None:
        self._by_selector: dict[bytes, tuple[str, list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [canonical_type(i) for i in item["inputs"]]
                sig = f"{item['name']}({','.join(types)})"
                self._by_selector[function_signature_to_4byte_selector(sig)] = (item["name"], types)

    def decode(self, data: bytes | str | None) -> ContractRevert:
        if isinstance(data, str):
            data = bytes.fromhex(data.removeprefix("0x"))
        data = data or b""
        found = self._by_selector.get(data[:4])
        if found is None:
            return ContractRevert("", (), data)
        name, types = found
        return ContractRevert(name, tuple(decode(types, data[4:])), data)
