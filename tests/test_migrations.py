"""The alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from ledger.db import init_db, make_engine


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    init_db(engine)  # idempotent: a second start changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], diff
        assert MigrationContext.configure(conn).get_current_revision() == "0005"
    assert {"work", "workowner", "worktermsversion", "apikey"} <= set(inspect(engine).get_table_names())
    engine.dispose()
