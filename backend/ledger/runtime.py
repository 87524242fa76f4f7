"""Wires settings into live parts (DB, chain, contracts, content store, indexer) once per process.

The API (through FastAPI's lifespan) and the CLI both build a Ledger from here, so they run the
same services against the same parts.
"""

from dataclasses import dataclass
from functools import cached_property

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3

from ledger.chain.client import connect
from ledger.chain.compiler import compile_contract
from ledger.chain.deployment import Deployment, ensure_deployed, verify
from ledger.chain.errors import ErrorDecoder
from ledger.chain.keys import operator_account
from ledger.chain.registry import WorkRegistryClient
from ledger.chain.relayer import Relayer
from ledger.chain.sender import TxSender
from ledger.config import Settings
from ledger.content.store import ContentStore, open_store
from ledger.db import init_db, make_engine
from ledger.indexer.runner import Indexer


@dataclass
class Ledger:
    settings: Settings
    engine: Engine
    w3: Web3
    operator: LocalAccount
    sender: TxSender
    deployment: Deployment
    registry: WorkRegistryClient
    relayer: Relayer
    store: ContentStore

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(
            self.w3, self.engine, self.registry.contract, self.deployment.start_block, self.settings.log_chunk_blocks
        )


def open_ledger(settings: Settings, *, deploy: bool = True) -> Ledger:
    """Connects everything; with ``deploy`` the contracts are deployed if no record exists yet."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    w3 = connect(settings)
    operator = operator_account(settings, create=deploy)
    artifact = compile_contract("WorkRegistry.sol")
    forwarder_artifact = compile_contract("LedgerForwarder.sol")
    sender = TxSender(w3, operator, ErrorDecoder(artifact.abi, forwarder_artifact.abi))
    if deploy:
        deployment = ensure_deployed(w3, sender, settings.deployment_path)
    else:
        deployment = Deployment.load(settings.deployment_path)
        verify(w3, deployment, settings.deployment_path)
    registry = WorkRegistryClient(w3, deployment.work_registry.address, artifact.abi)
    forwarder = w3.eth.contract(address=deployment.forwarder.address, abi=forwarder_artifact.abi)
    relayer = Relayer(sender, forwarder, settings.signature_ttl_s)
    store = open_store(settings.blocks_dir, settings.ipfs_api_url)
    return Ledger(settings, engine, w3, operator, sender, deployment, registry, relayer, store)
