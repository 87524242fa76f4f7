"""Registering and reading works.

Registration validates everything the contract would refuse (and more) before any side effect,
stores the file and metadata content-addressed, has the holder's account sign the call (an
ERC-2771 forward request), relays it through the operator, then projects the receipt's block so
the answer comes from the same tables every later read uses.
"""

import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger.content.canonical import canonical
from ledger.content.documents import file_cid_of
from ledger.indexer.decoding import WORKS_REGISTERED_TOPIC
from ledger.chain.addresses import checksum
from ledger.chain.registry import MAX_OWNERS, TOTAL_BPS, Owner, Terms, WorkInput, sort_owners
from ledger.chain.work_codec import pack_work, registration_gas
from ledger.models import ApiKey, FileEvidence, Work, WorkOwner, WorkTermsVersion
from ledger.services import consent_evidence, contested, credentials, fingerprints
from ledger.services.contested import OnSimilar
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, InvalidInput, NotFound
from ledger.services.signing import SignatureRequired, execute

METADATA_SCHEMA = "ai-rights-ledger/work-metadata/v1"
MAX_BATCH = 200


@dataclass
class WorkRequest:
    """One work as submitted; ``content_hash`` is the SHA-256 of the file (given, or computed)."""

    title: str
    terms: Terms
    owners: list[Owner] | None = None  # None: the holder owns 100 %, paid to its own address
    content_hash: bytes | None = None
    file: bytes | None = None
    file_name: str | None = None
    media_type: str | None = None
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    #: What a file that looks like another holder's registered work does: warn (201) or refuse (409).
    on_similar: OnSimilar = "warn"


@dataclass(frozen=True)
class RegisteredWork:
    work_id: int
    content_hash: str
    metadata_cid: str
    file_cid: str | None
    tx_hash: str
    block_number: int
    #: Registered works of other holders this file looks like (``services.contested``).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: keccak256 of the registration's evidence report (None: registered by hash, nothing to check).
    evidence_report: str | None = None


def _where(index: int, total: int) -> str:
    return f"work {index}: " if total > 1 else ""


def _validate(req: WorkRequest, holder: str, where: str) -> tuple[bytes, tuple[Owner, ...]]:
    if not req.title.strip():
        raise InvalidInput(f"{where}title must not be empty")
    if req.file is not None:
        if len(req.file) == 0:
            raise InvalidInput(f"{where}the uploaded file is empty")
        digest = hashlib.sha256(req.file).digest()
        if req.content_hash is not None and req.content_hash != digest:
            raise InvalidInput(f"{where}content_hash does not match the SHA-256 of the uploaded file")
        content_hash = digest
    elif req.content_hash is None:
        raise InvalidInput(f"{where}give either a file or its content_hash")
    else:
        content_hash = req.content_hash
    if len(content_hash) != 32 or content_hash == bytes(32):
        raise InvalidInput(f"{where}content_hash must be 32 non-zero bytes (0x + 64 hex digits)")
    t = req.terms
    if not 0 <= t.royalty_bps <= TOTAL_BPS:
        raise InvalidInput(f"{where}royalty_bps must be between 0 and {TOTAL_BPS}")
    if t.expires_at < 0 or (t.expires_at and t.expires_at <= int(time.time())):
        raise InvalidInput(f"{where}expires_at must be 0 (until revoked) or a future unix time")
    owners = req.owners if req.owners is not None else [Owner(holder, holder, TOTAL_BPS)]
    if not owners:
        raise InvalidInput(f"{where}a work needs at least one owner")
    if len(owners) > MAX_OWNERS:
        raise InvalidInput(f"{where}at most {MAX_OWNERS} owners per work")
    seen: set[str] = set()
    for o in owners:
        for label, addr in (("account", o.account), ("payout", o.payout)):
            if not is_address(addr) or int(addr, 16) == 0:
                raise InvalidInput(f"{where}owner {label} {addr!r} is not a valid non-zero address")
        if o.share_bps <= 0:
            raise InvalidInput(f"{where}owner {o.account} has share {o.share_bps}; shares must be positive")
        key = o.account.lower()
        if key in seen:
            raise InvalidInput(f"{where}owner {o.account} is listed twice")
        seen.add(key)
    total = sum(o.share_bps for o in owners)
    if total != TOTAL_BPS:
        raise InvalidInput(f"{where}owner shares sum to {total} basis points; they must sum to {TOTAL_BPS}")
    normalised = [Owner(checksum(o.account), checksum(o.payout), o.share_bps) for o in owners]
    return content_hash, sort_owners(normalised)


def _metadata(req: WorkRequest, content_hash: bytes, file_cid: str | None) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8) so the same work always has the same CID."""
    doc = {
        "schema": METADATA_SCHEMA,
        "title": req.title.strip(),
        "description": req.description,
        "contentHash": "0x" + content_hash.hex(),
        "contentHashAlgorithm": "sha2-256",
        "file": None
        if file_cid is None
        else {"cid": file_cid, "name": req.file_name, "mediaType": req.media_type, "size": len(req.file or b"")},
        "attributes": req.attributes,
    }
    return canonical(doc)


_WORKS = Work.__table__  # type: ignore[attr-defined]
_REGISTERED_COLUMNS = sa_select(_WORKS.c.work_id, _WORKS.c.content_hash, _WORKS.c.manager)
#: Built once: every registration asks it, and building the ORM query cost more than running it.
_FIRST_REGISTERED = (
    _REGISTERED_COLUMNS.where(_WORKS.c.content_hash.in_(bindparam("hashes", expanding=True))).order_by(_WORKS.c.work_id).limit(1)
)
#: The question of a one-work request, the common one: an expanding IN is rendered again for each
#: execution (SQLAlchemy's post-compile step was about a twentieth of a write's CPU), an equality not.
_REGISTERED_AS = _REGISTERED_COLUMNS.where(_WORKS.c.content_hash == bindparam("hash"))


def _already_registered(engine: Engine, hashes: list[str], holder: str) -> Conflict | None:
    """The 409 for a content hash on record: who registered it, and whether with its file (a
    registration by hash alone proves no possession of the file: the rightful holder can contest it).
    A connection, not a session, for the question every registration asks; a session only for the
    rare answer."""
    with engine.connect() as conn:
        if len(hashes) == 1:
            work = conn.execute(_REGISTERED_AS, {"hash": hashes[0]}).first()
        else:
            work = conn.execute(_FIRST_REGISTERED, {"hashes": hashes}).first()
    if work is None:
        return None
    with Session(engine) as session:
        evidence = session.get(FileEvidence, work.content_hash)
    with_file = evidence is not None and evidence.file_cid is not None
    whose = "your" if work.manager == holder else f"{work.manager}'s"
    return Conflict(
        f"content hash {work.content_hash} is already registered as work {work.work_id} ({whose} registration, "
        f"{'with' if with_file else 'by hash, without'} the file)",
        work_id=work.work_id, content_hash=work.content_hash, registered_by=work.manager, registered_with_file=with_file,
    )  # fmt: skip


@dataclass(frozen=True)
class PreparedWork:
    content_hash: str
    metadata_cid: str
    file_cid: str | None


@dataclass(frozen=True)
class PendingRegistration:
    """A self-custodied holder's batch, stored and checked, waiting for the holder's signature."""

    typed_data: dict[str, Any]
    works: list[PreparedWork]


def register_works(
    ledger: Ledger, key: ApiKey, requests: list[WorkRequest]
) -> list[RegisteredWork] | PendingRegistration:
    if not requests:
        raise InvalidInput("no works given")
    if len(requests) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} works per request")
    holder = key.holder_address
    assert holder is not None  # rights_holder keys always carry one
    checked = [_validate(r, holder, _where(i, len(requests))) for i, r in enumerate(requests)]
    hashes = ["0x" + h.hex() for h, _ in checked]
    if len(set(hashes)) != len(hashes):
        dup = next(h for h in hashes if hashes.count(h) > 1)
        raise InvalidInput(f"content hash {dup} appears twice in this request")
    conflict = _already_registered(ledger.engine, hashes, holder)
    if conflict is not None:
        raise conflict

    inputs, file_cids, checks = [], [], {}
    consent_warnings: dict[str, list[dict[str, Any]]] = {}
    for i, (req, (content_hash, owners)) in enumerate(zip(requests, checked)):
        file_cid = ledger.store.put(req.file) if req.file is not None else None
        if req.file is not None:
            prints = fingerprints.record_file(ledger, hashes[i], req.file, "work_upload", file_cid, req.title)
            creds = credentials.read_and_record(ledger, hashes[i], req.file, "work_upload")
            signals = consent_evidence.record_file(ledger, hashes[i], req.file, creds, holder)
            checks[hashes[i]] = contested.check(ledger, holder, hashes[i], req.title, prints, req.on_similar, _where(i, len(requests)))
            consent_warnings[hashes[i]] = consent_evidence.warnings_for(signals, req.terms.uses)
        metadata_cid = ledger.store.put(_metadata(req, content_hash, file_cid))
        file_cids.append(file_cid)
        inputs.append(WorkInput(content_hash, metadata_cid, req.terms, owners))

    packed = [pack_work(w) for w in inputs]
    call = ledger.call("WorkRegistry", "registerWorks", b"".join(packed))
    outcome = execute(ledger, key, replace(call, gas=registration_gas(packed)))
    if isinstance(outcome, SignatureRequired):
        prepared = [PreparedWork(hashes[i], inputs[i].metadata_cid, file_cids[i]) for i in range(len(inputs))]
        return PendingRegistration(outcome.typed_data, prepared)
    known = {hashes[i]: (inputs[i].metadata_cid, file_cids[i]) for i in range(len(inputs))}
    return [
        replace(r, warnings=checks[r.content_hash].warnings + consent_warnings[r.content_hash], evidence_report=checks[r.content_hash].report_hash)
        if r.content_hash in checks else r
        for r in _registered_now(ledger, outcome, known)
    ]  # fmt: skip


def _registered_now(ledger: Ledger, receipt: TxReceipt, known: dict[str, tuple[str, str | None]]) -> list[RegisteredWork]:
    """The works this request's transaction registered, answered from its receipt's
    WorksRegistered logs (first id; the works in the request's order) and what the request stored
    (content hashes, CIDs), once the projection has the block: no database read and no decoding of
    the batch per caller, which under a burst of concurrent registrations each waited on the others.

    A coalesced transaction holds several requests' batches, one log each; this request's is the
    one whose batch starts with the request's first content hash (``_batch_ids``)."""
    block = int(receipt["blockNumber"])
    ledger.indexer.sync(to_block=block)
    tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
    hashes = list(known)
    out = []
    for work_id, content_hash in zip(_batch_ids(ledger, receipt, hashes[0]), hashes, strict=True):
        metadata_cid, file_cid = known[content_hash]
        out.append(RegisteredWork(work_id, content_hash, metadata_cid, file_cid, tx_hash, block))
    return out


def _batch_ids(ledger: Ledger, receipt: TxReceipt, first_hash: str) -> range:
    """The ids of the batch whose first record has ``first_hash``: the log's data is
    (lastId, offset, length, batch), and a batch starts with its first work's content hash."""
    registry, wanted = ledger.registry.contract.address, HexBytes(first_hash)
    for log in receipt["logs"]:
        topics, data = log["topics"], HexBytes(log["data"])
        if log["address"] == registry and topics and bytes(topics[0]) == WORKS_REGISTERED_TOPIC and data[96:128] == wanted:
            return range(int.from_bytes(HexBytes(topics[1]), "big"), int.from_bytes(data[:32], "big") + 1)
    raise RuntimeError(f"transaction {HexBytes(receipt['transactionHash']).to_0x_hex()} registered no batch starting with {first_hash}")


def registered_in(ledger: Ledger, receipt: TxReceipt) -> list[RegisteredWork]:
    """The works a mined transaction registered, once the projection has its block."""
    block = int(receipt["blockNumber"])
    ledger.indexer.sync(to_block=block)
    events = ledger.registry.contract.events.WorksRegistered().process_receipt(receipt, errors=DISCARD)
    tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
    out = []
    with Session(ledger.engine) as s:
        for ev in events:
            for work_id in range(int(ev["args"]["firstId"]), int(ev["args"]["lastId"]) + 1):
                work = s.get_one(Work, work_id)
                file_cid = file_cid_of(ledger.store, work.metadata_cid)
                out.append(RegisteredWork(work.work_id, work.content_hash, work.metadata_cid, file_cid, tx_hash, block))
    return out


@dataclass(frozen=True)
class WorkView:
    work: Work
    owners: list[WorkOwner]
    terms_history: list[WorkTermsVersion]


def get_work(ledger: Ledger, work_id: int) -> WorkView:
    with Session(ledger.engine) as s:
        work = s.get(Work, work_id)
        if work is None:
            raise NotFound(f"no work with id {work_id}")
        owners = list(s.exec(select(WorkOwner).where(WorkOwner.work_id == work_id)).all())
        history = list(
            s.exec(select(WorkTermsVersion).where(WorkTermsVersion.work_id == work_id).order_by(col(WorkTermsVersion.version))).all()
        )
    return WorkView(work, sorted(owners, key=lambda o: int(o.account, 16)), history)


def list_works(ledger: Ledger, owner: str | None, manager: str | None, limit: int, offset: int) -> list[WorkView]:
    stmt = select(Work).order_by(col(Work.work_id)).limit(limit).offset(offset)
    for label, addr in (("owner", owner), ("manager", manager)):
        if addr is not None and not is_address(addr):
            raise InvalidInput(f"{label} must be an Ethereum address, got {addr!r}")
    if owner is not None:
        stmt = stmt.where(col(Work.work_id).in_(select(WorkOwner.work_id).where(WorkOwner.account == to_checksum_address(owner))))
    if manager is not None:
        stmt = stmt.where(Work.manager == to_checksum_address(manager))
    with Session(ledger.engine) as s:
        works = list(s.exec(stmt).all())
        ids = [w.work_id for w in works]
        owners = list(s.exec(select(WorkOwner).where(col(WorkOwner.work_id).in_(ids))).all()) if ids else []
    by_work: dict[int, list[WorkOwner]] = {}
    for o in owners:
        by_work.setdefault(o.work_id, []).append(o)
    return [WorkView(w, sorted(by_work.get(w.work_id, []), key=lambda o: int(o.account, 16)), []) for w in works]
