"""Wires settings into live parts (DB, chain, contracts, content store, indexer) once per process.

The API (through FastAPI's lifespan) and the CLI both build a Ledger from here, so they run the
same services against the same parts.
"""

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3
from web3.contract import Contract

from ledger.chain.calls import Call, Encoder
from ledger.chain.client import connect
from ledger.chain.compiler import compile_contract
from ledger.chain.binding import ChainMismatch, bind_database
from ledger.chain.deployment import CONTRACTS, Deployment, ensure_deployed, verify
from ledger.chain.durability import ChainStateSaver
from ledger.chain.errors import ErrorDecoder
from ledger.chain.health import ChainHealth
from ledger.chain.keys import operator_account
from ledger.chain.node import AnvilNode
from ledger.chain.outbox import Outbox, Recovery
from ledger.chain.registry import WorkRegistryClient
from ledger.chain.relayer import Relayer
from ledger.chain.sender import FeePolicy, TxSender
from ledger.config import Settings
from ledger.content.store import ContentStore, open_store
from ledger.db import init_db, make_engine
from ledger.evidence.methods import DEFAULT as DEFAULT_METHODS, Methods
from ledger.indexer.runner import Indexer

if TYPE_CHECKING:
    from ledger.credentials.manifests import SigningKey
    from ledger.services.similarity import SimilarityIndexes

log = logging.getLogger(__name__)


@dataclass
class Ledger:
    settings: Settings
    engine: Engine
    w3: Web3
    operator: LocalAccount
    sender: TxSender
    deployment: Deployment
    registry: WorkRegistryClient
    models: Contract
    outputs: Contract
    usage_anchor: Contract
    distributor: Contract
    platform_terms: Contract
    evidence_anchor: Contract
    disputes: Contract
    production_records: Contract
    relayer: Relayer
    store: ContentStore
    encoders: dict[str, Encoder]
    chain_health: ChainHealth = field(default_factory=ChainHealth)

    @property
    def deployment_path(self) -> Path:
        """This chain's deployment record."""
        return self.settings.deployment_record(self.deployment.chain_id)

    def call(self, contract: str, function: str, *args: Any) -> Call:
        """Calldata for ``contract.function(*args)`` (contract by deployment name, e.g. "WorkRegistry")."""
        return self.encoders[contract](function, *args)

    @property
    def indexed_contracts(self) -> dict[str, Contract]:
        return {
            "WorkRegistry": self.registry.contract,
            "ModelRegistry": self.models,
            "OutputRegistry": self.outputs,
            "UsageAnchor": self.usage_anchor,
            "RoyaltyDistributor": self.distributor,
            "PlatformTerms": self.platform_terms,
            "DisputeRegistry": self.disputes,
            "ProductionRecords": self.production_records,
        }

    @cached_property
    def indexer(self) -> Indexer:
        return self.new_indexer()

    @cached_property
    def methods(self) -> Methods:
        """The similarity methods this ledger runs: the perceptual ones, and the image embedding
        named in settings (``evidence.embedding``), if any."""
        path = self.settings.image_embedding_model
        if path is None:
            return DEFAULT_METHODS
        from ledger.evidence.embedding import OnnxImageEmbedding  # optional dependency

        return DEFAULT_METHODS.with_methods([OnnxImageEmbedding(path)])

    @cached_property
    def c2pa_key(self) -> "SigningKey | None":
        """The C2PA signing credentials named in settings, or None (both files, or neither)."""
        from ledger.credentials.manifests import SigningKey

        chain, key = self.settings.c2pa_cert_chain, self.settings.c2pa_private_key
        if chain is None and key is None:
            return None
        if chain is None or key is None:
            raise ValueError("LEDGER_C2PA_CERT_CHAIN and LEDGER_C2PA_PRIVATE_KEY go together")
        return SigningKey(chain.read_bytes(), key.read_bytes())

    @cached_property
    def c2pa_trust_anchors(self) -> bytes | None:
        path = self.settings.c2pa_trust_anchors
        return path.read_bytes() if path is not None else None

    @cached_property
    def similarity(self) -> "SimilarityIndexes":
        """This process's nearest-neighbour indexes (``services.similarity``)."""
        from ledger.services.similarity import SimilarityIndexes  # services import this module

        return SimilarityIndexes(self)

    def new_indexer(self) -> Indexer:
        return Indexer(
            self.w3, self.engine, self.indexed_contracts, self.store, self.deployment.start_block, self.settings.log_chunk_blocks
        )


def deployment_record(settings: Settings, w3: Web3) -> Path:
    """The deployment record of the chain the node is on, after checking it is the configured one
    (``LEDGER_CHAIN_ID``). A data directory from before records were per chain has its single
    record moved into place when it is this chain's."""
    chain_id = int(w3.eth.chain_id)
    if settings.chain_id is not None and chain_id != settings.chain_id:
        raise ChainMismatch(f"the node at {settings.rpc_url} is chain {chain_id}; LEDGER_CHAIN_ID says {settings.chain_id}")
    record = settings.deployment_record(chain_id)
    legacy = settings.legacy_deployment_record
    if settings.deployment_file is None and not record.exists() and legacy.exists() and Deployment.load(legacy).chain_id == chain_id:
        record.parent.mkdir(parents=True, exist_ok=True)
        legacy.replace(record)
        log.info("deployment record moved to %s (records are kept per chain)", record)
    return record


def open_ledger(settings: Settings, *, deploy: bool = True, node: AnvilNode | None = None) -> Ledger:
    """Connects everything; with ``deploy`` the contracts are deployed if no record exists yet.
    ``node``: the embedded anvil this process started, whose state is then written to disk
    before any write is answered (``chain.durability``)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    w3 = connect(settings)
    operator = operator_account(settings, create=deploy)
    abis = {name: compile_contract(f"{name}.sol").abi for name in CONTRACTS}
    outbox = Outbox(settings.outbox_path)
    fees = FeePolicy(bump_after_s=settings.tx_bump_after_s, max_fee_per_gas=settings.tx_max_fee_per_gas)
    # The embedded node: a mined transaction is durable once the outbox has its row (committed to
    # disk before the answer); a node restarted behind it gets it replayed into the same block
    # (``chain.durability``). The state file is written at each start (below), so a replay has
    # only the transactions since.
    state_file = node.state_file if node is not None else settings.chain_state_file
    if node is not None:
        node.outbox_path = settings.outbox_path
    sender = TxSender(w3, operator, ErrorDecoder(*abis.values()), outbox=outbox, fees=fees, confirmations=settings.confirmations)
    recovered = outbox.recover(w3)  # before anything new is signed: settle what a crash left pending
    if recovered != Recovery():
        log.warning("outbox after restart: %s", recovered)
    record = deployment_record(settings, w3)
    if deploy:
        deployment = ensure_deployed(w3, sender, record, settings.platform_share_bps)
    else:
        if not record.exists():
            raise FileNotFoundError(f"no deployment record for chain {w3.eth.chain_id} at {record}: run `ledger deploy` (or `ledger up`) first")
        deployment = Deployment.load(record)
        verify(w3, deployment, record)
    if state_file is not None:
        ChainStateSaver(w3, state_file).save(int(w3.eth.block_number))
    bind_database(engine, deployment)
    contracts = {name: w3.eth.contract(address=deployment.contracts[name].address, abi=abis[name]) for name in CONTRACTS}
    _, first_default = contracts["PlatformTerms"].functions.shareFrom("0x" + "00" * 20, 0).call()
    if first_default != settings.platform_share_bps:
        log.warning(
            "LEDGER_PLATFORM_SHARE_BPS is %s but PlatformTerms was deployed with a default of %s bps: the chain's entries apply "
            "(record a new default from a date with PUT /platforms/0x0000000000000000000000000000000000000000/shares)",
            settings.platform_share_bps, first_default,
        )  # fmt: skip
    registry = WorkRegistryClient(w3, deployment.work_registry.address, abis["WorkRegistry"])
    relayer = Relayer(sender, contracts["LedgerForwarder"], settings.signature_ttl_s, settings.relay_gather_ms / 1000, settings.relay_overlap_ms / 1000)
    store = open_store(settings.blocks_dir, settings.ipfs_api_url)
    ledger = Ledger(
        settings, engine, w3, operator, sender, deployment, registry,
        contracts["ModelRegistry"], contracts["OutputRegistry"], contracts["UsageAnchor"], contracts["RoyaltyDistributor"],
        contracts["PlatformTerms"], contracts["EvidenceAnchor"], contracts["DisputeRegistry"],
        contracts["ProductionRecords"], relayer, store,
        {name: Encoder(c) for name, c in contracts.items()},
    )  # fmt: skip
    ledger.methods  # noqa: B018 -- a configured model that cannot be loaded stops the start, saying why
    ledger.c2pa_key  # noqa: B018 -- likewise C2PA signing files that cannot be read
    return ledger
