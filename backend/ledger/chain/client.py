"""One place that builds the Web3 connection, so timeouts and checks are the same everywhere."""

from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger.config import Settings


class ChainUnavailable(RuntimeError):
    """The RPC endpoint does not answer."""


#: Answers that never change for a connection: asked once, then served from the provider's cache.
#: (A registration asked eth_chainId 12 times.) Blocks are not cached: the chain may reorganise.
CONSTANT_REQUESTS = {"eth_chainId", "net_version", "web3_clientVersion"}


def connect(settings: Settings, timeout_s: float = 30.0) -> Web3:
    provider = HTTPProvider(
        settings.rpc_url, request_kwargs={"timeout": timeout_s}, cache_allowed_requests=True, cacheable_requests=CONSTANT_REQUESTS,  # type: ignore[arg-type]
    )
    w3 = Web3(provider)
    if not w3.is_connected():
        raise ChainUnavailable(f"no EVM node answers at {settings.rpc_url}; is the chain running? (`ledger up`)")
    return w3


def is_dev_chain(w3: Web3) -> bool:
    """A local anvil: the node whose state the ledger may set and replay (``anvil_*``, ``evm_*``)."""
    return str(w3.client_version).lower().startswith("anvil")
