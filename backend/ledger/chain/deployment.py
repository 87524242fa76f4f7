"""Deploys the contracts once per chain and keeps a record of where they are.

The record (JSON in the data directory) is what every later start reads; before trusting it the
ledger checks that the chain still has the code there, because a local chain killed without
dumping its state can come back without our contracts. That is reported, never papered over.
"""

import json
import logging
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

from hexbytes import HexBytes
from web3 import Web3

from ledger.chain.client import is_dev_chain
from ledger.chain.compiler import CompiledContract, compile_contract
from ledger.chain.outbox import Outbox
from ledger.chain.sender import TxSender

log = logging.getLogger(__name__)


class ChainStateLost(RuntimeError):
    """The deployment record names a contract the chain does not have."""


@dataclass(frozen=True)
class ContractRecord:
    address: str
    block: int
    tx_hash: str


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    deployer: str
    contracts: dict[str, ContractRecord]

    @property
    def work_registry(self) -> ContractRecord:
        return self.contracts["WorkRegistry"]

    @property
    def forwarder(self) -> ContractRecord:
        return self.contracts["LedgerForwarder"]

    @property
    def model_registry(self) -> ContractRecord:
        return self.contracts["ModelRegistry"]

    @property
    def output_registry(self) -> ContractRecord:
        return self.contracts["OutputRegistry"]

    @property
    def start_block(self) -> int:
        return min(c.block for c in self.contracts.values())

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Deployment":
        raw = json.loads(path.read_text())
        return cls(
            chain_id=raw["chain_id"],
            deployer=raw["deployer"],
            contracts={k: ContractRecord(**v) for k, v in raw["contracts"].items()},
        )


def fund_on_dev_chain(w3: Web3, address: str, wei: int = 10**24, outbox: Outbox | None = None) -> None:
    """Gives an account gas money on a local anvil (no-op elsewhere: real chains need real funds).
    With ``outbox``, the change is journaled first, so a replay after a restart makes it again
    before the transactions that spent it (``Outbox.replay_lost``)."""
    if is_dev_chain(w3) and w3.eth.get_balance(address) < wei // 2:
        with outbox.nonce_lock() if outbox is not None else nullcontext():  # no transaction of the ledger's is mined between the two
            if outbox is not None:
                outbox.record_step(int(w3.eth.block_number), "anvil_setBalance", [address, hex(wei)])
            w3.provider.make_request("anvil_setBalance", [address, hex(wei)])


def verify(w3: Web3, deployment: Deployment, path: Path) -> None:
    if w3.eth.chain_id != deployment.chain_id:
        raise ChainStateLost(f"{path} is for chain {deployment.chain_id}, the node is chain {w3.eth.chain_id}")
    stale = []
    for name, rec in deployment.contracts.items():
        code = bytes(w3.eth.get_code(rec.address))
        if len(code) == 0:
            raise ChainStateLost(
                f"the chain has no {name} at {rec.address} (recorded in {path}): its state was lost or "
                "this is another chain. Restore the chain state, or move the data directory aside to start over."
            )
        if not _matches_build(compile_contract(f"{name}.sol"), code)[0]:
            stale.append(name)
    if stale:  # contracts have no upgrade path: a newer checkout may call functions they lack
        log.warning(
            "%s on chain %s are another build than this checkout's (`ledger deployment verify` says where): calls whose "
            "interface changed since will fail. Run the checkout that deployed them, or start over with a new data "
            "directory and database.", ", ".join(stale), deployment.chain_id,
        )  # fmt: skip


@dataclass(frozen=True)
class CodeCheck:
    name: str
    address: str
    ok: bool
    detail: str


#: Getters of the addresses a contract was wired to at construction (immutables), and the contract
#: each must name.
WIRING = {"trustedForwarder": "LedgerForwarder", "works": "WorkRegistry", "models": "ModelRegistry", "outputs": "OutputRegistry"}


def verify_code(w3: Web3, deployment: Deployment) -> list[CodeCheck]:
    """Checks each recorded contract's runtime bytecode on chain against this checkout's build,
    byte for byte outside the immutables (values the constructor wrote; for those, every copy must
    agree), and that the contract is wired to the recorded forwarder and registries. What a
    block explorer's "verified source" says, without sending the source anywhere."""
    out = []
    for name, rec in deployment.contracts.items():
        compiled = compile_contract(f"{name}.sol")
        same, detail = _matches_build(compiled, bytes(w3.eth.get_code(rec.address)))
        out.append(CodeCheck(name, rec.address, same, detail))
        if not same:  # its getters are not ours to call
            continue
        contract = w3.eth.contract(address=rec.address, abi=compiled.abi)
        for getter, target in WIRING.items():
            if target == name or not any(f.get("name") == getter and f.get("type") == "function" for f in compiled.abi):
                continue
            wired, expected = getattr(contract.functions, getter)().call(), deployment.contracts[target].address
            out.append(CodeCheck(f"{name}.{getter}", rec.address, wired == expected, f"{wired}" + ("" if wired == expected else f", the record says {target} is {expected}")))
    return out


def _matches_build(compiled: CompiledContract, onchain: bytes) -> tuple[bool, str]:
    """Whether ``onchain`` is this checkout's build of the contract, outside its immutables."""
    return _same_code(onchain, bytes.fromhex(compiled.deployed_bytecode[2:]), compiled.immutable_references)


def _same_code(onchain: bytes, built: bytes, immutables: tuple[tuple[tuple[int, int], ...], ...]) -> tuple[bool, str]:
    if not onchain:
        return False, "no code at this address"
    if len(onchain) != len(built):
        return False, f"{len(onchain):,} bytes on chain, {len(built):,} in this build"
    chain_masked, built_masked = bytearray(onchain), bytearray(built)
    for copies in immutables:
        if len({onchain[start : start + length] for start, length in copies}) != 1:
            return False, f"the copies of an immutable at bytes {copies[0][0]:,}.. hold different values (not what a constructor writes)"
        for start, length in copies:
            chain_masked[start : start + length] = built_masked[start : start + length] = bytes(length)
    if chain_masked != built_masked:
        first = next(i for i, (a, b) in enumerate(zip(chain_masked, built_masked)) if a != b)
        return False, f"differs from this build at byte {first:,} of {len(built):,}"
    return True, f"{len(built):,} bytes identical to this build" + (f" outside {len(immutables)} immutables" if immutables else "")


#: Deployment order; each entry's constructor arguments are built from what is already deployed.
CONTRACTS = (
    "LedgerForwarder", "WorkRegistry", "ModelRegistry", "OutputRegistry", "UsageAnchor", "RoyaltyDistributor", "PlatformTerms",
    "EvidenceAnchor", "DisputeRegistry", "ProductionRecords",
)  # fmt: skip


def _constructor_args(name: str, admin: str, deployed: dict[str, ContractRecord], default_share_bps: int) -> tuple[object, ...]:
    if name == "LedgerForwarder":
        return ()
    forwarder = deployed["LedgerForwarder"].address
    if name == "OutputRegistry":
        return (admin, forwarder, deployed["WorkRegistry"].address, deployed["ModelRegistry"].address)
    if name == "DisputeRegistry":
        return (admin, forwarder, deployed["WorkRegistry"].address, deployed["OutputRegistry"].address)
    if name == "PlatformTerms":
        return (admin, forwarder, default_share_bps)
    return (admin, forwarder)


def ensure_deployed(w3: Web3, sender: TxSender, path: Path, default_share_bps: int = 3000) -> Deployment:
    """Returns the recorded deployment after checking it; deploys whatever it lacks (everything on
    a new chain, or contracts added since the record was written) and records them.
    ``default_share_bps`` is the platforms' default share PlatformTerms starts with."""
    existing = Deployment.load(path) if path.exists() else None
    if existing is not None:
        verify(w3, existing, path)
        if all(name in existing.contracts for name in CONTRACTS):
            return existing
    fund_on_dev_chain(w3, sender.account.address, outbox=sender.outbox)
    records = dict(existing.contracts) if existing else {}
    for name in CONTRACTS:
        if name in records:
            continue
        compiled = compile_contract(f"{name}.sol")
        receipt = sender.deploy(compiled.abi, compiled.bytecode, *_constructor_args(name, sender.account.address, records, default_share_bps))
        records[name] = ContractRecord(
            str(receipt["contractAddress"]), int(receipt["blockNumber"]), HexBytes(receipt["transactionHash"]).to_0x_hex()
        )
    deployment = Deployment(chain_id=w3.eth.chain_id, deployer=existing.deployer if existing else sender.account.address, contracts=records)
    deployment.save(path)
    return deployment
