"""Production records: verified against their device's enrolment, stored once, anchored in batches.

A device submits the records it signed (``POST /records``); the signature is the submission's
authentication, the device's enrolment on chain its authorisation. Each record is checked when
the ledger receives it: the signature recovers an enrolled device, not revoked and not expired
at that moment, whose scope includes the record's action, and the record's time is not in the
future (beyond the clock skew allowed). A revoked device's records received before the
revocation stay valid; none is accepted after it, whatever time it claims. A submission is all
or nothing: one record refused refuses the batch (which record and why), so a device's queue
never loses a record silently; records already stored are recognised by their hash (the EIP-712
digest) and answered as known, so retries are harmless.
"""

import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine, insert
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from ledger.db import chunked
from ledger.models.records import Device, ProductionRecord, RecordBatch, RecordInput
from ledger.records import typed
from ledger.runtime import Ledger
from ledger.services import batch_anchoring
from ledger.services.errors import InvalidInput, NotFound

MAX_RECORDS = 5_000
CLOCK_SKEW_S = 300
BATCH_SCHEMA = "ai-rights-ledger/record-batch/v1"

RECORDS = batch_anchoring.BatchKind(
    contract="ProductionRecords", event="RecordsAnchored", cid_arg="recordsCid", schema=BATCH_SCHEMA, list_key="records",
    item=ProductionRecord, hash_field="record_hash", order=(col(ProductionRecord.received_at), col(ProductionRecord.record_hash)),
    batch=RecordBatch, cid_field="records_cid", contract_of=lambda ledger: ledger.production_records,
)  # fmt: skip


@dataclass(frozen=True)
class SignedRecord:
    record: typed.Record
    signature: bytes


@dataclass(frozen=True)
class SubmitResult:
    hashes: list[str]  # every record's hash, in the order sent
    accepted: int  # stored now
    known: int  # stored before (a retry, or the same record sent twice)


@lru_cache(maxsize=8)
def _domain(chain_id: int, contract: str) -> bytes:
    return typed.domain_separator(chain_id, contract)


def domain(ledger: Ledger) -> bytes:
    return _domain(ledger.deployment.chain_id, ledger.production_records.address)


def _insert(engine: Engine, table: type, rows: list[dict[str, object]], key: str | None) -> set[str]:
    """INSERT ... ON CONFLICT DO NOTHING; the keys actually inserted (``key`` given). On
    PostgreSQL the rows go through COPY into a temporary table first (multi-row INSERTs ran at
    about 5,000 rows a second there, COPY at several times that)."""
    if not rows:
        return set()
    if engine.dialect.name == "postgresql":
        return _copy_insert(engine, table, rows, key)
    stmt = sqlite.insert(table).on_conflict_do_nothing()
    with engine.begin() as conn:
        if key is None:
            conn.execute(stmt, rows)
            return set()
        return {r[0] for r in conn.execute(stmt.returning(getattr(table, key)), rows).all()}


def _copy_insert(engine: Engine, table: type, rows: list[dict[str, object]], key: str | None) -> set[str]:
    name = table.__tablename__  # type: ignore[attr-defined]
    columns = list(rows[0])
    listed = ", ".join(columns)
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cur.execute(f"CREATE TEMP TABLE incoming_{name} (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP")
        with cur.copy(f"COPY incoming_{name} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        returning = f" RETURNING {key}" if key else ""
        cur.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM incoming_{name} ON CONFLICT DO NOTHING{returning}")
        return {r[0] for r in cur.fetchall()} if key else set()


def check(ledger: Ledger, items: list[SignedRecord], now: int) -> tuple[list[str], list[str]]:
    """Each record's hash and its device, or InvalidInput naming the first record refused."""
    dom = domain(ledger)
    hashes, signers = [], []
    for i, item in enumerate(items):
        digest = typed.record_digest(dom, item.record)
        try:
            signers.append(typed.recover(digest, item.signature))
        except typed.BadSignature as exc:
            raise InvalidInput(f"records[{i}].signature: {exc}", index=i) from None
        hashes.append("0x" + digest.hex())
    ledger.indexer.sync()  # a revocation on chain counts from the moment it is there
    with Session(ledger.engine) as s:
        devices = {d.address: d for chunk in chunked(sorted(set(signers))) for d in s.exec(select(Device).where(col(Device.address).in_(chunk)))}
    for i, (item, signer) in enumerate(zip(items, signers)):
        r, d = item.record, devices.get(signer)
        where = f"records[{i}] (signed by {signer})"
        if d is None:
            raise InvalidInput(f"{where}: no device with this key is enrolled; enrol it first (POST /devices)", index=i, device_refused=True)
        if d.revoked_at is not None and now >= d.revoked_at:
            raise InvalidInput(f"{where}: the device was revoked at {d.revoked_at}", index=i, device_refused=True)
        if now >= d.expires_at:
            raise InvalidInput(f"{where}: the device's enrolment expired at {d.expires_at}", index=i, device_refused=True)
        if not d.scope >> r.action & 1:
            raise InvalidInput(f"{where}: the device may record {', '.join(a for b, a in enumerate(typed.ACTIONS) if d.scope >> b & 1)}, not {typed.ACTIONS[r.action]}", index=i)
        if r.created_at > now + CLOCK_SKEW_S:
            raise InvalidInput(f"{where}: created_at {r.created_at} is in the future (the ledger's clock says {now})", index=i)
    return hashes, signers


def submit(ledger: Ledger, items: list[SignedRecord], now: int | None = None) -> SubmitResult:
    if not 1 <= len(items) <= MAX_RECORDS:
        raise InvalidInput(f"send 1 to {MAX_RECORDS} records at a time")
    received = int(time.time()) if now is None else now
    hashes, signers = check(ledger, items, received)
    rows, inputs, seen = [], [], set()
    for h, signer, item in zip(hashes, signers, items):
        if h in seen:
            continue
        seen.add(h)
        r = item.record
        rows.append({
            "record_hash": h, "device": signer, "action": r.action, "content_hash": "0x" + r.content_hash.hex(), "tool": r.tool,
            "tool_version": r.tool_version, "model_id": r.model_id or None, "author": typed.checksum(r.author),
            "created_at": r.created_at, "prompt_hash": "0x" + r.prompt_hash.hex() if any(r.prompt_hash) else None, "received_at": received, "signature": "0x" + item.signature.hex(), "batch_id": None,
        })  # fmt: skip
        inputs.extend({"record_hash": h, "position": p, "input_hash": "0x" + x.hex()} for p, x in enumerate(r.inputs))
    # Inputs after their records (foreign key), in the same order on every retry: a crash between
    # the two leaves records whose inputs a retry adds (rows are only ever inserted, never changed).
    inserted = _insert(ledger.engine, ProductionRecord, rows, "record_hash")
    _insert(ledger.engine, RecordInput, inputs, None)
    return SubmitResult(hashes, len(inserted), len(hashes) - len(inserted))


def anchor_pending(ledger: Ledger, max_batch: int = batch_anchoring.MAX_BATCH) -> RecordBatch | None:
    return batch_anchoring.anchor_pending(ledger, RECORDS, max_batch)  # type: ignore[return-value]


@dataclass(frozen=True)
class RecordView:
    record: ProductionRecord
    inputs: list[str]
    proof: batch_anchoring.AnchorProof | None


def get_record(ledger: Ledger, record_hash: str) -> RecordView:
    with Session(ledger.engine) as s:
        record = s.get(ProductionRecord, record_hash.lower())
        if record is None:
            raise NotFound(f"no production record {record_hash}")
        inputs = [i.input_hash for i in s.exec(select(RecordInput).where(RecordInput.record_hash == record.record_hash).order_by(col(RecordInput.position)))]
    return RecordView(record, inputs, batch_anchoring.proof_of(ledger, RECORDS, record.record_hash, record.batch_id))
