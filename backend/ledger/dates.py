"""Periods are whole UTC days, stored as unix seconds: a day starts at 00:00:00 and ends at
23:59:59 (inclusive), so adjacent periods never share a second."""

from datetime import date, datetime, timezone

DAY_LAST_SECOND = 86_399
#: Periods are anchored on chain as unsigned unix times: no day before the epoch.
FIRST_DAY = date(1970, 1, 1)


def check_day(d: date) -> date:
    """A day a period may start or end on (raises ValueError, which pydantic turns into a 422)."""
    if d < FIRST_DAY:
        raise ValueError(f"{d.isoformat()} is before {FIRST_DAY.isoformat()}: periods are unix times")
    return d


def unix_day(d: date, end: bool) -> int:
    """The first (or, with ``end``, the last) second of a UTC day."""
    check_day(d)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) + (DAY_LAST_SECOND if end else 0)


def iso_day(ts: int) -> str:
    """The UTC day of a unix time, as YYYY-MM-DD."""
    return datetime.fromtimestamp(ts, timezone.utc).date().isoformat()
