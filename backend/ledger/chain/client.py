"""One place that builds the Web3 connection, so timeouts and checks are the same everywhere."""

from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger.config import Settings


class ChainUnavailable(RuntimeError):
    """The RPC endpoint does not answer."""


def connect(settings: Settings, timeout_s: float = 30.0) -> Web3:
    w3 = Web3(HTTPProvider(settings.rpc_url, request_kwargs={"timeout": timeout_s}))
    if not w3.is_connected():
        raise ChainUnavailable(f"no EVM node answers at {settings.rpc_url}; is the chain running? (`ledger up`)")
    return w3
