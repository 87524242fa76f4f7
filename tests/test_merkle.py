"""Training-set trees agree with OpenZeppelin's own @openzeppelin/merkle-tree (run under Node)."""

import json
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import PROJECT_ROOT
from ledger.chain.compiler import _node_binary
from ledger.chain.merkle import StandardMerkleTree, TrainingSetTree, leaf_hash, process_proof

_JS = """
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
const ids = JSON.parse(process.argv[1]);
const tree = StandardMerkleTree.of(ids.map((i) => [i]), ["uint256"]);  // ids arrive as strings (no float rounding)
const proofs = {};
for (const [i, v] of tree.entries()) proofs[v[0]] = tree.getProof(i);
console.log(JSON.stringify({ root: tree.root, proofs }));
"""


_JS_STATEMENT = """
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
const entries = JSON.parse(process.argv[1]);
const tree = StandardMerkleTree.of(entries, ["address", "address", "uint256", "bytes32"]);
const proofs = {};
for (const [i, v] of tree.entries()) proofs[v[3]] = tree.getProof(i);  // each salt is distinct
console.log(JSON.stringify({ root: tree.root, proofs }));
"""


def _openzeppelin(ids: list[object], script: str = _JS) -> dict[str, object]:
    out = subprocess.run(
        [_node_binary(), "--input-type=module", "-e", script, json.dumps([i if isinstance(i, list) else str(i) for i in ids])],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=2**64 - 1), min_size=1, max_size=40, unique=True))
def test_root_and_proofs_match_openzeppelin(ids: list[int]) -> None:
    ours = TrainingSetTree.build(ids)
    theirs = _openzeppelin(ids)
    assert "0x" + ours.root.hex() == theirs["root"]
    proofs = theirs["proofs"]
    assert isinstance(proofs, dict)
    for work_id in ids:
        assert ["0x" + p.hex() for p in ours.proof(work_id)] == proofs[str(work_id)]
        assert process_proof(leaf_hash(work_id), ours.proof(work_id)) == ours.root


def test_ten_thousand_works_one_root() -> None:
    tree = TrainingSetTree.build(list(range(1, 10_001)))
    assert process_proof(leaf_hash(4242), tree.proof(4242)) == tree.root
    assert 10_001 not in tree
    # A proof for one member does not prove a non-member.
    assert process_proof(leaf_hash(10_001), tree.proof(4242)) != tree.root


_ADDRESS = st.integers(min_value=1, max_value=2**160 - 1).map(lambda n: "0x" + f"{n:040x}")


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(_ADDRESS, _ADDRESS, st.integers(min_value=0, max_value=10**14), st.binary(min_size=32, max_size=32)), min_size=1, max_size=30, unique_by=lambda r: r[3]))
def test_statement_trees_match_openzeppelin(rows: list[tuple[str, str, int, bytes]]) -> None:
    """Statement leaves (account, payout, cumulative amount, salt): the tree RoyaltyDistributor.claim checks."""
    from eth_utils import to_checksum_address

    from ledger.chain.merkle import STATEMENT_LEAF_TYPES

    entries = [(to_checksum_address(a), to_checksum_address(p), amount, salt) for a, p, amount, salt in rows]
    ours = StandardMerkleTree.of(entries, STATEMENT_LEAF_TYPES)
    theirs = _openzeppelin([[a, p, str(amount), "0x" + salt.hex()] for a, p, amount, salt in entries], _JS_STATEMENT)
    assert "0x" + ours.root.hex() == theirs["root"]
    proofs = theirs["proofs"]
    assert isinstance(proofs, dict)
    for entry in entries:
        assert ["0x" + p.hex() for p in ours.proof_of(entry)] == proofs["0x" + entry[3].hex()]
        assert process_proof(ours.leaf(entry), ours.proof_of(entry)) == ours.root


def test_a_bad_leaf_value_gets_eth_abis_error() -> None:
    """The hand-packed fast path refuses what it cannot encode and lets eth_abi say why."""
    import pytest
    from eth_abi.exceptions import EncodingError

    from ledger.chain.merkle import STATEMENT_LEAF_TYPES

    for bad in (("0x12", "0x" + "00" * 20, 1, bytes(32)), ("0x" + "00" * 20, "0x" + "00" * 20, -1, bytes(32)), ("0x" + "00" * 20, "0x" + "00" * 20, 2**256, bytes(32))):
        with pytest.raises(EncodingError):
            StandardMerkleTree.of([bad], STATEMENT_LEAF_TYPES)
