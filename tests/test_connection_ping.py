"""Pooled PostgreSQL connections are pinged before use only when they may have gone stale (idle
longer than a bound): a connection the server dropped while it sat in the pool is replaced, not
handed to a request that would fail on it; one used moments ago costs no round trip."""

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from ledger.db import PING_IDLE_S, IdlePing, make_engine
from tests.conftest import _postgres_database


def _ping_of(engine: Engine) -> IdlePing:
    """The IdlePing ``make_engine`` installed, found among the pool's checkout listeners."""
    found = [fn.__self__ for fn in engine.pool.dispatch.checkout if isinstance(getattr(fn, "__self__", None), IdlePing)]
    assert len(found) == 1, found
    return found[0]


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_dropped_while_idle_is_replaced_and_a_recent_one_is_not_pinged(postgres_server: str) -> None:
    now = [1000.0]
    _, url = _postgres_database(postgres_server)
    engine = make_engine(url, clock=lambda: now[0])
    ping = _ping_of(engine)
    try:
        first = _backend_pid(engine)
        assert ping.pings == 0  # a new connection is fresh: no ping

        for _ in range(5):  # given back and taken again within the bound: the same connection, no round trip
            now[0] += PING_IDLE_S / 2
            assert _backend_pid(engine) == first
        assert ping.pings == 0

        with psycopg.connect(postgres_server, autocommit=True) as admin:  # the server drops it while it sits in the pool
            assert admin.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone() == (True,)
        now[0] += PING_IDLE_S + 1
        second = _backend_pid(engine)  # pinged, found dead, replaced: the caller never sees it
        assert second != first and ping.pings == 1

        now[0] += PING_IDLE_S + 1
        assert _backend_pid(engine) == second and ping.pings == 2  # idle again: pinged, alive, kept
    finally:
        engine.dispose()


def test_sqlite_engines_are_not_pinged(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(AssertionError):
        _ping_of(engine)
    engine.dispose()
