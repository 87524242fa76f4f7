"""Usage reports: streaming import of a DDEX-DSR-like flat file (or the same records as JSON),
validated line by line, stored all-or-nothing, and anchored on chain by hash.

The format is read and hashed by ``usage_format`` (docs/usage-format.md); this module resolves
what the lines name against the database, stores them and anchors the report.

A self-signing platform's report is stored at once and counts from the moment its anchor is on
chain: the import answers with the anchor request to sign, and ``POST /relay`` submits it.

A report id is never reused: importing the same report again (same content) changes nothing and
says so; different content under a used id is a conflict. Line ids are stable per platform; a
correction is a new report whose lines name the line they replace; the original stays on record
and stops counting. A line is replaced once (a correction of a correction names the correcting
line), by a line of the same currency whose report's period contains the replaced line's, so the
period that pays one settles the other. A report for a period already closed is accepted and paid
by the period's next adjustment statement; replacing a line already paid reverses it there, and a
holder left owing carries the balance into later statements (``accounting.balances``).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.dates import iso_day
from ledger.db import bulk_insert, chunked, larger_cache, session_scope
from ledger.models import ApiKey, Model, Output, OutputLink, Role, Statement, UsageAnchorRecord, UsageLine, UsageReport
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput
from ledger.services.locks import KeyedLocks
from ledger.services.model_pools import PoolCheck, platform_models
from ledger.services.signing import SignatureRequired, execute
from ledger.services.usage_format import Header, Records, ReportLine, ReportReader, UsageFormatError, records_from_csv, records_from_json

__all__ = ["ImportResult", "ReportStatus", "import_report", "list_reports", "records_from_csv", "records_from_json", "resolve_lines", "store_lines"]

CHUNK = 5_000
#: The columns of ``UsageLine`` an import writes, in the order ``resolve_lines`` gives them.
LINE_COLUMNS = (
    "report_pk", "platform", "line_id", "line_number", "output_id", "model_id", "platform_output_ref",
    "use_type", "commercial_model", "territory", "uses", "revenue", "replaces_line_id",
)  # fmt: skip


@dataclass(frozen=True)
class ImportResult:
    report_id: str
    created: bool  # False: the same report was already imported (nothing changed)
    line_count: int
    total_revenue: int
    batch_hash: str
    anchor_tx: str  # "" while a self-signing platform has not relayed its signed anchor yet
    typed_data: dict[str, Any] | None = None  # what that platform must sign (then POST /relay)



class Subjects:
    """What a report's lines name, resolved once per import rather than once per chunk: an output
    hash -> (output id, the model whose pool it pays if it has no links, else None); a model id ->
    whether it is the platform's. Bounded: past ``LIMIT`` entries it starts afresh."""

    LIMIT = 200_000

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.outputs: dict[str, tuple[int, int | None]] = {}
        self.models: dict[int, bool] = {}

    def load(self, session: Session, rows: list[ReportLine]) -> None:
        if len(self.outputs) + len(self.models) > self.LIMIT:
            self.outputs.clear()
            self.models.clear()
        hashes = {r.subject for r in rows if r.subject[0] == "0"} - self.outputs.keys()
        linked = select(OutputLink.output_id).where(col(OutputLink.output_id) == col(Output.output_id)).exists()
        for chunk in chunked(sorted(hashes), 5_000):
            found = session.exec(
                select(Output.output_hash, Output.output_id, Output.model_id, linked)
                .join(Model, col(Model.model_id) == col(Output.model_id))
                .where(col(Output.output_hash).in_(chunk), Model.platform == self.platform)
            ).all()  # fmt: skip
            self.outputs.update({h: (int(o), None if has_links else int(m)) for h, o, m, has_links in found})
        named = {int(r.subject[6:]) for r in rows if r.subject[0] == "m"} - self.models.keys()
        if named:
            own = platform_models(session, self.platform, named)
            self.models.update({m: m in own for m in named})


def resolve_lines(
    session: Session, header: Header, rows: list[ReportLine], report_pk: int | None, pools: PoolCheck, subjects: Subjects | None = None
) -> list[tuple[object, ...]]:
    """Resolves a chunk's output hashes, models and replaced lines against the database: rows ready
    to insert (``LINE_COLUMNS``). Revenue that goes to a model's pool (a model-level line; a line of
    an output without links) is refused when the pool could pay no one (``pools``). A line id used
    before is found by the insert (``store_lines``), not here."""
    platform = header.platform
    subjects = subjects or Subjects(platform)
    subjects.load(session, rows)
    outputs, models = subjects.outputs, subjects.models
    replaced = {r.replaces_line_id for r in rows if r.replaces_line_id}
    known, replaced_by = _replaced(session, platform, replaced) if replaced else ({}, {})
    out: list[tuple[object, ...]] = []
    append = out.append
    for r in rows:
        subject = r.subject
        output = outputs.get(subject)
        output_id: int | None = None
        model_id: int | None = None
        if output is not None:
            output_id = output[0]
            if output[1] is not None:  # registered without links: paid through its model's pool
                pools.require(output[1], f"line {r.line_number}: output {subject} has no attribution links, so its model's training set is paid; ")
        elif subject[0] != "m":
            raise UsageFormatError(r.line_number, f"output {subject} is not a registered output of this platform's models")
        else:
            model_id = int(subject[6:])
            if not models.get(model_id):
                raise UsageFormatError(r.line_number, f"model {model_id} is not a registered model of this platform")
            pools.require(model_id, f"line {r.line_number}: ")
        target = r.replaces_line_id
        if target:
            _check_replacement(r.line_number, header, target, known.get(target), replaced_by.get(target))
            replaced_by[target] = r.line_id
        append((
            report_pk, platform, r.line_id, r.line_number, output_id, model_id, r.platform_output_ref,
            r.use_type, r.commercial_model, r.territory, r.uses, r.revenue, target,
        ))  # fmt: skip
    return out


def _replaced(session: Session, platform: str, replaced: set[str]) -> tuple[dict[str, tuple[str, int, int]], dict[str, str]]:
    """For the line ids a chunk replaces: (their report's currency and period, by id), (the line
    that already replaced each, by id)."""
    known = {
        line_id: (currency, start, end)
        for line_id, currency, start, end in session.exec(
            select(UsageLine.line_id, UsageReport.currency, UsageReport.period_start, UsageReport.period_end)
            .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
            .where(UsageLine.platform == platform, col(UsageLine.line_id).in_(replaced))
        ).all()
    }
    replaced_by = {  # by the replaced ids alone, the platform checked here: SQLite then takes their index, not the platform's lines
        str(target): line_id
        for line_platform, target, line_id in session.exec(
            select(UsageLine.platform, UsageLine.replaces_line_id, UsageLine.line_id).where(col(UsageLine.replaces_line_id).in_(replaced))
        ).all()
        if line_platform == platform
    }
    return known, replaced_by  # type: ignore[return-value]


def store_lines(session: Session, rows: list[tuple[object, ...]]) -> None:
    """Writes resolved lines in one bulk statement (PostgreSQL: COPY). A line id used twice, in
    this report or since an earlier one, is refused by the unique index, and then explained: the
    import keeps no set of every id it has read, so a report of millions of lines stays in bounded
    memory."""
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    try:
        if postgres:  # a failed COPY aborts the transaction: a savepoint keeps it open for the explanation
            with session.begin_nested():
                bulk_insert(session, "usageline", LINE_COLUMNS, rows)
        else:
            bulk_insert(session, "usageline", LINE_COLUMNS, rows)
    except IntegrityError:
        raise _reused_line_id(session, rows) from None


def _reused_line_id(session: Session, rows: list[tuple[object, ...]]) -> Exception:
    """Why the unique index refused a chunk: the first line whose id appears earlier in the chunk,
    earlier in this report, or in an earlier report."""
    first: dict[str, int] = {}
    for row in rows:
        line_id, number = str(row[2]), int(row[3])  # type: ignore[call-overload]
        if line_id in first:
            return UsageFormatError(number, f"line id {line_id!r} appears twice in this report (first at line {first[line_id]})")
        first[line_id] = number
    report_pk, platform = rows[0][0], str(rows[0][1])
    earlier = {
        line_id: (pk, number)
        for line_id, pk, number in session.exec(
            select(UsageLine.line_id, UsageLine.report_pk, UsageLine.line_number).where(UsageLine.platform == platform, col(UsageLine.line_id).in_(list(first)))
        ).all()
    }
    for row in rows:
        hit = earlier.get(str(row[2]))
        if hit is not None and hit != (report_pk, row[3]):  # SQLite kept the chunk's lines before the refused one
            if hit[0] == report_pk:
                return UsageFormatError(int(row[3]), f"line id {row[2]!r} appears twice in this report (first at line {hit[1]})")  # type: ignore[call-overload]
            return UsageFormatError(int(row[3]), f"line id {row[2]!r} was already used in an earlier report; line ids are never reused")  # type: ignore[call-overload]
    return Conflict("another import stored one of this report's line ids at the same moment; retry to see which")


def _check_replacement(n: int, header: Header, target: str, report: tuple[str, int, int] | None, replaced_by: str | None) -> None:
    """A correction must be settled by the statement that settles what it replaces: same currency,
    and a period that contains the replaced line's (a period is closed whole, so both are paid, or
    reversed, together). One replacement per line keeps "what counts" a chain, never a fork."""
    if report is None:
        raise UsageFormatError(n, f"replaces_line_id {target!r} is not a line this platform reported earlier")
    if replaced_by is not None:
        raise UsageFormatError(n, f"line {target!r} was already replaced by line {replaced_by!r}; correct that line instead")
    currency, start, end = report
    if currency != header.currency:
        raise UsageFormatError(n, f"line {target!r} was reported in {currency}; a correction replaces it in the same currency, not {header.currency}")
    if start < header.period_start or end > header.period_end:
        raise UsageFormatError(
            n, f"line {target!r} was reported for {iso_day(start)}..{iso_day(end)}; a correction's period must contain it "
            f"(this report covers {iso_day(header.period_start)}..{iso_day(header.period_end)})",
        )


def import_report(
    ledger: Ledger, key: ApiKey, records: Records, progress: Callable[[int], None] | None = None
) -> ImportResult:
    if key.holder_address is None:
        raise Forbidden("this key has no on-chain account")
    imp = ReportReader.start(records, key.holder_address)
    with _REPORTS.hold((imp.header.platform, imp.header.report_id)):
        try:
            return _import(ledger, key, imp, records, progress)
        except _Raced:  # another process stored the same report id first: compare against it
            return _import(ledger, key, imp, records, progress)


class _Raced(Exception):
    """The report row was inserted by someone else between our check and our insert."""


_REPORTS = KeyedLocks()


def _import(
    ledger: Ledger, key: ApiKey, imp: ReportReader, records: Records, progress: Callable[[int], None] | None
) -> ImportResult:
    header = imp.header
    with Session(ledger.engine) as s:
        existing = s.exec(select(UsageReport).where(UsageReport.platform == header.platform, UsageReport.report_id == header.report_id)).first()
        straddled = s.exec(
            select(Statement).where(
                Statement.currency == header.currency, Statement.period_start <= header.period_end, Statement.period_end >= header.period_start,
                (Statement.period_start > header.period_start) | (Statement.period_end < header.period_end),
            )
        ).first()  # fmt: skip
    if existing is None and straddled is not None:
        raise Conflict(
            f"{header.currency} is closed from {iso_day(straddled.period_start)} to {iso_day(straddled.period_end)}; this report's "
            "period runs across that edge, so no statement could pay it: split it at the closed period's dates",
            statement_id=straddled.statement_id,
        )
    pools = PoolCheck(ledger.engine, ledger.settings.one_creator_share_bps)
    subjects = Subjects(header.platform)
    with session_scope(ledger.engine) as s, larger_cache(s):
        report = None
        if existing is None:
            report = UsageReport(
                platform=header.platform, report_id=header.report_id, period_start=header.period_start,
                period_end=header.period_end, currency=header.currency, corrects_report_id=header.corrects_report_id,
                line_count=0, total_revenue=0, batch_hash="pending:" + header.report_id[:50], anchor_tx="",
            )  # fmt: skip
            s.add(report)
            try:
                s.flush()
            except IntegrityError as exc:  # nothing of the report's lines is read yet: the retry starts clean
                raise _Raced from exc
        chunk: list[ReportLine] = []
        for row in imp.rows(records):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                _flush(s, imp, chunk, report, pools, subjects)
                chunk = []
                if progress:
                    progress(imp.count)
        _flush(s, imp, chunk, report, pools, subjects)
        if progress:
            progress(imp.count)
        batch_hash = imp.finish()
        if existing is not None:
            if existing.batch_hash != batch_hash:
                raise Conflict(f"report {header.report_id!r} was already imported with other content; report ids are never reused")
            if existing.anchor_tx:
                return ImportResult(header.report_id, False, existing.line_count, existing.total_revenue, batch_hash, existing.anchor_tx)
            report = s.get_one(UsageReport, existing.id)  # stored, still waiting for the platform's signature
        assert report is not None
        anchored = _anchor(ledger, key, header, batch_hash, imp)
        report.line_count, report.total_revenue, report.batch_hash = imp.count, imp.total, batch_hash
        if isinstance(anchored, SignatureRequired):
            return ImportResult(header.report_id, existing is None, imp.count, imp.total, batch_hash, "", anchored.typed_data)
        report.anchor_tx = anchored[0]
    ledger.indexer.sync(to_block=anchored[1])
    return ImportResult(header.report_id, existing is None, imp.count, imp.total, batch_hash, anchored[0])


def _anchor(ledger: Ledger, key: ApiKey, header: Header, batch_hash: str, imp: ReportReader) -> tuple[str, int] | SignatureRequired:
    """Anchors the report's hash, or adopts the anchor already on chain: if the process died after
    the anchor was mined but before the lines were committed, the retry must not fail (the chain
    refuses a second anchor of one hash) nor anchor twice. Returns (transaction hash, block
    number), or what a self-signing platform must sign."""
    digest = bytes.fromhex(batch_hash[2:])
    anchored_by, _ = ledger.usage_anchor.functions.anchorOf(digest).call()
    if int(anchored_by, 16) != 0:
        if anchored_by != header.platform:  # the hash covers the platform, so this cannot collide
            raise Conflict(f"report hash {batch_hash} is anchored by {anchored_by}, not by {header.platform}")
        ledger.indexer.sync()
        with Session(ledger.engine) as s:
            record = s.get(UsageAnchorRecord, batch_hash)
        if record is None:
            raise Conflict(f"report hash {batch_hash} is anchored on chain but its event is not indexed yet; retry shortly")
        return record.tx_hash, record.block_number
    call = ledger.call(
        "UsageAnchor", "anchor", digest,
        (header.report_id, header.period_start, header.period_end, header.currency, imp.count, imp.total),
    )  # fmt: skip
    outcome = execute(ledger, key, call)
    if isinstance(outcome, SignatureRequired):
        return outcome
    return "0x" + bytes(outcome["transactionHash"]).hex(), int(outcome["blockNumber"])


def _flush(s: Session, imp: ReportReader, chunk: list[ReportLine], report: UsageReport | None, pools: PoolCheck, subjects: Subjects) -> None:
    if not chunk or report is None:  # compare mode (already imported): only the hash matters
        return
    store_lines(s, resolve_lines(s, imp.header, chunk, report.id, pools, subjects))


@dataclass(frozen=True)
class ReportStatus:
    platform: str
    report_id: str
    period_start: int
    period_end: int
    currency: str
    corrects_report_id: str | None
    line_count: int
    total_revenue: int
    batch_hash: str
    anchor_tx: str
    status: str  # awaiting_signature, anchored (counts, not paid yet), paid
    statement_id: str | None  # the statement that paid it


def list_reports(
    ledger: Ledger, key: ApiKey, platform: str | None = None, currency: str | None = None, limit: int = 100, offset: int = 0
) -> list[ReportStatus]:
    """Usage reports, newest first, with where each stands: waiting for its platform's signed
    anchor, anchored (counted by royalty runs, in no statement yet), or paid (by which statement).
    A platform sees its own reports; accountants and admins see every platform's."""
    if key.role == Role.platform:
        if platform is not None and (not is_address(platform) or to_checksum_address(platform) != key.holder_address):
            raise Forbidden(f"this key reports for {key.holder_address}; it cannot list {platform}'s reports")
        platform = key.holder_address
    elif platform is not None:
        if not is_address(platform):
            raise InvalidInput(f"not an Ethereum address: {platform!r}")
        platform = to_checksum_address(platform)
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidInput("limit is 1 to 1000 and offset at least 0")
    stmt = select(UsageReport, Statement.statement_id).join(Statement, col(Statement.id) == col(UsageReport.statement_pk), isouter=True)
    if platform is not None:
        stmt = stmt.where(UsageReport.platform == platform)
    if currency is not None:
        stmt = stmt.where(UsageReport.currency == currency)
    stmt = stmt.order_by(col(UsageReport.id).desc()).offset(offset).limit(limit)
    with Session(ledger.engine) as s:
        rows = s.exec(stmt).all()
    return [
        ReportStatus(
            r.platform, r.report_id, r.period_start, r.period_end, r.currency, r.corrects_report_id, r.line_count, r.total_revenue,
            r.batch_hash, r.anchor_tx, "paid" if sid else "anchored" if r.anchor_tx else "awaiting_signature", sid,
        )  # fmt: skip
        for r, sid in rows
    ]
