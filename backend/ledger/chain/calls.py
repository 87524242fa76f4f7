"""Contract calls encoded with eth_abi directly.

web3.py's ContractFunction normalises every nested value in Python before encoding, which costs
seconds for a batch of a thousand works or outputs; encoding with eth_abi against the function's
canonical types produces the same calldata in a fraction of that. A Call is just where and what:
the sender, relayer and simulator all work on it.
"""

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from web3.contract import Contract

from ledger.chain.errors import canonical_type


@dataclass(frozen=True)
class Call:
    to: str
    data: bytes
    function: str  # for messages and logs
    #: Gas the call needs at most, known without asking the node (``work_codec.registration_gas``):
    #: the relayer then forwards it without an estimate, the one RPC round trip every request
    #: otherwise paid before joining a batch. None: estimate it.
    gas: int | None = None

    def __repr__(self) -> str:
        return f"Call({self.function} -> {self.to}, {len(self.data)} bytes)"


class Encoder:
    """Encodes calls to one contract; function selectors and types are computed once."""

    def __init__(self, contract: Contract) -> None:
        self.address = contract.address
        self._functions: dict[str, tuple[bytes, list[str]]] = {}
        for item in contract.abi:
            if item.get("type") == "function":
                types = [canonical_type(i) for i in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._functions[item["name"]] = (selector, types)

    def __call__(self, function: str, *args: Any) -> Call:
        selector, types = self._functions[function]
        return Call(self.address, selector + encode(types, list(args)), function)
