"""Runs the local anvil chain (from npm, no download) with its state persisted in the data directory.

anvil writes its state file on a clean exit and every second while running (``--state-interval``),
so a restarted ledger sees the same blocks, receipts and logs. A SIGKILL can lose the last second;
the indexer detects a chain that fell behind the database.
"""

import shutil
import signal
import subprocess
import time
from pathlib import Path

from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger import PROJECT_ROOT

ANVIL_CANDIDATES = (
    PROJECT_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
    PROJECT_ROOT / "node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil",
    PROJECT_ROOT / "node_modules/.bin/anvil",
)


def anvil_binary() -> str:
    for candidate in ANVIL_CANDIDATES:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise FileNotFoundError("anvil not found: run `npm ci` (it installs @foundry-rs/anvil)")


def rpc_answers(url: str) -> bool:
    try:
        return Web3(HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected()
    except Exception:
        return False


class AnvilNode:
    def __init__(
        self, state_dir: Path, port: int, log_file: Path | None = None, gas_limit: int = 1_000_000_000, state_interval_s: int = 1,
        chain_id: int | None = None, block_time_s: float | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.chain_id = chain_id  # None: anvil's 31337
        #: A block every so many seconds, as a public chain (None: one per transaction, at once).
        self.block_time_s = block_time_s
        self.state_interval_s = state_interval_s
        self.gas_limit = gas_limit
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_file = log_file or state_dir / "anvil.log"
        self.proc: subprocess.Popen[bytes] | None = None
        #: The outbox of the ledger this node serves (set by ``open_ledger``): a (re)start replays
        #: into the node what it mined after its state file, before anyone else talks to it.
        self.outbox_path: Path | None = None

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def start(self, timeout_s: float = 30) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if rpc_answers(self.url):
            raise RuntimeError(f"something already answers at {self.url}; stop it or choose another port")
        cmd = [
            anvil_binary(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--state", str(self.state_file),
            "--state-interval", str(self.state_interval_s),
            # Same EVM as the compiler targets; a block gas limit that fits batches of thousands
            # of outputs (public chains need smaller batches: the backend splits them).
            "--hardfork", "prague",
            "--gas-limit", str(self.gas_limit),
            # The ledger never reads state at past blocks (logs and headers are kept regardless);
            # without this anvil writes every past block's state under ~/.foundry/anvil/tmp and
            # never removes it: 13-18 GB per run of the test suite.
            "--prune-history", "256",
        ]  # fmt: skip
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        if self.block_time_s is not None:
            cmd += ["--block-time", f"{self.block_time_s:g}"]
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}; see {self.log_file}")
            if rpc_answers(self.url):
                self._replay()
                return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"anvil did not answer at {self.url} within {timeout_s}s")

    def _replay(self) -> None:
        """Writes are durable once the outbox has them (``chain.durability``): the node comes back
        with the transactions it had mined since its state file, in the same blocks; one it cannot
        rebuild is logged, and sent again when the ledger starts (``Outbox.recover``)."""
        if self.outbox_path is None or not self.outbox_path.exists():
            return
        from web3 import Web3

        from ledger.chain.outbox import Outbox

        outbox = Outbox(self.outbox_path)
        with outbox.nonce_lock():
            outbox.replay_lost(Web3(Web3.HTTPProvider(self.url)))
        outbox.engine.dispose()

    def stop(self, timeout_s: float = 30) -> None:
        """SIGTERM, so anvil dumps its state before exiting."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no final dump (tests use it to simulate a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
