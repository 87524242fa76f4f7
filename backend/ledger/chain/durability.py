"""What "mined" must mean before the ledger answers 201: durable.

On the embedded anvil, a mined transaction lives in the node's memory until its next state dump
(every second, and on a clean exit): a node killed in that second loses it. Writing the node's
whole state after every transaction (what the ledger did until 2026-11-29) costs time that grows
with the chain's history, 6 KB a work, most of it the call traces anvil keeps: 250 MB and seconds
a write at 40,000 works. Instead the outbox commits every signed transaction before it is sent
and, before the answer, the block and block time it was mined in (``synchronous=FULL``: on
disk). A node that comes back from an older state file gets those transactions replayed, each at
its block's own time and after the balances the ledger had set before it, so it rebuilds the very
same blocks (``Outbox.replay_lost``): when the node starts (``AnvilNode`` with the outbox's path,
as ``open_ledger`` sets it) and when the ledger starts. What a replay does not rebuild, a chain
with no blocks at all (its state lost, not behind), is reported at start. The state file itself
is written at each start (``ChainStateSaver``), by anvil every second and when it exits.

On any other chain the same promise is kept by confirmations (``LEDGER_CONFIRMATIONS``): the
answer waits until that many blocks include the transaction's.
"""

import gzip
import os
import threading
from pathlib import Path

from web3 import Web3

from ledger.file_lock import file_lock


class ChainStateSaver:
    def __init__(self, w3: Web3, state_file: Path) -> None:
        self.w3 = w3
        self.state_file = state_file
        self._lock = threading.Lock()
        self._saved_block = -1
        self._saved_hash = b""
        self.saves = 0

    def save(self, block: int) -> None:
        """Returns once the node's state at ``block`` or later is on disk."""
        with self._lock:
            if self._saved_block >= block and self._still_there():
                return
            # Several API workers save the one node's state: one dump-and-replace at a time, so a
            # later dump is never replaced by an earlier one written after it.
            with file_lock(self.state_file.with_name(self.state_file.name + ".lock")):
                latest = self.w3.eth.get_block("latest")
                head = int(latest["number"])
                dumped = self.w3.provider.make_request("anvil_dumpState", [])  # type: ignore[arg-type]
                state = gzip.decompress(bytes.fromhex(str(dumped["result"]).removeprefix("0x")))
                tmp = self.state_file.with_name(f"{self.state_file.name}.{os.getpid()}.ledger.tmp")
                with tmp.open("wb") as fh:
                    fh.write(state)
                    fh.flush()
                    os.fsync(fh.fileno())
                tmp.replace(self.state_file)
            self._saved_block, self._saved_hash = head, bytes(latest["hash"])
            self.saves += 1

    def _still_there(self) -> bool:
        """Whether the node still has the block last saved (it may have been restarted from an
        older state since, and then a block at or below that number is not saved yet)."""
        try:
            return bytes(self.w3.eth.get_block(self._saved_block)["hash"]) == self._saved_hash
        except Exception:  # noqa: BLE001 - a block the node does not have: not saved
            return False
