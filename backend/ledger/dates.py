"""Periods are whole UTC days, stored as unix seconds: a day starts at 00:00:00 and ends at
23:59:59 (inclusive), so adjacent periods never share a second."""

from datetime import date, datetime, timezone

DAY_LAST_SECOND = 86_399


def unix_day(d: date, end: bool) -> int:
    """The first (or, with ``end``, the last) second of a UTC day."""
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) + (DAY_LAST_SECOND if end else 0)


def iso_day(ts: int) -> str:
    """The UTC day of a unix time, as YYYY-MM-DD."""
    return datetime.fromtimestamp(ts, timezone.utc).date().isoformat()
