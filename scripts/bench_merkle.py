"""Benchmark of a royalty statement's Merkle tree: 155,000 leaves (account, payout, cumulative,
salt), as a close of 1M usage lines has (about 155k entries).

Prints the ledger's tree build (C keccak, static ABI words packed by hand) against the
straightforward one (eth_abi encoding and eth_utils' keccak, the same OpenZeppelin layout) run in
the same process on the same leaves, and checks that both give the same root.

    .venv/bin/python scripts/bench_merkle.py [--leaves 155000]
"""

import argparse
import secrets
import time

from eth_abi import encode
from eth_utils import keccak

from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree


def straightforward_root(values: list[tuple[object, ...]]) -> bytes:
    leaves = sorted(keccak(keccak(encode(list(STATEMENT_LEAF_TYPES), list(v)))) for v in values)
    tree = [b""] * (2 * len(leaves) - 1)
    for i, h in enumerate(leaves):
        tree[len(tree) - 1 - i] = h
    for pos in range(len(tree) - 1 - len(leaves), -1, -1):
        a, b = tree[2 * pos + 1], tree[2 * pos + 2]
        tree[pos] = keccak(a + b) if a < b else keccak(b + a)
    return tree[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=155_000)
    args = parser.parse_args()
    values = [("0x" + secrets.token_hex(20), "0x" + secrets.token_hex(20), i * 1000 + 7, secrets.token_bytes(32)) for i in range(args.leaves)]
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        tree = StandardMerkleTree.of(values, STATEMENT_LEAF_TYPES)
        runs.append(time.perf_counter() - start)
    fast = sorted(runs)[1]
    start = time.perf_counter()
    root = straightforward_root(values)
    slow = time.perf_counter() - start
    assert root == tree.root, "the two builds disagree"
    print(f"ledger tree:          {fast:.2f} s for {args.leaves:,} leaves (median of 3)")
    print(f"straightforward tree: {slow:.2f} s (eth_abi + eth_utils keccak, same process, same root)")
    print(f"speed-up:             {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
