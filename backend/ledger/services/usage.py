"""Usage reports: streaming import of a DDEX-DSR-like flat file (or the same records as JSON),
validated line by line, stored all-or-nothing, and anchored on chain by hash.

File format (CSV, UTF-8; see docs/usage-format.md):

    HEAD,<report_id>,<platform address>,<period_start YYYY-MM-DD>,<period_end YYYY-MM-DD>,<currency>[,<corrects_report_id>]
    LINE,<line_id>,<output_hash | model:<id>>,<platform_output_id>,<use_type>,<commercial_model>,<territory>,<uses>,<revenue_minor>[,<replaces_line_id>]
    ...
    FOOT,<line_count>,<total_revenue_minor>

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

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.codes import is_currency, is_territory
from ledger.dates import iso_day, unix_day
from ledger.db import session_scope
from ledger.models import ApiKey, Model, Output, OutputLink, Role, Statement, UsageAnchorRecord, UsageLine, UsageReport
from ledger.models.types import MAX_ID
from ledger.services.model_pools import PoolCheck, models_of, platform_models
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput
from ledger.services.locks import KeyedLocks
from ledger.services.signing import SignatureRequired, execute

USE_TYPES = frozenset({"generation", "download", "stream", "print", "display", "other"})
#: Revenue of a model rather than of one output (a line naming ``model:<id>``): paid over its training set.
MODEL_USE_TYPES = frozenset({"subscription", "api_access", "training_fee", "model_licence", "other"})
_MODEL = re.compile(r"^model:([1-9][0-9]{0,18})$")
COMMERCIAL_MODELS = frozenset({"subscription", "ad_supported", "pay_per_use", "free", "other"})
MAX_REVENUE = 10**14  # per line, minor units: keeps every split inside int64
CHUNK = 5_000
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,200}$")


class UsageFormatError(InvalidInput):
    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}", line=line_number)


@dataclass(frozen=True)
class Header:
    report_id: str
    platform: str
    period_start: int
    period_end: int
    currency: str
    corrects_report_id: str | None


@dataclass(frozen=True)
class ImportResult:
    report_id: str
    created: bool  # False: the same report was already imported (nothing changed)
    line_count: int
    total_revenue: int
    batch_hash: str
    anchor_tx: str  # "" while a self-signing platform has not relayed its signed anchor yet
    typed_data: dict[str, Any] | None = None  # what that platform must sign (then POST /relay)


def _day(value: str, line: int, end: bool) -> int:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise UsageFormatError(line, f"{value!r} is not a date (YYYY-MM-DD)") from None
    try:
        return unix_day(d, end)
    except ValueError as exc:
        raise UsageFormatError(line, str(exc)) from None


def _int(value: str, line: int, field: str, maximum: int) -> int:
    if not re.fullmatch(r"-?\d+", value.strip()):
        raise UsageFormatError(line, f"{field} must be a whole number, got {value!r}")
    n = int(value)
    if n < 0:
        raise UsageFormatError(line, f"{field} must not be negative, got {n}")
    if n > maximum:
        raise UsageFormatError(line, f"{field} {n} exceeds {maximum}")
    return n


def _header(fields: list[str], line: int, platform_of_key: str | None) -> Header:
    """The HEAD record; with ``platform_of_key``, the report must be that platform's."""
    if len(fields) not in (6, 7) or fields[0] != "HEAD":
        raise UsageFormatError(line, "the first record must be HEAD,report_id,platform,period_start,period_end,currency[,corrects_report_id]")
    _, report_id, platform, start, end, currency, *rest = [f.strip() for f in fields]
    if not _ID.match(report_id):
        raise UsageFormatError(line, f"report_id {report_id!r} must be 1-200 letters, digits or ._:/-")
    if not is_address(platform):
        raise UsageFormatError(line, f"platform {platform!r} is not an account address")
    if platform_of_key is not None and to_checksum_address(platform) != platform_of_key:
        raise Forbidden(f"line {line}: the report declares platform {platform!r}; this key reports for {platform_of_key}")
    if not is_currency(currency):
        raise UsageFormatError(line, f"currency must be an ISO 4217 code with a minor unit, like JPY or USD; got {currency!r}")
    period_start, period_end = _day(start, line, False), _day(end, line, True)
    if period_end < period_start:
        raise UsageFormatError(line, "period_end is before period_start")
    corrects = rest[0] if rest and rest[0] else None
    return Header(report_id, to_checksum_address(platform), period_start, period_end, currency, corrects)


def _line(fields: list[str], line: int) -> dict[str, object]:
    if len(fields) not in (9, 10):
        raise UsageFormatError(line, f"a LINE has 9 or 10 fields, this one has {len(fields)}")
    _, line_id, output_hash, ref, use_type, model, territory, uses, revenue, *rest = [f.strip() for f in fields]
    if not _ID.match(line_id):
        raise UsageFormatError(line, f"line_id {line_id!r} must be 1-200 letters, digits or ._:/-")
    model_line = _MODEL.match(output_hash) is not None
    if not model_line and not _HEX32.match(output_hash.lower()):
        raise UsageFormatError(line, f"output_hash must be 0x + 64 hex digits (an output) or model:<id> (model-level revenue), got {output_hash!r}")
    if model_line and int(output_hash[6:]) > MAX_ID:
        raise UsageFormatError(line, f"model id {output_hash[6:]} exceeds {MAX_ID}")
    allowed = MODEL_USE_TYPES if model_line else USE_TYPES
    if use_type not in allowed:
        raise UsageFormatError(line, f"use_type {use_type!r} is not one of {sorted(allowed)} (for a line naming {'a model' if model_line else 'an output'})")
    if model not in COMMERCIAL_MODELS:
        raise UsageFormatError(line, f"commercial_model {model!r} is not one of {sorted(COMMERCIAL_MODELS)}")
    if not is_territory(territory):
        raise UsageFormatError(line, f"territory must be an ISO 3166-1 alpha-2 code (ZZ: worldwide), got {territory!r}")
    replaces = rest[0] if rest and rest[0] else None
    if replaces is not None and not _ID.match(replaces):
        raise UsageFormatError(line, f"replaces_line_id {replaces!r} is not a valid line id")
    return {
        "line_number": line,
        "line_id": line_id,
        "output_hash": output_hash.lower(),
        "platform_output_ref": ref[:200],
        "use_type": use_type,
        "commercial_model": model,
        "territory": territory,
        "uses": _int(uses, line, "uses", 2**62),
        "revenue": _int(revenue, line, "revenue", MAX_REVENUE),
        "replaces_line_id": replaces,
    }


def _canonical(kind: str, values: Iterable[object]) -> bytes:
    return (kind + "|" + "|".join("" if v is None else str(v) for v in values) + "\n").encode()


def records_from_json(report: dict[str, object], lines: list[dict[str, object]]) -> Iterator[tuple[int, list[str]]]:
    """The JSON form of a report as the same records (line numbers: 1 = HEAD, 2.. = lines)."""
    yield 1, ["HEAD", *(str(report.get(k) or "") for k in ("report_id", "platform", "period_start", "period_end", "currency", "corrects_report_id"))]
    total = 0
    for i, line in enumerate(lines, start=2):
        if line.get("model_id") is not None:
            if line.get("output_hash"):
                raise UsageFormatError(i, "a line names an output (output_hash) or a model (model_id), not both")
            line = {**line, "output_hash": f"model:{line['model_id']}"}
        fields = ("line_id", "output_hash", "platform_output_id", "use_type", "commercial_model", "territory", "uses", "revenue", "replaces_line_id")
        yield i, ["LINE", *("" if line.get(k) is None else str(line.get(k)) for k in fields)]
        revenue = line.get("revenue")
        total += revenue if isinstance(revenue, int) else 0
    yield len(lines) + 2, ["FOOT", str(len(lines)), str(total)]


MAX_FIELD_CHARS = 1000  # the longest valid field is 200 characters; csv's own limit (131,072) is a crash, not an answer
MAX_FIELDS = 12


def records_from_csv(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every non-empty line; the file is never loaded whole, and no
    field or record may grow past a small bound (an unclosed quote would otherwise swallow the rest)."""
    reader = csv.reader(_bounded_lines(lines))
    number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UsageFormatError(reader.line_num, f"not a valid CSV record ({exc})") from None
        number += 1
        if len(fields) > MAX_FIELDS:
            raise UsageFormatError(number, f"a record has at most {MAX_FIELDS} fields, this one has {len(fields)}")
        long = next((i for i, f in enumerate(fields, start=1) if len(f) > MAX_FIELD_CHARS), None)
        if long is not None:
            raise UsageFormatError(number, f"field {long} is longer than {MAX_FIELD_CHARS} characters")
        if fields and any(f.strip() for f in fields):
            yield number, fields


def _bounded_lines(lines: Iterable[str]) -> Iterator[str]:
    """Physical lines, each refused past a bound before csv joins them into a record; from a text
    stream, a line is read at most that far, so a file without newlines is never held whole."""
    bound = MAX_FIELD_CHARS * MAX_FIELDS
    readline = getattr(lines, "readline", None)
    numbered = enumerate(iter(lambda: readline(bound + 1), "") if readline else lines, start=1)
    for number, line in numbered:
        if len(line) > bound:
            raise UsageFormatError(number, f"the line is longer than {bound} characters")
        yield line


class ReportReader:
    """Reads a report's records after HEAD: validates and hashes each line as it streams past
    (``rows``), then checks the footer and gives the batch hash (``finish``). No database: the
    import resolves outputs and line ids chunk by chunk on top of it, and the statement verifier
    uses it to find a report file by the hash anchored on chain."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.hasher = hashlib.sha256(_canonical("HEAD", header.__dict__.values()))
        self.count = 0
        self.total = 0
        self.seen: set[str] = set()
        self.footer: tuple[int, list[str]] | None = None

    @classmethod
    def start(cls, records: Iterator[tuple[int, list[str]]], platform_of_key: str | None = None) -> "ReportReader":
        first = next(records, None)
        if first is None:
            raise InvalidInput("the report is empty")
        return cls(_header(first[1], first[0], platform_of_key))

    def rows(self, records: Iterable[tuple[int, list[str]]]) -> Iterator[dict[str, object]]:
        for number, fields in records:
            if self.footer is not None:
                raise UsageFormatError(number, "nothing may follow the FOOT record")
            kind = fields[0].strip()
            if kind == "LINE":
                yield self.add(fields, number)
            elif kind == "FOOT":
                self.footer = (number, fields)
            else:
                raise UsageFormatError(number, f"unknown record type {kind!r} (HEAD, LINE or FOOT)")

    def finish(self) -> str:
        """Checks the footer against the lines read; returns the batch hash."""
        if self.footer is None:
            raise InvalidInput("the report has no FOOT record (line_count, total_revenue): it may be truncated")
        number, fields = self.footer
        if len(fields) != 3:
            raise UsageFormatError(number, "FOOT is FOOT,line_count,total_revenue")
        if _int(fields[1], number, "line_count", 2**62) != self.count or _int(fields[2], number, "total_revenue", 2**62) != self.total:
            raise UsageFormatError(number, f"FOOT says {fields[1].strip()} lines / {fields[2].strip()} revenue; the report has {self.count} / {self.total}")
        self.hasher.update(_canonical("FOOT", [self.count, self.total]))
        return "0x" + self.hasher.hexdigest()

    def add(self, fields: list[str], number: int) -> dict[str, object]:
        row = _line(fields, number)
        if row["line_id"] in self.seen:
            raise UsageFormatError(number, f"line id {row['line_id']!r} appears twice in this report")
        self.seen.add(str(row["line_id"]))
        self.count += 1
        self.total += int(row["revenue"])  # type: ignore[call-overload]
        self.hasher.update(_canonical("LINE", [v for k, v in row.items() if k != "line_number"]))
        return row


def resolve_lines(
    session: Session, header: Header, rows: list[dict[str, object]], report_pk: int | None, pools: PoolCheck
) -> list[dict[str, object]]:
    """Resolves a chunk's output hashes, models and line ids against the database: rows ready to
    insert. Revenue that goes to a model's pool (a model-level line; a line of an output without
    links) is refused when the pool could pay no one (``pools``)."""
    platform = header.platform
    hashes = {str(r["output_hash"]) for r in rows if not str(r["output_hash"]).startswith("model:")}
    outputs = dict(
        session.exec(
            select(Output.output_hash, Output.output_id)
            .join(Model, col(Model.model_id) == col(Output.model_id))
            .where(col(Output.output_hash).in_(hashes), Model.platform == platform)
        ).all()
    )
    named_models = {int(str(r["output_hash"])[6:]) for r in rows if str(r["output_hash"]).startswith("model:")}
    own_models = platform_models(session, platform, named_models)
    linked = set(session.exec(select(OutputLink.output_id).where(col(OutputLink.output_id).in_(list(outputs.values())))).all()) if outputs else set()
    pooled_model = models_of(session, [o for o in outputs.values() if o not in linked])
    ids = [str(r["line_id"]) for r in rows]
    used = set(session.exec(select(UsageLine.line_id).where(UsageLine.platform == platform, col(UsageLine.line_id).in_(ids))).all())
    replaced = {str(r["replaces_line_id"]) for r in rows if r["replaces_line_id"]}
    known = {
        line_id: (currency, start, end)
        for line_id, currency, start, end in session.exec(
            select(UsageLine.line_id, UsageReport.currency, UsageReport.period_start, UsageReport.period_end)
            .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
            .where(UsageLine.platform == platform, col(UsageLine.line_id).in_(replaced))
        ).all()
    }
    replaced_by = dict(
        session.exec(
            select(UsageLine.replaces_line_id, UsageLine.line_id).where(UsageLine.platform == platform, col(UsageLine.replaces_line_id).in_(replaced))
        ).all()
    )
    out = []
    for r in rows:
        n = int(r["line_number"])  # type: ignore[call-overload]
        subject = str(r["output_hash"])
        output_id: int | None = None
        model_id: int | None = None
        if subject.startswith("model:"):
            model_id = int(subject[6:])
            if model_id not in own_models:
                raise UsageFormatError(n, f"model {model_id} is not a registered model of this platform")
            pools.require(model_id, f"line {n}: ")
        elif subject not in outputs:
            raise UsageFormatError(n, f"output {subject} is not a registered output of this platform's models")
        else:
            output_id = outputs[subject]
            if output_id in pooled_model:  # registered without links: paid through its model's pool
                pools.require(pooled_model[output_id], f"line {n}: output {subject} has no attribution links, so its model's training set is paid; ")
        if r["line_id"] in used:
            raise UsageFormatError(n, f"line id {r['line_id']!r} was already used in an earlier report; line ids are never reused")
        target = r["replaces_line_id"]
        if target:
            _check_replacement(n, header, str(target), known.get(str(target)), replaced_by.get(str(target)))
            replaced_by[str(target)] = str(r["line_id"])
        row = {k: v for k, v in r.items() if k != "output_hash"}
        row.update(output_id=output_id, model_id=model_id, platform=platform, report_pk=report_pk)
        out.append(row)
    return out


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
    ledger: Ledger, key: ApiKey, records: Iterator[tuple[int, list[str]]], progress: Callable[[int], None] | None = None
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
    ledger: Ledger, key: ApiKey, imp: ReportReader, records: Iterator[tuple[int, list[str]]], progress: Callable[[int], None] | None
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
    with session_scope(ledger.engine) as s:
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
        chunk: list[dict[str, object]] = []
        for row in imp.rows(records):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                _flush(s, imp, chunk, report, pools)
                chunk = []
                if progress:
                    progress(imp.count)
        _flush(s, imp, chunk, report, pools)
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


def _flush(s: Session, imp: ReportReader, chunk: list[dict[str, object]], report: UsageReport | None, pools: PoolCheck) -> None:
    if not chunk or report is None:  # compare mode (already imported): only the hash matters
        return
    s.execute(insert(UsageLine), resolve_lines(s, imp.header, chunk, report.id, pools))


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
