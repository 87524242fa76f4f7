"""The outbox: every transaction the ledger signs is recorded before it is broadcast.

A crash between signing and the receipt used to leave the ledger not knowing whether a
transaction existed. Now the signed bytes are committed first; on the next start
``Outbox.recover`` settles every pending one: mined (its receipt is there), sent again (the very
same bytes: same nonce and hash, so it cannot land twice), or dropped (its nonce was used by
another transaction, e.g. a chain reset). Each mined transaction's block and block time are kept
too, and the balances the ledger set on a development node are journaled: a node restarted from
an older state file gets its lost transactions replayed into the very same blocks
(``replay_lost``). A transaction re-priced while stuck (``TxSender``'s fee bumps) has one row
per version, same nonce: recovery re-sends the latest and settles the
version mined, marking the others ``replaced``. Services keep their own retry rules on top
(409/200 for a second registration, adoption of anchors and statements).

The outbox is the signer's own state, like its keystore: a small SQLite file in the data
directory, apart from the ledger's database. Services send transactions while they hold a write
transaction on that database (a usage report's lines are committed only once its anchor is
mined); on SQLite a second writer on the same file would wait for them forever.
"""

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, event, select, update
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from ledger.chain.client import is_dev_chain
from ledger.file_lock import file_lock

log = logging.getLogger(__name__)

_metadata = MetaData()
outbox_table = Table(
    "outboxtx", _metadata,
    Column("tx_hash", String(66), primary_key=True),
    Column("sender", String(42), nullable=False, index=True),
    Column("nonce", BigInteger, nullable=False),
    Column("purpose", String(100), nullable=False),  # the contract function, for operators
    Column("raw", Text, nullable=False),  # 0x-hex signed transaction
    Column("status", String(16), nullable=False, index=True),  # pending, mined, reverted, dropped, replaced, refused
    Column("block_number", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True)),
    Column("block_timestamp", BigInteger),  # of the block it was mined in: what an exact replay needs
)  # fmt: skip

#: What the ledger did to a development node's state outside transactions (``anvil_setBalance``):
#: replayed before the first transaction mined after it, so a replay rebuilds the same blocks.
chain_step_table = Table(
    "chainstep", _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("after_block", BigInteger, nullable=False, index=True),
    Column("method", String(64), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
)  # fmt: skip


@dataclass(frozen=True)
class OutboxEntry:
    tx_hash: str
    sender: str
    nonce: int
    purpose: str
    raw: str
    status: str
    block_number: int | None


@dataclass(frozen=True)
class Recovery:
    mined: int = 0
    resent: int = 0
    dropped: int = 0
    replaced: int = 0  # other versions (fee bumps) of a transaction that was mined
    lost: int = 0  # recorded as mined, gone from the chain (it lost state): pending again, so re-sent
    replayed: int = 0  # recorded as mined, gone from the chain, and rebuilt into the same blocks


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

        @event.listens_for(self.engine, "connect")
        def _wal(conn, _record):  # type: ignore[no-untyped-def]
            conn.execute("PRAGMA journal_mode=WAL")
            # Every commit reaches the disk before it returns: on a development node a mined
            # transaction's row is what makes its 201 durable (``replay_lost``).
            conn.execute("PRAGMA synchronous=FULL")

        _metadata.create_all(self.engine)
        with self.engine.begin() as conn:  # outboxes written before the column existed
            if "block_timestamp" not in {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(outboxtx)")}:
                conn.exec_driver_sql("ALTER TABLE outboxtx ADD COLUMN block_timestamp BIGINT")
        self._lock_path = path.with_name(path.name + ".lock")

    @contextmanager
    def nonce_lock(self) -> Iterator[None]:
        """Held from reading the next nonce until the signed transaction is broadcast, by every
        process that signs with this outbox's keys (the API, `ledger keys create`, scripts): the
        next one reads a nonce that counts this transaction."""
        with file_lock(self._lock_path):
            yield

    @contextmanager
    def relay_lock(self) -> Iterator[None]:
        """Held by a relayer from reading participants' forwarder nonces (pending state) until its
        transaction is broadcast, by every process relaying with these keys: two API workers
        relaying for the same participant at once would otherwise sign the same forwarder nonce,
        and one would fail."""
        with file_lock(self._lock_path.with_name(self._lock_path.name + ".relay")):
            yield

    def record(self, sender: str, nonce: int, purpose: str, raw: bytes, tx_hash: bytes) -> None:
        """Records a signed transaction as pending. The same bytes signed again (a chain that lost
        a mined transaction, so the same nonce came back) are the same row, pending again."""
        row = dict(
            tx_hash=HexBytes(tx_hash).to_0x_hex(), sender=sender, nonce=nonce, purpose=purpose[:100],
            raw=HexBytes(raw).to_0x_hex(), status="pending", created_at=datetime.now(timezone.utc),
        )  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(
                sqlite_insert(outbox_table).values(**row)
                .on_conflict_do_update(index_elements=[outbox_table.c.tx_hash], set_={"status": "pending", "block_number": None, "settled_at": None})
            )  # fmt: skip

    def settle(self, tx_hash: bytes | str, receipt: TxReceipt | None, status: str | None = None, block_timestamp: int | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox_table)
                .where(outbox_table.c.tx_hash == HexBytes(tx_hash).to_0x_hex())
                .values(
                    status=status or ("mined" if receipt is not None and receipt["status"] == 1 else "reverted"),
                    block_number=int(receipt["blockNumber"]) if receipt is not None else None,
                    block_timestamp=block_timestamp,
                    settled_at=datetime.now(timezone.utc),
                )
            )

    def record_step(self, after_block: int, method: str, params: list[Any]) -> None:
        """Journals a change a development node's state took outside transactions (see
        ``chain_step_table``), committed before the change is made."""
        with self.engine.begin() as conn:
            conn.execute(chain_step_table.insert().values(after_block=after_block, method=method, params=json.dumps(params), created_at=datetime.now(timezone.utc)))

    def entries(self, status: str | None = None) -> list[OutboxEntry]:
        stmt = select(outbox_table).order_by(outbox_table.c.sender, outbox_table.c.nonce, outbox_table.c.created_at)
        if status is not None:
            stmt = stmt.where(outbox_table.c.status == status)
        with self.engine.connect() as conn:
            return [
                OutboxEntry(r.tx_hash, r.sender, int(r.nonce), r.purpose, r.raw, r.status, None if r.block_number is None else int(r.block_number))
                for r in conn.execute(stmt)
            ]

    def recover(self, w3: Web3, timeout_s: float = 120) -> Recovery:
        """Settles every pending transaction (see the module docstring); safe to run any time no
        send is in flight, e.g. at start. The versions of one transaction (same sender and nonce:
        fee bumps) are settled together: the one mined, the others replaced."""
        mined = resent = dropped = replaced = 0
        replayed = self.replay_lost(w3)
        lost = self._reopen_lost(w3)
        versions: dict[tuple[str, int], list[OutboxEntry]] = {}
        for row in self.entries("pending"):  # oldest version first
            versions.setdefault((row.sender, row.nonce), []).append(row)
        for (sender, nonce), rows in versions.items():
            found = next(((row, receipt) for row in rows if (receipt := _receipt(w3, row.tx_hash)) is not None), None)
            if found is None and nonce < w3.eth.get_transaction_count(sender, "latest"):
                for row in rows:
                    log.warning("outbox: %s (%s, nonce %s) was never mined and its nonce is used: dropped", row.tx_hash, row.purpose, nonce)
                    self.settle(row.tx_hash, None, "dropped")
                dropped += len(rows)
                continue
            if found is None:
                latest = rows[-1]  # the highest fees: a node would refuse the older versions beside it
                log.warning("outbox: %s (%s) was signed but is not on chain: sending the same bytes again", latest.tx_hash, latest.purpose)
                try:
                    w3.eth.send_raw_transaction(latest.raw)
                except (ValueError, Web3RPCError) as exc:  # "already known" and the like: the node has it
                    log.info("outbox: node answered %s for %s", exc, latest.tx_hash)
                    if "known" not in str(exc).lower():
                        continue  # refused (no funds, bad nonce): still pending; the next start tries again
                waited = first_receipt(lambda h: _receipt(w3, h), [row.tx_hash for row in rows], timeout_s)
                if waited is None:
                    continue  # still pending: the next start tries again
                found = rows[waited[0]], waited[1]
                resent += 1
            else:
                mined += 1
            winner, receipt = found
            self.settle(winner.tx_hash, receipt, block_timestamp=int(w3.eth.get_block(receipt["blockNumber"])["timestamp"]))
            for row in rows:
                if row is not winner:
                    self.settle(row.tx_hash, None, "replaced")
                    replaced += 1
        return Recovery(mined, resent, dropped, replaced, lost, replayed)

    def replay_lost(self, w3: Web3, timeout_s: float = 60) -> int:
        """On a development node restarted from a state file older than its last blocks, sends the
        transactions recorded as mined after the node's head again, each at its block's own
        timestamp and after the node-side steps that came before it, so that the node rebuilds the
        very same blocks (same numbers, same hashes: nothing the indexer projected or a statement
        cites moves). This is what makes a 201 durable on the embedded node without writing its
        whole state after every transaction. Stops at the first block it cannot rebuild exactly (a
        block the ledger did not make, a row from before block times were kept): what is left is
        sent again by ``_reopen_lost``, at new timestamps. A node with no blocks at all lost its
        whole state: that is reported at start (ChainStateLost), never rebuilt. Returns the
        transactions replayed."""
        head = start = int(w3.eth.block_number)
        columns = (outbox_table.c.tx_hash, outbox_table.c.raw, outbox_table.c.block_number, outbox_table.c.block_timestamp)
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(*columns).where(outbox_table.c.status == "mined", outbox_table.c.block_number > head).order_by(outbox_table.c.block_number)))
            steps = list(conn.execute(select(chain_step_table).where(chain_step_table.c.after_block >= head).order_by(chain_step_table.c.id)))
        if not (rows or steps) or head == 0 or not is_dev_chain(w3):
            return 0  # a node with no blocks lost its whole state: reported at start, never rebuilt silently
        replayed, last_timestamp = 0, None

        def steps_up_to(block: int) -> None:  # absolute values (balances): applying one twice is harmless
            while steps and steps[0].after_block <= block:
                step = steps.pop(0)
                w3.provider.make_request(step.method, json.loads(step.params))  # type: ignore[arg-type]

        for tx_hash, raw, block, timestamp in rows:
            if timestamp is None or block != head + 1 or _receipt(w3, tx_hash) is not None:
                break
            steps_up_to(head)
            w3.provider.make_request("evm_setTime", [int(timestamp) - 1])  # type: ignore[arg-type]
            w3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])  # type: ignore[arg-type]
            try:
                w3.eth.send_raw_transaction(raw)
            except (ValueError, Web3RPCError) as exc:
                log.warning("outbox: replaying %s into block %s was refused (%s); the rest is sent again at new times", tx_hash, block, exc)
                break
            waited = first_receipt(lambda h: _receipt(w3, h), [tx_hash], timeout_s)
            if waited is None or int(waited[1]["blockNumber"]) != block:
                log.warning("outbox: %s did not land in block %s again; the rest is sent again at new times", tx_hash, block)
                break
            head, last_timestamp, replayed = block, int(timestamp), replayed + 1
        steps_up_to(head)
        if last_timestamp is not None:  # the node's clock runs on from now again, never behind its last block
            w3.provider.make_request("evm_setTime", [max(int(time.time()), last_timestamp)])  # type: ignore[arg-type]
        if replayed:
            log.warning("outbox: the node restarted at block %s; replayed %s transaction(s) into the same blocks, up to %s", start, replayed, head)
        return replayed

    def _reopen_lost(self, w3: Web3) -> int:
        """Transactions recorded as mined in blocks the chain no longer has (a local node killed
        before it saved its state, restarted from an older one) become pending again, so
        recovery sends the same signed bytes: same nonce, same hash, and, where nothing took
        their nonce meanwhile, the same effects (a work comes back under its id)."""
        head = int(w3.eth.block_number)
        stmt = select(outbox_table.c.tx_hash, outbox_table.c.purpose, outbox_table.c.block_number, outbox_table.c.raw).where(
            outbox_table.c.status == "mined", outbox_table.c.block_number > head
        )
        with self.engine.connect() as conn:
            candidates = list(conn.execute(stmt))
        lost = 0
        for tx_hash, purpose, block, raw in candidates:
            if _receipt(w3, tx_hash) is not None:
                continue
            to = _recipient(raw)
            if not to or not w3.eth.get_code(to):
                # A deployment, or a call to a contract the chain lost too: the chain lost the
                # ledger's state, which the start reports (ChainStateLost); never redeployed silently.
                log.warning("outbox: %s (%s) is gone with its contract; not sent again", tx_hash, purpose)
                continue
            log.warning("outbox: %s (%s) was mined in block %s, which the chain (head %s) no longer has: sending it again", tx_hash, purpose, block, head)
            with self.engine.begin() as conn:
                conn.execute(update(outbox_table).where(outbox_table.c.tx_hash == tx_hash).values(status="pending", block_number=None, settled_at=None))
            lost += 1
        return lost


def _recipient(raw: str) -> str | None:
    """The address a signed (typed) transaction calls; None for a deployment."""
    to = TypedTransaction.from_bytes(HexBytes(raw)).as_dict().get("to") if HexBytes(raw)[0] < 0x80 else None
    return to_checksum_address(HexBytes(to).to_0x_hex()) if to else None


@dataclass(frozen=True)
class Clock:
    """Where waiting code reads the time and sleeps: the real clock, or a test's own, so a test
    decides when a timeout has passed instead of racing it."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def first_receipt(
    receipt_of: Callable[[bytes | str], TxReceipt | None], hashes: Sequence[bytes | str], timeout_s: float, max_pause_s: float = 1.0,
    clock: Clock = Clock(),
) -> tuple[int, TxReceipt] | None:
    """The position and receipt of the first of ``hashes`` (versions of one transaction) found
    mined (``receipt_of`` gives a receipt or None), or None after ``timeout_s``; polled quickly
    at first (a local chain mines at once), then at most every ``max_pause_s``."""
    end, pause = clock.now() + timeout_s, 0.002
    while True:
        for i, h in enumerate(hashes):
            receipt = receipt_of(h)
            if receipt is not None:
                return i, receipt
        if clock.now() >= end:
            return None
        clock.sleep(min(pause, max(0.0, end - clock.now())))
        pause = min(2 * pause, max_pause_s)


def _receipt(w3: Web3, tx_hash: bytes | str) -> TxReceipt | None:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None
