"""The embedded node's options that the ledger and its benches rely on, against a real anvil."""

import time
from pathlib import Path

from web3 import Web3

from ledger.chain.node import AnvilNode
from ledger.reliability.api_process import free_port


def test_a_node_with_a_block_time_mines_blocks_on_its_own(tmp_path: Path) -> None:
    """``block_time_s`` makes a chain that mines a block every so many seconds, as a public chain
    does (``bench_workers --block-time``): blocks come with no transaction at all. The default node
    mines only when a transaction arrives, so without the option the head would stay at 0 and this
    test would time out."""
    node = AnvilNode(tmp_path / "chain", free_port(), block_time_s=1)
    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deadline = time.monotonic() + 60
        while w3.eth.block_number < 2:  # waits for a state, not for a time
            assert time.monotonic() < deadline, "no block mined on its own within 60 s"
            time.sleep(0.1)
        first, second = (w3.eth.get_block(n) for n in (1, 2))
        assert first["transactions"] == [] and second["transactions"] == []
        assert second["timestamp"] > first["timestamp"]
    finally:
        node.stop()
