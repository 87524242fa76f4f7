"""Platforms' contracted revenue shares, by date: the first step of every split.

Each platform may have its own share (a commercial agreement recorded by an admin). An entry
applies from its date on; a usage report takes the share in force on its period's first day,
and the default (the entries of platform 0x00..00; the first is made when PlatformTerms is
deployed, from ``LEDGER_PLATFORM_SHARE_BPS``) where the platform has none. Entries live on chain
(``PlatformTerms``), so anyone checking a statement sees which share applied without asking this
ledger; the table is their projection. Entries are never changed: recording the same entry again
is a no-op, a different share for a date already set is a conflict, and an entry dated inside a
period a statement has already paid (for that platform; any, for the default) is refused, so an
agreement cannot silently rewrite what was paid.
"""

from dataclasses import dataclass
from datetime import date

from eth_utils import is_address, to_checksum_address
from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.accounting.splits import BPS
from ledger.dates import iso_day, unix_day
from ledger.db import session_scope
from ledger.chain.errors import ContractRevert
from ledger.models import ApiKey, PlatformShare, Statement, UsageReport
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, InvalidInput


#: The "platform" whose entries are the default share.
DEFAULT = "0x" + "00" * 20


@dataclass(frozen=True)
class ShareEntry:
    share_bps: int
    effective_from: str  # YYYY-MM-DD
    set_at: str


def _day_start(day: str) -> int:
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"effective_from {day!r} is not a date (YYYY-MM-DD)") from None
    return unix_day(d, False)


def platform_address(address: str) -> str:
    if not is_address(address):
        raise InvalidInput(f"{address!r} is not an account address")
    return to_checksum_address(address)


def history(ledger: Ledger, address: str) -> list[ShareEntry]:
    with Session(ledger.engine) as s:
        rows = s.exec(select(PlatformShare).where(PlatformShare.platform == platform_address(address)).order_by(col(PlatformShare.effective_from))).all()
    return [
        ShareEntry(r.share_bps, iso_day(r.effective_from), r.set_at.isoformat())
        for r in rows
    ]


def record(ledger: Ledger, key: ApiKey, address: str, share_bps: int, effective_from: str) -> bool:
    """Records an entry on chain; True if it is new, False if the same entry was already there."""
    platform = platform_address(address)
    if not 0 <= share_bps <= BPS:
        raise InvalidInput(f"share_bps must be between 0 and {BPS}, got {share_bps}")
    start = _day_start(effective_from)
    with Session(ledger.engine) as s:
        existing = s.exec(select(PlatformShare).where(PlatformShare.platform == platform, PlatformShare.effective_from == start)).first()
        paid = select(Statement).where(Statement.period_end >= start)
        if platform != DEFAULT:
            paid = paid.join(UsageReport, col(UsageReport.statement_pk) == col(Statement.id)).where(UsageReport.platform == platform)
        closed = s.exec(paid).first()
    if existing is not None:
        if existing.share_bps != share_bps:
            raise Conflict(f"{platform} already has a {existing.share_bps} bps share from {effective_from}; entries are never changed, record one from another date")
        return False
    if closed is not None:
        raise Conflict(
            f"statement {closed.statement_id} already paid {closed.currency} usage up to {iso_day(closed.period_end)} at the share then in force; "
            f"a new share may start after that day, not on {effective_from}",
            statement_id=closed.statement_id,
        )
    try:
        receipt = ledger.sender.send(ledger.call("PlatformTerms", "setShare", platform, start, share_bps))
    except ContractRevert as exc:
        if exc.name == "ShareAlreadySet":
            raise Conflict(f"{platform} already has a {exc.values[2]} bps share from {effective_from} on chain; entries are never changed") from exc
        raise
    ledger.indexer.sync(to_block=int(receipt["blockNumber"]))
    with session_scope(ledger.engine) as s:  # who asked, for this ledger's own audit (the chain knows the operator)
        s.execute(update(PlatformShare).where(col(PlatformShare.platform) == platform, col(PlatformShare.effective_from) == start).values(set_by_key=key.id))
    return True


def default_share(ledger: Ledger, at: int) -> int:
    """The default share in force at unix time ``at``."""
    with Session(ledger.engine) as s:
        return shares_for(s, [(0, DEFAULT, at)], ledger.settings.platform_share_bps)[0]


def shares_for(session: Session, reports: list[tuple[int, str, int]], default_bps: int) -> dict[int, int]:
    """report pk -> the platform's share in force on the report's first day, for (pk, platform,
    period_start) triples: its own latest entry from on or before that day, else the default's
    (``default_bps`` only where the chain has no default either: a database from before PlatformTerms)."""
    platforms = sorted({p for _, p, _ in reports} | {DEFAULT})
    entries: dict[str, list[tuple[int, int]]] = {}
    for row in session.exec(select(PlatformShare).where(col(PlatformShare.platform).in_(platforms))):
        entries.setdefault(row.platform, []).append((row.effective_from, row.share_bps))

    out = {}
    for pk, platform, start in reports:
        found = share_in_force(entries, platform, start)
        out[pk] = default_bps if found is None else found
    return out


def share_in_force(entries: dict[str, list[tuple[int, int]]], platform: str, start: int) -> int | None:
    """From each platform's (effective_from, share_bps) entries: the platform's latest entry from
    on or before ``start``, else the default's (platform ``DEFAULT``); None if neither has one."""
    for who in (platform, DEFAULT):
        found = [(frm, bps) for frm, bps in entries.get(who, []) if frm <= start]
        if found:
            return max(found)[1]
    return None
