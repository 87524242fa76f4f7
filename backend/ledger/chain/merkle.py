"""Training-set Merkle trees, built exactly like OpenZeppelin's StandardMerkleTree over
``["uint256"]`` leaves (work ids): double-hashed leaves, sorted leaves, sorted-pair keccak nodes,
the tree laid out as an array with the root first. Roots and proofs therefore agree with the
@openzeppelin/merkle-tree npm package (tested) and verify on chain with ``MerkleProof``.
"""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak


def leaf_hash(work_id: int) -> bytes:
    return keccak(keccak(encode(["uint256"], [work_id])))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: list[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@dataclass(frozen=True)
class TrainingSetTree:
    """A Merkle tree over distinct work ids."""

    work_ids: tuple[int, ...]
    tree: tuple[bytes, ...]
    index_of: dict[int, int]  # work id -> position of its leaf in ``tree``

    @classmethod
    def build(cls, work_ids: list[int]) -> "TrainingSetTree":
        ids = sorted(set(work_ids))
        if not ids:
            raise ValueError("a training set needs at least one work")
        if len(ids) != len(work_ids):
            raise ValueError("a training set lists each work once")
        hashed = sorted(((leaf_hash(i), i) for i in ids), key=lambda t: t[0])
        n = len(hashed)
        tree: list[bytes] = [b""] * (2 * n - 1)
        index_of: dict[int, int] = {}
        for i, (h, work_id) in enumerate(hashed):
            pos = len(tree) - 1 - i
            tree[pos] = h
            index_of[work_id] = pos
        for pos in range(len(tree) - 1 - n, -1, -1):
            tree[pos] = hash_pair(tree[2 * pos + 1], tree[2 * pos + 2])
        return cls(tuple(ids), tuple(tree), index_of)

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def __contains__(self, work_id: object) -> bool:
        return work_id in self.index_of

    def proof(self, work_id: int) -> list[bytes]:
        """Sibling hashes from the work's leaf up to the root; KeyError if it is not a member."""
        pos = self.index_of[work_id]
        out = []
        while pos > 0:
            out.append(self.tree[pos + 1 if pos % 2 else pos - 1])
            pos = (pos - 1) // 2
        return out
