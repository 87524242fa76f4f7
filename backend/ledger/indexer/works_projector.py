"""Applies WorkRegistry events to the works, owners and terms-history tables.

Owner changes arrive as deltas; after applying one, the projector recomputes the owner-list hash
and compares it with the hash the contract emitted, so a projection that drifted from the chain
fails loudly instead of paying the wrong people. Each owner list is also kept as a version
(``WorkOwnerVersion``) for royalty runs over past periods.
"""

from typing import Any

from hexbytes import HexBytes
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.chain.registry import Owner, owners_hash
from ledger.chain.work_codec import records, storable
from ledger.consent.uses import from_format1
from ledger.db import bulk_insert
from ledger.models import OwnerPosition, Work, WorkOwner, WorkOwnerVersion, WorkTermsVersion


class ProjectionMismatch(RuntimeError):
    """The projected owner list no longer hashes to what the chain says."""


def _hex(b: Any) -> str:
    return "0x" + (b.hex() if isinstance(b, bytes) else HexBytes(b).hex())


def _owners(session: Session, work_id: int) -> list[WorkOwner]:
    rows = session.exec(select(WorkOwner).where(WorkOwner.work_id == work_id)).all()
    return sorted(rows, key=lambda o: int(o.account, 16))


def _check_hash(session: Session, work: Work, expected: bytes) -> None:
    session.flush()
    rows = _owners(session, work.work_id)
    got = owners_hash([Owner(o.account, o.payout, o.share_bps) for o in rows])
    if got != bytes(expected):
        raise ProjectionMismatch(f"work {work.work_id}: owners hash {got.hex()} != chain {bytes(expected).hex()}")
    work.owners_hash = _hex(expected)


def _snapshot_owners(session: Session, work_id: int, log: dict[str, Any], timestamp: int) -> None:
    """Records the owner list as it is after this event, as the work's next owners version."""
    session.flush()
    last = session.exec(select(func.max(WorkOwnerVersion.version)).where(WorkOwnerVersion.work_id == work_id)).one()
    version = (last or 0) + 1
    for o in _owners(session, work_id):
        session.add(
            WorkOwnerVersion(
                work_id=work_id, version=version, account=o.account, payout=o.payout, share_bps=o.share_bps,
                effective_at=timestamp, effective_block=int(log["blockNumber"]), effective_log_index=int(log["logIndex"]),
            )
        )  # fmt: skip


def _uses(terms: dict[str, Any]) -> tuple[int, str]:
    """The terms word and constraints, whichever format logged them (format 1 has no constraints)."""
    if "constraints" not in terms:
        return from_format1(int(terms["uses"])), ""
    return int(terms["uses"]), storable(terms["constraints"])


def _terms_version(work_id: int, version: int, terms: dict[str, Any], log: dict[str, Any], timestamp: int) -> WorkTermsVersion:
    return WorkTermsVersion(
        work_id=work_id,
        version=version,
        uses=_uses(terms)[0],
        constraints=_uses(terms)[1],
        royalty_bps=terms["royaltyBps"],
        expires_at=terms["expiresAt"],
        effective_block=int(log["blockNumber"]),
        effective_log_index=int(log["logIndex"]),
        effective_at=timestamp,
        tx_hash=_hex(log["transactionHash"]),
    )


class Registrations:
    """WorksRegistered batches as rows, written together (``flush``, by the database's bulk path):
    a rebuild is mostly these, and ORM objects per work, owner and version took most of its time.
    The runner flushes them before any other event is projected, so later events of the same works
    find them. Works of one batch share its log's block and log index; their ids give their order."""

    WORK = ("work_id", "content_hash", "manager", "metadata_cid", "uses", "constraints", "royalty_bps", "expires_at", "terms_version",
            "owners_hash", "tx_hash", "block_number", "log_index", "registered_at")  # fmt: skip
    TERMS = ("work_id", "version", "uses", "constraints", "royalty_bps", "expires_at", "effective_block", "effective_log_index", "effective_at", "tx_hash")
    OWNER = ("work_id", "account", "payout", "share_bps")
    VERSION = ("work_id", "version", "account", "payout", "share_bps", "effective_at", "effective_block", "effective_log_index")

    def __init__(self) -> None:
        self.works: list[tuple[Any, ...]] = []
        self.terms: list[tuple[Any, ...]] = []
        self.owners: list[tuple[Any, ...]] = []
        self.versions: list[tuple[Any, ...]] = []

    def add(self, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
        block, index, tx = int(log["blockNumber"]), int(log["logIndex"]), _hex(log["transactionHash"])
        manager, first = args["manager"], int(args["firstId"])
        # The chain kept whatever bytes it was given as text: project them, never stop on them.
        batch = list(records(bytes(args["works"]), strict=False))
        if first + len(batch) - 1 != int(args["lastId"]):
            raise ProjectionMismatch(f"works {first}..{args['lastId']}: the batch holds {len(batch)} records")
        for work_id, w in enumerate(batch, start=first):
            self.works.append((
                work_id, _hex(w.content_hash), manager, w.metadata_cid, w.uses, w.constraints, w.royalty_bps, w.expires_at, 1,
                _hex(w.owners_hash), tx, block, index, timestamp,
            ))  # fmt: skip
            self.terms.append((work_id, 1, w.uses, w.constraints, w.royalty_bps, w.expires_at, block, index, timestamp, tx))
            for account, payout, share in w.owners:  # sorted: the contract refuses any other order
                self.owners.append((work_id, account, payout, share))
                # A new work's first owner list is the event's: version 1, without a query.
                self.versions.append((work_id, 1, account, payout, share, timestamp, block, index))

    def flush(self, session: Session) -> None:
        if not self.works:
            return
        session.flush()  # whatever the ORM holds goes first, in event order
        for table, columns, rows in (
            ("work", self.WORK, self.works), ("worktermsversion", self.TERMS, self.terms),
            ("workowner", self.OWNER, self.owners), ("workownerversion", self.VERSION, self.versions),
        ):  # fmt: skip
            if rows:
                bulk_insert(session, table, columns, rows)
        self.works, self.terms, self.owners, self.versions = [], [], [], []


def apply(session: Session, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    tx = _hex(log["transactionHash"])
    block = int(log["blockNumber"])
    if name == "WorksRegistered":
        registered = Registrations()
        registered.add(args, log, timestamp)
        registered.flush(session)
    elif name == "TermsUpdated":
        work = session.get_one(Work, int(args["workId"]))
        terms = args["terms"]
        work.uses, work.constraints = _uses(terms)
        work.royalty_bps = terms["royaltyBps"]
        work.expires_at = terms["expiresAt"]
        work.terms_version = int(args["termsVersion"])
        session.add(_terms_version(work.work_id, int(args["termsVersion"]), terms, log, timestamp))
    elif name == "PositionRecorded":
        key = (int(args["workId"]), args["account"])
        row = session.get(OwnerPosition, key) or OwnerPosition(work_id=key[0], account=key[1], positions=0, tx_hash=tx, block_number=block, recorded_at=timestamp)
        row.positions, row.tx_hash, row.block_number, row.recorded_at = int(args["positions"]), tx, block, timestamp
        session.add(row)
        session.flush()
    elif name == "ManagerChanged":
        session.get_one(Work, int(args["workId"])).manager = args["newManager"]
    elif name == "PayoutChanged":
        work = session.get_one(Work, int(args["workId"]))
        session.get_one(WorkOwner, (work.work_id, args["account"])).payout = args["payout"]
        _check_hash(session, work, args["ownersHash"])
        _snapshot_owners(session, work.work_id, log, timestamp)
    elif name == "ShareTransferred":
        work = session.get_one(Work, int(args["workId"]))
        amount = int(args["shareBps"])
        sender = session.get_one(WorkOwner, (work.work_id, args["from"]))
        sender.share_bps -= amount
        if sender.share_bps == 0:
            session.delete(sender)
        receiver = session.get(WorkOwner, (work.work_id, args["to"]))
        if receiver is None:
            session.add(WorkOwner(work_id=work.work_id, account=args["to"], payout=args["toPayout"], share_bps=amount))
        else:
            receiver.share_bps += amount
        _check_hash(session, work, args["ownersHash"])
        _snapshot_owners(session, work.work_id, log, timestamp)
    elif name == "WorkReassigned":
        work = session.get_one(Work, int(args["workId"]))
        work.manager = args["newManager"]
        for o in _owners(session, work.work_id):
            session.delete(o)
        session.flush()
        for o in args["owners"]:
            session.add(WorkOwner(work_id=work.work_id, account=o["account"], payout=o["payout"], share_bps=o["shareBps"]))
        _check_hash(session, work, args["ownersHash"])
        _snapshot_owners(session, work.work_id, log, timestamp)
    # Role and other administrative events carry nothing the projection needs.
