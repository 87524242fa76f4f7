"""Merkle trees built exactly like OpenZeppelin's StandardMerkleTree: leaves are the ABI encoding
of a tuple of values, hashed twice (so a leaf can never pass for an inner node), sorted; inner
nodes hash their children as a sorted pair; the tree is laid out as an array with the root
first. Roots and proofs therefore agree with the @openzeppelin/merkle-tree npm package (tested)
and verify on chain with ``MerkleProof``.

Two trees use it: a model's training set (``["uint256"]`` leaves, work ids) and a royalty
statement (``["address", "address", "uint256", "bytes32"]`` leaves: account, payout, cumulative
amount, salt, as ``RoyaltyDistributor.claim`` rebuilds them).
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from eth_abi import encode
from sha3 import keccak_256  # safe-pysha3: C keccak, about 6x eth_utils' on 64-byte inputs

#: A royalty statement's leaf: (account, payout, cumulative amount, salt), as RoyaltyDistributor.claim hashes it.
STATEMENT_LEAF_TYPES = ("address", "address", "uint256", "bytes32")


def _uint256(value: object) -> bytes:
    if type(value) is not int or value < 0:
        raise ValueError
    return value.to_bytes(32, "big")  # OverflowError past 2^256


def _address(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 42 or value[:2] not in ("0x", "0X"):
        raise ValueError
    return _PAD12 + bytes.fromhex(value[2:])


def _bytes32(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError
    return value


_PAD12 = bytes(12)
#: The static types encoded without eth_abi's general machinery (ten times faster, which matters
#: for statements of 100,000 entries); others, and any value these refuse, go through eth_abi.
_FAST = {"uint256": _uint256, "address": _address, "bytes32": _bytes32}


def keccak(data: bytes) -> bytes:
    return keccak_256(data).digest()


def _encoder(types: Sequence[str]) -> Callable[[Sequence[object]], bytes]:
    """The ABI encoding of a tuple of ``types``, fast for static words; eth_abi's for the rest
    (and for a value the fast path refuses, so a bad value gets eth_abi's error)."""
    fast = [_FAST.get(t) for t in types]
    general = list(types)

    def slow(values: Sequence[object]) -> bytes:
        return encode(general, list(values))

    if any(f is None for f in fast):
        return slow

    def encoded(values: Sequence[object]) -> bytes:
        if len(values) != len(fast):
            return slow(values)
        try:
            return b"".join([f(v) for f, v in zip(fast, values)])  # type: ignore[misc]
        except (ValueError, OverflowError, TypeError):
            return slow(values)

    return encoded


def standard_leaf(types: Sequence[str], values: Sequence[object]) -> bytes:
    return keccak(keccak(_encoder(types)(values)))


def leaf_hash(work_id: int) -> bytes:
    """A training-set leaf."""
    return standard_leaf(["uint256"], [work_id])


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: list[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@dataclass(frozen=True)
class StandardMerkleTree:
    """A tree over distinct tuples of ABI values (``types`` names their ABI types)."""

    types: tuple[str, ...]
    tree: tuple[bytes, ...]
    index_of: dict[Hashable, int]  # value tuple -> position of its leaf in ``tree``

    @classmethod
    def of(cls, values: Sequence[tuple[object, ...]], types: Sequence[str]) -> "StandardMerkleTree":
        if not values:
            raise ValueError("a Merkle tree needs at least one leaf")
        if len(set(values)) != len(values):
            raise ValueError("a Merkle tree lists each leaf once")
        encode_leaf, digest = _encoder(types), keccak_256
        hashed = sorted(((digest(digest(encode_leaf(v)).digest()).digest(), v) for v in values), key=lambda t: t[0])
        n = len(hashed)
        tree: list[bytes] = [b""] * (2 * n - 1)
        index_of: dict[Hashable, int] = {}
        for i, (h, value) in enumerate(hashed):
            pos = len(tree) - 1 - i
            tree[pos] = h
            index_of[value] = pos
        for pos in range(len(tree) - 1 - n, -1, -1):
            a, b = tree[2 * pos + 1], tree[2 * pos + 2]
            tree[pos] = digest(a + b).digest() if a < b else digest(b + a).digest()
        return cls(tuple(types), tuple(tree), index_of)

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def leaf(self, value: tuple[object, ...]) -> bytes:
        return standard_leaf(self.types, value)

    def proof_of(self, value: tuple[object, ...]) -> list[bytes]:
        """Sibling hashes from the value's leaf up to the root; KeyError if it is not a leaf."""
        pos = self.index_of[value]
        out = []
        while pos > 0:
            out.append(self.tree[pos + 1 if pos % 2 else pos - 1])
            pos = (pos - 1) // 2
        return out


@dataclass(frozen=True)
class TrainingSetTree:
    """A Merkle tree over distinct work ids."""

    work_ids: tuple[int, ...]
    merkle: StandardMerkleTree

    @classmethod
    def build(cls, work_ids: list[int]) -> "TrainingSetTree":
        ids = sorted(set(work_ids))
        if not ids:
            raise ValueError("a training set needs at least one work")
        if len(ids) != len(work_ids):
            raise ValueError("a training set lists each work once")
        return cls(tuple(ids), StandardMerkleTree.of([(i,) for i in ids], ["uint256"]))

    @property
    def root(self) -> bytes:
        return self.merkle.root

    def __contains__(self, work_id: object) -> bool:
        return (work_id,) in self.merkle.index_of

    def proof(self, work_id: int) -> list[bytes]:
        """Sibling hashes from the work's leaf up to the root; KeyError if it is not a member."""
        return self.merkle.proof_of((work_id,))
