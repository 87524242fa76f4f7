"""The indexing loop: fetch logs in block ranges, project them, move the checkpoint, all in one
database transaction per range, so a crash never leaves a half-applied range or a skipped one.

Before each pass it checks that the block it stopped at is still the chain's block (same hash).
If not (a reorg, or a local chain restarted without its state) the chain wins: the projection
is rebuilt from the deployment block and an IndexerIncident row records what changed.
"""

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import Connection, Engine, bindparam, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select
from web3 import Web3
from web3.contract import Contract

from ledger.content.store import ContentStore
from ledger.db import ProcessLock, session_scope
from ledger.chain.rpc import JsonRpc, log_of, block as rpc_block
from ledger.indexer import ai_projector, disputes_projector, records_projector, statements_projector, terms_projector, works_projector
from ledger.models.disputes import Dispute
from ledger.indexer.decoding import EventDecoder
from ledger.models import (
    Checkpoint,
    ConstraintAcceptance,
    Device,
    IndexerIncident,
    Model,
    ModelTrainingWork,
    Output,
    OutputLink,
    OutputLinkCorrection,
    OwnerPosition,
    PlatformShare,
    StatementClaim,
    UsageAnchorRecord,
    Work,
    WorkOwner,
    WorkOwnerVersion,
    WorkTermsVersion,
)

log = logging.getLogger(__name__)
CHECKPOINT = "chain"
#: Read by every writer waiting for its block and moved by every sync: statements built once
#: (through the ORM, building and loading cost more than the query).
_CHECKPOINT_TABLE = Checkpoint.__table__  # type: ignore[attr-defined]
_CHECKPOINT_READ = sa_select(_CHECKPOINT_TABLE.c.block_number, _CHECKPOINT_TABLE.c.block_hash).where(_CHECKPOINT_TABLE.c.name == CHECKPOINT)
_CHECKPOINT_MOVE = (
    _CHECKPOINT_TABLE.update()
    .where(_CHECKPOINT_TABLE.c.name == CHECKPOINT)
    .values(block_number=bindparam("to_block"), block_hash=bindparam("to_hash"))
)
#: Children before parents, so deleting a projection never trips a foreign key.
def _works(session: Session, store: ContentStore, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    works_projector.apply(session, name, args, log, timestamp)
    if name == "WorkReassigned":
        disputes_projector.carried_out(session, args, log, timestamp)


def _terms(session: Session, store: ContentStore, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    terms_projector.apply(session, name, args, timestamp)


Projector = Callable[[Session, ContentStore, str, dict[str, Any], dict[str, Any], int], None]
#: One projector per contract, one signature (a new contract's projector is one entry here);
#: ModelRegistry, OutputRegistry and UsageAnchor share ``ai_projector``.
PROJECTORS: dict[str, Projector] = {
    "WorkRegistry": _works,
    "PlatformTerms": _terms,
    "RoyaltyDistributor": statements_projector.apply,
    "DisputeRegistry": disputes_projector.apply,
    "ProductionRecords": records_projector.apply,
}

PROJECTION_TABLES = (
    OwnerPosition, ConstraintAcceptance, Device, Dispute, StatementClaim, UsageAnchorRecord, OutputLinkCorrection, OutputLink, Output, ModelTrainingWork, Model, WorkOwnerVersion, WorkOwner, WorkTermsVersion, Work,
    PlatformShare,
)  # fmt: skip


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a range is projected: decoding thousands of
    logs makes objects by the hundred thousand, and the collector kept scanning them (a sixth of a
    rebuild). A range's objects are freed by reference counting as usual; cycles wait for the
    collector, which runs again right after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class SyncResult:
    from_block: int
    to_block: int
    events: int
    rebuilt: bool = False


#: Blocks whose timestamps one JSON-RPC batch asks for, and how many the indexer keeps.
TIMESTAMP_BATCH = 500
TIMESTAMPS_KEPT = 200_000


class Indexer:
    def __init__(
        self, w3: Web3, engine: Engine, contracts: dict[str, Contract], store: ContentStore, start_block: int, chunk: int = 5000
    ) -> None:
        self.w3 = w3
        self.engine = engine
        self.addresses = [c.address for c in contracts.values()]
        self.decoder = EventDecoder(contracts)
        self.store = store
        self.start_block = start_block
        self.chunk = chunk
        self._timestamps: dict[int, int] = {}
        self._lock = threading.Lock()  # the API's poller and request handlers both call sync()
        self._across = ProcessLock(engine, "indexer")  # and so do other API workers, `ledger index`...
        self._synced_to = -1  # the block this process last saw projected (a rebuild here resets it)
        self.rpc = JsonRpc(w3)
        #: How long a chain behind the projection is given to catch up before the projection is
        #: rebuilt from it: an embedded node that restarted replays its lost blocks within seconds
        #: (``Outbox.replay_lost``), the very same blocks, which need no rebuild.
        self.behind_grace_s = 30.0
        self.clock: Callable[[], float] = time.monotonic
        self._behind_since: float | None = None

    def _timestamp(self, block: int) -> int:
        if block not in self._timestamps:
            self._timestamps[block] = int(self.rpc.call(*rpc_block(block))["timestamp"], 16)
        return self._timestamps[block]

    def _fetch_timestamps(self, blocks: set[int], known: dict[int, int]) -> None:
        """The timestamps of a chunk's blocks: ``known`` (those its answers carried already), the
        rest in JSON-RPC batches (one round trip per ``TIMESTAMP_BATCH`` blocks instead of one per
        block: a rebuild spent a third of its time there). The cache is bounded: a long-running
        indexer forgets old blocks, before it takes in the chunk's, never after."""
        if len(self._timestamps) + len(blocks) + len(known) > TIMESTAMPS_KEPT:
            self._timestamps.clear()
        self._timestamps.update(known)
        wanted = sorted(b for b in blocks if b not in self._timestamps)
        for lo in range(0, len(wanted), TIMESTAMP_BATCH):
            part = wanted[lo : lo + TIMESTAMP_BATCH]
            found = self.rpc.batch([rpc_block(b) for b in part])
            for b, block in zip(part, found):
                self._timestamps[b] = int(block["timestamp"], 16)

    def _logs(self, lo: int, hi: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """eth_getLogs posted straight (``chain.rpc``), into the fields and types web3 gives: its
        result formatters (a nested AttributeDict per log) took a sixth of a rebuild, and its
        provider added a quarter to the round trip. With them, block ``hi`` (its hash is the
        checkpoint's), in the same round trip."""
        found, last = self.rpc.batch([("eth_getLogs", [{"address": self.addresses, "fromBlock": hex(lo), "toBlock": hex(hi)}]), rpc_block(hi)])
        addresses: dict[str, str] = {}
        shared: dict[str, HexBytes] = {}
        return [log_of(raw, addresses, shared) for raw in found], last

    def checkpoint(self, conn: Connection | None = None) -> Checkpoint | None:
        """The projection's checkpoint, read through ``conn`` if given (the indexer lock's own)."""
        if conn is None:
            with self.engine.connect() as own:
                return self.checkpoint(own)
        row = conn.execute(_CHECKPOINT_READ).first()
        return None if row is None else Checkpoint(name=CHECKPOINT, block_number=row.block_number, block_hash=row.block_hash)

    def _diverged(self, cp: Checkpoint, head: int, chain_hash: str) -> str | None:
        """Why the projection no longer matches the chain (``chain_hash``: the chain's block at
        the checkpoint), or None."""
        if head < cp.block_number:
            return f"chain head {head} is behind the indexed block {cp.block_number}"
        if chain_hash != cp.block_hash:
            return f"block {cp.block_number} is {chain_hash} on chain, {cp.block_hash} in the database"
        return None

    def _reset(self, kind: str, detail: str) -> None:
        with session_scope(self.engine) as s:
            before = s.exec(select(func.count()).select_from(Work)).one()
            for table in (*PROJECTION_TABLES, Checkpoint):
                s.exec(delete(table))  # type: ignore[call-overload]
            s.add(IndexerIncident(kind=kind, detail=detail, works_before=before, works_after=-1))
        self._timestamps.clear()
        self._synced_to = -1

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No sync runs inside: for a service that writes rows a projector would otherwise race to
        insert from the same transaction's event (statements)."""
        with self._lock, self._across.held():
            yield

    def sync(self, to_block: int | None = None) -> SyncResult:
        """Projects every event up to ``to_block`` (default: the chain head). One sync at a time
        among every process on the database: the others wait, then find the blocks projected.
        A writer that only needs its own block projected returns at once if it already is."""
        if to_block is not None and to_block <= self._synced_to:  # no lock, no query: every writer of a batch asks
            return SyncResult(self._synced_to + 1, self._synced_to, 0)
        with self._lock:  # the writers of one batch all wait here for its block: one syncs
            if to_block is not None and to_block <= self._synced_to:  # synced meanwhile by the writer before
                return SyncResult(self._synced_to + 1, self._synced_to, 0)
            with self._across.held() as conn:
                return self._sync(to_block, self.checkpoint(conn))

    def _sync(self, to_block: int | None, cp: Checkpoint | None) -> SyncResult:
        """``sync`` under both locks, from the checkpoint ``cp``: read once, through the
        lock's connection (another process may have moved it; this one's memory says where it
        was last)."""
        if to_block is not None and cp is not None and cp.block_number >= to_block:  # another process synced it
            self._synced_to = max(self._synced_to, cp.block_number)
            return SyncResult(cp.block_number + 1, cp.block_number, 0)
        # The head and the chain's block at the checkpoint, in one round trip.
        found = self.rpc.batch([("eth_blockNumber", []), *([rpc_block(cp.block_number)] if cp else [])])
        head = int(found[0], 16)
        target = head if to_block is None else min(to_block, head)
        rebuilt = False
        if cp is not None:
            if head < cp.block_number:
                now = self.clock()
                self._behind_since = self._behind_since if self._behind_since is not None else now
                if now - self._behind_since < self.behind_grace_s:
                    log.info("chain head %s is behind the projection (block %s): waiting for it to catch up", head, cp.block_number)
                    return SyncResult(cp.block_number + 1, cp.block_number, 0)
            else:
                self._behind_since = None
            reason = self._diverged(cp, head, found[1]["hash"] if found[1] else "none")
            if reason is not None:
                log.warning("chain and database diverged (%s): rebuilding the projection from the chain", reason)
                self._reset("divergence", reason)
                cp, rebuilt = None, True
        start = (cp.block_number + 1) if cp else self.start_block
        events = 0
        for lo in range(start, target + 1, self.chunk):
            hi = min(lo + self.chunk - 1, target)
            with _collector_paused():
                events += self._project(lo, hi)
        if rebuilt:
            with session_scope(self.engine) as s:
                incident = s.exec(select(IndexerIncident).order_by(IndexerIncident.id.desc())).first()  # type: ignore[union-attr]
                if incident is not None:
                    incident.works_after = s.exec(select(func.count()).select_from(Work)).one()
        self._synced_to = target
        return SyncResult(start, target, events, rebuilt)

    def _project(self, lo: int, hi: int) -> int:
        """Blocks ``lo``..``hi`` projected and the checkpoint moved, in one transaction; the events projected."""
        events = 0
        logs, last = self._logs(lo, hi)
        block_hash = last["hash"]
        # The last block came with its time, and so do logs where the node stamps them: no block
        # is asked for those.
        known = {hi: int(last["timestamp"], 16)} | {raw["blockNumber"]: raw["blockTimestamp"] for raw in logs if "blockTimestamp" in raw}
        self._fetch_timestamps({int(raw["blockNumber"]) for raw in logs}, known)
        with session_scope(self.engine) as s:
            registered = works_projector.Registrations()  # written together, before any other event
            for raw in logs:
                event = self.decoder.decode(raw)
                if event is None:
                    continue
                timestamp = self._timestamp(int(raw["blockNumber"]))
                events += 1
                if event.name == "WorksRegistered" and event.contract == "WorkRegistry":
                    registered.add(event.args, raw, timestamp)
                    continue
                registered.flush(s)
                project = PROJECTORS.get(event.contract, ai_projector.apply)
                project(s, self.store, event.name, event.args, dict(raw), timestamp)
            registered.flush(s)
            if not s.connection().execute(_CHECKPOINT_MOVE, {"to_block": hi, "to_hash": block_hash}).rowcount:
                s.connection().execute(_CHECKPOINT_TABLE.insert(), {"name": CHECKPOINT, "block_number": hi, "block_hash": block_hash})
        return events
