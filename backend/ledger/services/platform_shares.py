"""Platforms' contracted revenue shares, by date: the first step of every split.

Each platform may have its own share (a commercial agreement recorded by an admin). An entry
applies from its date on; a usage report takes the share in force on its period's first day,
and the ledger-wide default where the platform has none. Entries are never changed: recording
the same entry again is a no-op, a different share for a date already set is a conflict, so an
agreement cannot silently rewrite periods already paid.
"""

from dataclasses import dataclass
from datetime import date

from eth_utils import is_address, to_checksum_address
from sqlmodel import Session, col, select

from ledger.accounting.splits import BPS
from ledger.dates import iso_day, unix_day
from ledger.db import session_scope
from ledger.models import ApiKey, PlatformShare
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, InvalidInput


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
    """Records an entry; True if it is new, False if the same entry was already there."""
    platform = platform_address(address)
    if not 0 <= share_bps <= BPS:
        raise InvalidInput(f"share_bps must be between 0 and {BPS}, got {share_bps}")
    start = _day_start(effective_from)
    with session_scope(ledger.engine) as s:
        existing = s.exec(select(PlatformShare).where(PlatformShare.platform == platform, PlatformShare.effective_from == start)).first()
        if existing is not None:
            if existing.share_bps != share_bps:
                raise Conflict(f"{platform} already has a {existing.share_bps} bps share from {effective_from}; entries are never changed, record one from another date")
            return False
        assert key.id is not None
        s.add(PlatformShare(platform=platform, share_bps=share_bps, effective_from=start, set_by_key=key.id))
    return True


def shares_for(session: Session, reports: list[tuple[int, str, int]], default_bps: int) -> dict[int, int]:
    """report pk -> the platform's share in force on the report's first day, for (pk, platform,
    period_start) triples."""
    platforms = sorted({p for _, p, _ in reports})
    entries: dict[str, list[tuple[int, int]]] = {}
    for row in session.exec(select(PlatformShare).where(col(PlatformShare.platform).in_(platforms))):
        entries.setdefault(row.platform, []).append((row.effective_from, row.share_bps))
    out = {}
    for pk, platform, start in reports:
        in_force = [(frm, bps) for frm, bps in entries.get(platform, []) if frm <= start]
        out[pk] = max(in_force)[1] if in_force else default_bps
    return out
