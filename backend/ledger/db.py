"""Database engine and sessions. SQLite by default (a file in the data directory), PostgreSQL by URL."""

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlmodel import Session, create_engine

import ledger.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from ledger.file_lock import file_lock

T = TypeVar("T")


def _private_sqlite_file(url: str) -> None:
    """The database holds custodial keystores (encrypted, but still secrets): only the owner may
    read it, as with the keystore files. SQLite gives its -wal and -shm files the same mode."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


def make_engine(url: str, clock: Callable[[], float] = time.monotonic) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the API read while the indexer writes; foreign keys are off by default in SQLite.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")

        return engine
    # Enough connections for the API's worker threads (40) at once: a request waiting for a
    # connection held up writes under load more than the database did.
    engine = create_engine(url, pool_size=20, max_overflow=30)
    IdlePing(engine, clock=clock)
    return engine


#: A pooled connection idle longer than this is pinged before it is handed out.
PING_IDLE_S = 1.0


class IdlePing:
    """Pessimistic disconnect handling for connections that may have gone stale, and only those: a
    pooled PostgreSQL connection idle for more than ``idle_s`` is pinged when checked out, and
    replaced if the server dropped it (a restart, an idle timeout); one given back moments ago is
    handed out as is. SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip and a
    twentieth of a write's CPU under load, spent on connections used milliseconds before.
    pgbouncer's ``server_check_delay`` (30 s by default) makes the same trade. A connection the
    server drops within ``idle_s`` of its last use fails its next statement, as one dropped
    between a ping and a statement always could; SQLAlchemy then replaces the pool's connections."""

    def __init__(self, engine: Engine, idle_s: float = PING_IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.dialect = engine.dialect
        self.idle_s = idle_s
        self.clock = clock  # injectable: tests decide how long a connection was idle
        self.pings = 0
        event.listen(engine, "connect", self._fresh)
        event.listen(engine, "checkin", self._fresh)
        event.listen(engine, "checkout", self._checkout)

    def _fresh(self, _dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = self.clock()

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and self.clock() - since <= self.idle_s:
            return
        self.pings += 1
        try:
            self.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool retries the checkout with a new connection
            idle = "" if since is None else f" idle for {self.clock() - since:.0f} s"
            raise DisconnectionError(f"a pooled connection{idle} no longer answers: {exc}") from exc


MIGRATIONS = Path(__file__).with_name("migrations")

#: Values per IN (...) list: under every supported database's bound-parameter limit.
IN_CHUNK = 900


def chunked(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Slices for IN (...) queries over many ids."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def init_db(engine: Engine) -> None:
    """Brings the schema to the newest migration (a no-op when it is already there)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error (no half-written state)."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class ProcessLock:
    """A lock every process using the database shares (API workers, the indexer process, CLI
    commands): a PostgreSQL advisory lock, held on a connection of its own for as long as the
    work lasts; for SQLite, which only one machine can open, a file lock beside the database."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        #: Advisory locks take a 64-bit key: the name's first 8 bytes of SHA-256, signed.
        self.key = int.from_bytes(hashlib.sha256(f"ledger:{name}".encode()).digest()[:8], "big", signed=True)

    @contextmanager
    def held(self) -> Iterator[Connection | None]:
        """Holds the lock; on PostgreSQL, yields the connection that holds it, which the holder may
        read through instead of checking out another (None elsewhere)."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (self.key,))
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (self.key,))
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield None
            return
        with file_lock(Path(f"{database}.{self.name}.lock")):
            yield None


#: SQLite's default page cache (2 MiB), and the one a bulk job takes while it runs.
_SQLITE_CACHE_KIB, _BULK_CACHE_KIB = 2_000, 64 * 1024


@contextmanager
def larger_cache(session: Session) -> Iterator[None]:
    """A bulk job's connection keeps more of the indexes it grows in memory (SQLite: 64 MiB
    instead of 2; without it, inserting millions of rows slows as the indexes outgrow the cache).
    Given back afterwards, so pooled connections do not each hold that much."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")


def bulk_insert(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Appends many rows in the session's transaction at the driver's own speed: COPY on PostgreSQL,
    one prepared ``executemany`` on SQLite; no ORM objects or parameter dictionaries. Tables and
    columns are the caller's constants, never input. A unique or foreign key refusal is raised as
    SQLAlchemy's ``IntegrityError`` whatever the driver."""
    names = ", ".join(columns)
    dbapi = session.connection().connection
    try:
        if session.get_bind().dialect.name == "postgresql":
            with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur = dbapi.cursor()
            try:
                cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
            finally:
                cur.close()
    except (sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
        raise IntegrityError(f"bulk insert into {table}", None, exc) from exc
