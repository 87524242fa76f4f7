"""The slice of ERC-20 the ledger uses to settle statements in a token: enough to read decimals,
balances and allowances, and to approve the distributor."""

from web3 import Web3
from web3.contract import Contract


def _fn(name: str, inputs: list[tuple[str, str]], output: str, mutability: str = "view") -> dict[str, object]:
    return {
        "type": "function", "name": name, "stateMutability": mutability,
        "inputs": [{"name": n, "type": t} for n, t in inputs], "outputs": [{"name": "", "type": output}],
    }  # fmt: skip


ERC20_ABI = [
    _fn("decimals", [], "uint8"),
    _fn("symbol", [], "string"),
    _fn("balanceOf", [("account", "address")], "uint256"),
    _fn("allowance", [("owner", "address"), ("spender", "address")], "uint256"),
    _fn("approve", [("spender", "address"), ("value", "uint256")], "bool", "nonpayable"),
]


def erc20(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=ERC20_ABI)
