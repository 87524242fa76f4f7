"""Applies RoyaltyDistributor events: a statement waiting for its accountant's signature becomes
published, a publication this database has no statement for is restored from its document, and
every claim is recorded, so "who has claimed" is answered from the database."""

import hashlib
import logging
from datetime import datetime, timezone
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from ledger.content.documents import load_document
from ledger.content.statement_document import parse_statement
from ledger.content.store import ContentStore
from ledger.jsonshape import JsonLimits
from ledger.accounting.coverage import Anchor, Window, coverage
from ledger.models import (
    Advance, IndexerIncident, Statement, StatementBalance, StatementClaim, StatementEntry, StatementEscrow, StatementReserve, UsageAnchorRecord, UsageReport,
)  # fmt: skip
from ledger.models.statements import STATEMENT_SCHEMAS

log = logging.getLogger(__name__)
#: A statement of 3.5 million traced lines is about 100 MiB; its hash is checked before it is parsed.
MAX_STATEMENT_BYTES = 2**30


def _restore(session: Session, store: ContentStore, statement_id: str, args: dict[str, Any], tx: str, timestamp: int) -> None:
    """A database rebuilt from the chain (or another instance of the ledger) learns the statement
    from the document behind the event's CID, if the content store has it, it hashes to the
    statement id and it rebuilds the published root; otherwise the statement is left out (and
    logged), never guessed."""
    st = args["statement"]
    cid, root = st["documentCid"], HexBytes(st["root"]).to_0x_hex()
    loaded = load_document(store, cid, max_bytes=MAX_STATEMENT_BYTES, limits=JsonLimits(max_depth=16), parse=parse_statement)
    raw = loaded.raw
    doc = loaded.value if raw is not None and "0x" + hashlib.sha256(raw).hexdigest() == statement_id else None
    if raw is None:  # normal where the documents are elsewhere (a verifier's own database): said quietly
        log.info("statement %s: its document %s is not in the content store (%s); not restored", statement_id, cid, loaded.status.value)
        return
    if not isinstance(doc, dict) or doc.get("schema") not in STATEMENT_SCHEMAS or doc.get("root") != root:
        _incident(session, "statement_document_mismatch", f"statement {statement_id}: the document under {cid} does not hash to its id or rebuild its root")
        return
    start, end, currency = int(st["periodStart"]), int(st["periodEnd"]), st["currency"]
    sequence, up_to = int(st["sequence"]), int(st["anchorsUpTo"])
    taken = session.exec(
        select(Statement).where(Statement.currency == currency, Statement.period_start == start, Statement.period_end == end, Statement.sequence == sequence)
    ).first()
    if taken is not None:
        _incident(session, "statement_conflict", f"statement {statement_id} ({currency} {start}..{end} #{sequence}) is published, "
                  f"but this database closed {taken.statement_id} for it; not restored")  # fmt: skip
        return
    problem = _incomplete(session, doc, currency, start, end, sequence, up_to)
    if problem is not None:
        _incident(session, "statement_incomplete", f"statement {statement_id} ({currency} {start}..{end} #{sequence}): {problem}; not adopted")
        return
    row = Statement(
        statement_id=statement_id, currency=currency, period_start=start, period_end=end, sequence=sequence, anchors_up_to=up_to, revenue=int(doc["revenue"]),
        platform_total=int(doc["platformTotal"]), holders_total=int(doc["holdersTotal"]), payable_total=int(st["total"]), report_count=len(doc["reports"]),
        line_count=len(doc["lines"]), entry_count=int(st["entryCount"]), root=root, document_cid=cid, publish_tx=tx,
        token="" if int(args["token"], 16) == 0 else args["token"], unit_scale=int(args["unitScale"]),
        closed_by_key=0, closed_at=datetime.fromtimestamp(timestamp, timezone.utc), ordinal=_ordinal(session, doc, currency),
    )  # fmt: skip
    session.add(row)
    session.flush()
    entries = [
        {"statement_pk": row.id, "entry_index": int(e["index"]), "account": e["account"], "payout": e["payout"], "amount": int(e["amount"]),
         "earned": int(e.get("earned", e["amount"])), "withheld": int(e.get("withheld", 0)), "released": int(e.get("released", 0)),
         "recouped": int(e.get("recouped", 0)), "cumulative": int(e.get("cumulative", 0)), "salt": str(e.get("salt", ""))}
        for e in doc["entries"]
    ]  # fmt: skip
    if entries:
        session.execute(insert(StatementEntry), entries)
    balances = [
        {"statement_pk": row.id, "account": b["account"], "brought_forward": int(b["broughtForward"]), "carried_forward": int(b["carriedForward"]),
         "advances": int(b.get("advances", 0))}
        for b in doc.get("balances", [])
    ]  # fmt: skip
    if balances:
        session.execute(insert(StatementBalance), balances)
    reserves = [
        {"statement_pk": row.id, "account": r["account"], "payout": r["payout"], "held_by": int(r["heldBy"]), "amount": int(r["amount"]),
         "release_at": int(r["releaseAt"])}
        for r in doc.get("reserves", [])
    ]  # fmt: skip
    if reserves:
        session.execute(insert(StatementReserve), reserves)
    _restore_escrow(session, row, doc)
    for r in doc["reports"]:  # the reports it paid, where this database has them (reversals were paid before)
        if r.get("reversal"):
            continue
        session.execute(
            update(UsageReport)
            .where(col(UsageReport.platform) == r["platform"], col(UsageReport.report_id) == r["reportId"], col(UsageReport.statement_pk).is_(None))
            .values(statement_pk=row.id)
        )


def _ordinal(session: Session, doc: dict[str, Any], currency: str) -> int:
    """The statement's place among its currency's statements: as its document says (v6), else
    after the ones known here."""
    if "ordinal" in doc:
        return int(doc["ordinal"])
    return len(session.exec(select(Statement.id).where(Statement.currency == currency)).all())


def _restore_escrow(session: Session, row: Statement, doc: dict[str, Any]) -> None:
    """The amounts the statement held for open disputes, and the earlier holds it released."""
    held = [
        {"statement_pk": row.id, "dispute_id": int(h["disputeId"]), "work_id": int(h["workId"]), "account": h["account"],
         "payout": h["payout"], "amount": int(h["amount"])}
        for h in doc.get("escrow", [])
    ]  # fmt: skip
    if held:
        session.execute(insert(StatementEscrow), held)
    for r in doc.get("escrowReleases", []):
        origin = row.id if r["fromStatement"] == "" else session.exec(select(Statement.id).where(Statement.statement_id == r["fromStatement"])).first()
        stmt = update(StatementEscrow).where(
            col(StatementEscrow.statement_pk) == origin, col(StatementEscrow.dispute_id) == int(r["disputeId"]),
            col(StatementEscrow.released_by_pk).is_(None),
        )  # fmt: skip
        if r["outcome"] != "upheld":  # back to each payee: only that payee's hold
            stmt = stmt.where(col(StatementEscrow.account) == r["account"], col(StatementEscrow.payout) == r["payout"])
        session.execute(stmt.values(released_by_pk=row.id))


def _incident(session: Session, kind: str, detail: str) -> None:
    log.warning("%s: %s", kind, detail)
    session.add(IndexerIncident(kind=kind, detail=detail, works_before=-1, works_after=-1))


def _incomplete(session: Session, doc: dict[str, Any], currency: str, start: int, end: int, sequence: int, up_to: int) -> str | None:
    """Why a published statement does not pay exactly the reports anchored in its window (per
    this projection of the anchors, which has every block up to the publication), or None."""
    if sequence != int(doc.get("sequence", 0)) or up_to != int(doc.get("anchorsUpTo", -1)):
        return "its document's sequence or anchor block differs from the publication's"
    after = -1
    if sequence > 0:
        previous = session.exec(
            select(Statement).where(Statement.currency == currency, Statement.period_start == start, Statement.period_end == end, Statement.sequence == sequence - 1)
        ).first()
        if previous is None:
            return f"the statement before it (#{sequence - 1}) is not known here"
        after = previous.anchors_up_to
    anchors = [
        Anchor(a.batch_hash, a.block_number, a.platform, a.report_id, a.currency, a.period_start, a.period_end)
        for a in session.exec(select(UsageAnchorRecord).where(UsageAnchorRecord.currency == currency)).all()
    ]
    paid = [r["batchHash"] for r in doc["reports"] if not r.get("reversal")]
    cover = coverage(Window(currency, start, end, after, up_to), anchors, paid)
    if cover.missing:
        a = cover.missing[0]
        return f"it leaves out {len(cover.missing)} anchored usage report(s), first {a.platform}/{a.report_id} ({a.batch_hash}, block {a.block})"
    if cover.foreign:
        return f"it pays {len(cover.foreign)} report(s) not anchored in its window, first {cover.foreign[0]}"
    return None


def apply(session: Session, store: ContentStore, name: str, args: dict[str, Any], log_: dict[str, Any], timestamp: int) -> None:
    if name not in ("StatementPublished", "Claimed", "AdvanceRecorded"):
        return  # role grants and the like
    tx, block = HexBytes(log_["transactionHash"]).to_0x_hex(), int(log_["blockNumber"])
    if name == "AdvanceRecorded":
        session.add(
            Advance(
                advance_id=HexBytes(args["advanceId"]).to_0x_hex(), account=args["account"], currency=args["currency"], amount=int(args["amount"]),
                payer=args["payer"], note=args["note"][:200], accountant=args["accountant"], tx_hash=tx, block_number=block,
                log_index=int(log_["logIndex"]), recorded_at=timestamp,
            )  # fmt: skip
        )
        return
    statement_id = HexBytes(args["statementId"]).to_0x_hex()
    if name == "StatementPublished":
        known = session.exec(select(Statement).where(col(Statement.statement_id) == statement_id)).first()
        if known is None:
            _restore(session, store, statement_id, args, tx, timestamp)
        elif not known.publish_tx:  # stored for a self-signing accountant: published now
            session.execute(update(Statement).where(col(Statement.id) == known.id).values(publish_tx=tx))
    elif name == "Claimed":
        session.add(
            StatementClaim(
                statement_id=statement_id, account=args["account"], payout=args["payout"], amount=int(args["amount"]),
                cumulative=int(args["cumulative"]), tx_hash=tx, log_index=int(log_["logIndex"]), block_number=block,
            )  # fmt: skip
        )
