"""The usage report format (docs/usage-format.md): records read from a CSV stream or from the JSON
form, each line checked and hashed as it passes. Nothing here touches the database: the import
(``services.usage``) and the statement verifier both read reports through it, so a file hashes the
same wherever it is read.

    HEAD,<report_id>,<platform address>,<period_start YYYY-MM-DD>,<period_end YYYY-MM-DD>,<currency>[,<corrects_report_id>]
    LINE,<line_id>,<output_hash | model:<id>>,<platform_output_id>,<use_type>,<commercial_model>,<territory>,<uses>,<revenue_minor>[,<replaces_line_id>]
    ...
    FOOT,<line_count>,<total_revenue_minor>
"""

import csv
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from eth_utils import is_address, to_checksum_address

from ledger.codes import is_currency, is_territory, territory_codes
from ledger.dates import unix_day
from ledger.models.types import MAX_ID
from ledger.services.errors import Forbidden, InvalidInput

USE_TYPES = frozenset({"generation", "download", "stream", "print", "display", "other"})
#: Revenue of a model rather than of one output (a line naming ``model:<id>``): paid over its training set.
MODEL_USE_TYPES = frozenset({"subscription", "api_access", "training_fee", "model_licence", "other"})
_MODEL = re.compile(r"^model:([1-9][0-9]{0,18})$")
COMMERCIAL_MODELS = frozenset({"subscription", "ad_supported", "pay_per_use", "free", "other"})
MAX_REVENUE = 10**14  # per line, minor units: keeps every split inside int64
MAX_USES = 2**62
#: (record number, record): a record is its fields, or the text of a line without quotes (split
#: only when the quick reading of a plain LINE does not take it).
Records = Iterator[tuple[int, list[str] | str]]
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


def _line(fields: list[str], line: int) -> "ReportLine":
    """The careful reading of a LINE: every field checked and normalised (stripped, hashes in lower
    case, numbers without leading zeros), with a message naming what is wrong."""
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
    uses_n, revenue_n = _int(uses, line, "uses", MAX_USES), _int(revenue, line, "revenue", MAX_REVENUE)
    return ReportLine(line, line_id, output_hash.lower(), ref[:200], use_type, model, territory, uses_n, revenue_n, replaces)


def _canonical(kind: str, values: Iterable[object]) -> bytes:
    return (kind + "|" + "|".join("" if v is None else str(v) for v in values) + "\n").encode()


def _canonical_line(r: "ReportLine") -> str:
    return f"LINE|{r.line_id}|{r.subject}|{r.platform_output_ref}|{r.use_type}|{r.commercial_model}|{r.territory}|{r.uses}|{r.revenue}|{r.replaces_line_id or ''}\n"


def records_from_json(report: dict[str, object], lines: list[dict[str, object]]) -> Records:
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

#: A LINE already in its normal form (no spaces around fields, hash in lower case, numbers without
#: leading zeros, the reference at most 200 characters): read by one match, its canonical text is
#: its own. Anything else is read field by field by ``_line``, which normalises or explains.
_PLAIN_LINE = re.compile(
    r"LINE,([A-Za-z0-9._:/-]{1,200}),(0x[0-9a-f]{64}|model:[1-9][0-9]{0,18}),([^,\s\x00-\x1f\x7f]{0,200}),([a-z_]{1,32}),([a-z_]{1,32}),([A-Z]{2}),"
    r"(0|[1-9][0-9]{0,18}),(0|[1-9][0-9]{0,14})(?:,([A-Za-z0-9._:/-]{0,200}))?(?:\r\n|\n|\r)?"
).fullmatch


def records_from_csv(lines: Iterable[str]) -> Records:
    """(record number, record) for every non-empty record; the file is never loaded whole, and no
    field or record may grow past a small bound (an unclosed quote would otherwise swallow the rest).

    A line without quotes is its own record and is given as its text, split only if the quick
    reading of ``ReportReader`` does not take it (most lines of a large report); a record with
    quotes is parsed by ``csv`` (it may span lines) and given as its fields."""
    physical = _bounded_lines(lines)
    number = 0
    for text in physical:
        number += 1
        if '"' not in text:
            yield number, text
            continue
        reader = csv.reader(itertools.chain((text,), physical))
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UsageFormatError(number, f"not a valid CSV record ({exc})") from None
        checked = _checked_fields(fields, number)
        if checked is not None:
            yield number, checked


def _checked_fields(fields: list[str], number: int) -> list[str] | None:
    """The record's fields within bounds, or None for a blank record."""
    if len(fields) > MAX_FIELDS:
        raise UsageFormatError(number, f"a record has at most {MAX_FIELDS} fields, this one has {len(fields)}")
    long = next((i for i, f in enumerate(fields, start=1) if len(f) > MAX_FIELD_CHARS), None)
    if long is not None:
        raise UsageFormatError(number, f"field {long} is longer than {MAX_FIELD_CHARS} characters")
    if "\0" in "".join(fields):
        raise UsageFormatError(number, "a field holds a NUL character")
    return fields if any(f.strip() for f in fields) else None


def _split(text: str, number: int) -> list[str] | None:
    """A line without quotes as csv would read it."""
    return _checked_fields(text.rstrip("\r\n").split(","), number)


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


class ReportLine(NamedTuple):
    """A LINE as read and checked, before the database resolves its output or model."""

    line_number: int
    line_id: str
    subject: str  # 0x + the output's SHA-256, or model:<id>
    platform_output_ref: str
    use_type: str
    commercial_model: str
    territory: str
    uses: int
    revenue: int
    replaces_line_id: str | None


class ReportReader:
    """Reads a report's records after HEAD: validates and hashes each line as it streams past
    (``rows``), then checks the footer and gives the batch hash (``finish``). No database: the
    import resolves outputs and line ids chunk by chunk on top of it (including line ids used twice,
    which the database's unique index finds without a set of every id in memory), and the statement
    verifier uses it to find a report file by the hash anchored on chain."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.hasher = hashlib.sha256(_canonical("HEAD", header.__dict__.values()))
        self.count = 0
        self.total = 0
        self.footer: tuple[int, list[str]] | None = None

    @classmethod
    def start(cls, records: Records, platform_of_key: str | None = None) -> "ReportReader":
        first = next(records, None)
        if first is None:
            raise InvalidInput("the report is empty")
        number, record = first
        fields = _split(record, number) if isinstance(record, str) else record
        while fields is None:  # blank lines before HEAD
            first = next(records, None)
            if first is None:
                raise InvalidInput("the report is empty")
            number, record = first
            fields = _split(record, number) if isinstance(record, str) else record
        return cls(_header(fields, number, platform_of_key))

    def rows(self, records: Iterable[tuple[int, list[str] | str]]) -> Iterator[ReportLine]:
        territories, use_types, model_use_types, commercial = territory_codes(), USE_TYPES, MODEL_USE_TYPES, COMMERCIAL_MODELS
        update = self.hasher.update
        for number, record in records:
            if isinstance(record, str):
                m = _PLAIN_LINE(record) if self.footer is None else None
                if m is not None:
                    line_id, subject, ref, use_type, model, territory, uses, revenue, replaces = m.groups()
                    if (
                        (use_type in model_use_types if subject[0] == "m" else use_type in use_types)
                        and model in commercial and territory in territories
                        and (len(revenue) < 15 or int(revenue) <= MAX_REVENUE) and (len(uses) < 18 or int(uses) <= MAX_USES)
                        and (subject[0] != "m" or int(subject[6:]) <= MAX_ID)
                    ):  # fmt: skip
                        row = ReportLine(number, line_id, subject, ref, use_type, model, territory, int(uses), int(revenue), replaces or None)
                        self.count += 1
                        self.total += row.revenue
                        update(_canonical_line(row).encode())
                        yield row
                        continue
                fields = _split(record, number)
                if fields is None:
                    continue
            else:
                fields = record
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

    def add(self, fields: list[str], number: int) -> ReportLine:
        row = _line(fields, number)
        self.count += 1
        self.total += row.revenue
        self.hasher.update(_canonical_line(row).encode())
        return row
