"""Typed access to WorkRegistry: the Python twins of its structs, and their hashes.

Hashes here must equal the contract's (keccak256(abi.encode(...))); tests compare them on chain.
"""

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from sha3 import keccak_256
from web3 import Web3
from web3.contract import Contract

from ledger.consent.uses import from_flags

TOTAL_BPS = 10_000
MAX_OWNERS = 512
OWNER_TYPE = "(address,address,uint16)"


@dataclass(frozen=True)
class Terms:
    """A work's terms as the contract takes them (format 2): ``uses`` is the packed word of
    ``ledger.consent.uses`` (one state per use), ``constraints`` what constrained uses are
    constrained by (e.g. a licence text's CID), empty when no use is constrained."""

    uses: int
    royalty_bps: int
    expires_at: int = 0  # unix seconds; 0 = until revoked
    constraints: str = ""

    @classmethod
    def from_flags(cls, training_allowed: bool, royalty_bps: int, expires_at: int = 0, reference_allowed: bool = False) -> "Terms":
        """The terms format 1's two flags stood for (kept as the API's shorthand)."""
        return cls(from_flags(training_allowed, reference_allowed), royalty_bps, expires_at)

    def as_tuple(self) -> tuple[int, int, int, str]:
        return (self.uses, self.royalty_bps, self.expires_at, self.constraints)


@dataclass(frozen=True)
class Owner:
    account: str
    payout: str
    share_bps: int

    def as_tuple(self) -> tuple[str, str, int]:
        return (to_checksum_address(self.account), to_checksum_address(self.payout), self.share_bps)


@dataclass(frozen=True)
class WorkInput:
    content_hash: bytes
    metadata_cid: str
    terms: Terms
    owners: tuple[Owner, ...]


@dataclass(frozen=True)
class WorkState:
    """A work's current state as its events last set it (the projection's ``Work`` row): what
    WorkRegistry's calls that change a work present, checked against the one word it stores."""

    work_id: int
    content_hash: bytes
    manager: str
    uses: int
    royalty_bps: int
    expires_at: int
    terms_version: int
    owners_hash: bytes

    @classmethod
    def of(cls, work: Any) -> "WorkState":
        """The state of a projected ``ledger.models.Work``."""
        return cls(
            work.work_id, bytes.fromhex(work.content_hash[2:]), work.manager, work.uses, work.royalty_bps, work.expires_at,
            work.terms_version, bytes.fromhex(work.owners_hash[2:]),
        )  # fmt: skip

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.work_id, self.content_hash, to_checksum_address(self.manager), self.uses, self.royalty_bps, self.expires_at,
            self.terms_version, self.owners_hash,
        )  # fmt: skip

    def word(self) -> int:
        """The registry's word for this state: id << 192 | the 192-bit commitment to the rest."""
        encoded = encode(
            ["address", "uint16", "uint16", "uint40", "uint24", "bytes32"],
            [to_checksum_address(self.manager), self.uses, self.royalty_bps, self.expires_at, self.terms_version, self.owners_hash],
        )
        return self.work_id << 192 | int.from_bytes(keccak(encoded)[8:], "big")


def sort_owners(owners: list[Owner]) -> tuple[Owner, ...]:
    """The contract wants owners strictly ascending by account (numeric order of the address)."""
    return tuple(sorted(owners, key=lambda o: int(o.account, 16)))


def owners_hash(owners: tuple[Owner, ...] | list[Owner]) -> bytes:
    return raw_owners_hash([(bytes.fromhex(o.account[2:]), bytes.fromhex(o.payout[2:]), o.share_bps) for o in owners])


def raw_owners_hash(owners: list[tuple[bytes, bytes, int]]) -> bytes:
    """keccak256(abi.encode(Owner[])) of (account, payout, share bps), addresses as 20 bytes: the
    ABI layout written directly (offset, length, then three words an owner). The indexer hashes
    every registered work's list, and eth_abi's general encoder took most of a rebuild; a test
    compares it with eth_abi's."""
    parts = [_OFFSET, len(owners).to_bytes(32, "big")]
    for account, payout, share in owners:
        parts += [_PAD, account, _PAD, payout, share.to_bytes(32, "big")]
    return keccak_256(b"".join(parts)).digest()


_OFFSET, _PAD = (32).to_bytes(32, "big"), bytes(12)


class WorkRegistryClient:
    """Reads from one deployed WorkRegistry (writes are encoded with ``Ledger.call``)."""

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self.w3 = w3
        self.contract: Contract = w3.eth.contract(address=to_checksum_address(address), abi=abi)

    @property
    def address(self) -> str:
        return self.contract.address

    def rights_holder_role(self) -> bytes:
        return keccak(text="RIGHTS_HOLDER_ROLE")

    def is_current(self, state: WorkState) -> bool:
        """Whether ``state`` is the work's state on chain (the registry keeps only its commitment)."""
        return bool(self.contract.functions.isCurrent(state.as_tuple()).call())

    def has_holder_role(self, account: str) -> bool:
        return bool(self.contract.functions.hasRole(self.rights_holder_role(), to_checksum_address(account)).call())
