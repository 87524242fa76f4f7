"""The alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from ledger.consent.uses import from_flags, from_format1
from ledger.db import alembic_config, init_db, make_engine

pytestmark = pytest.mark.empty_database  # these tests run the migrations themselves


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    init_db(engine)  # idempotent: a second start changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], diff
        assert MigrationContext.configure(conn).get_current_revision() == "0020"
    assert {"work", "workowner", "worktermsversion", "apikey"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_ids_beyond_32_bits_are_stored(db_url: str) -> None:
    """Works, outputs and usage lines with ids past 2^31 (a platform's billionth output)."""
    from datetime import datetime, timezone

    from sqlmodel import Session, select

    from ledger.models import Model, Output, OutputLink, UsageLine, UsageReport, Work

    engine = make_engine(db_url)
    init_db(engine)
    big = 2**40 + 7
    now = int(datetime.now(timezone.utc).timestamp())
    with Session(engine) as s:
        s.add(Work(work_id=big, content_hash="0x" + "ab" * 32, manager="0x" + "11" * 20, metadata_cid="bafy", uses=from_flags(True, False),
                   royalty_bps=0, expires_at=0, terms_version=1, owners_hash="0x" + "00" * 32, tx_hash="0x" + "01" * 32,
                   block_number=1, log_index=0, registered_at=now))  # fmt: skip
        s.add(Model(model_id=big, platform="0x" + "22" * 20, base_model_id=big - 1, name="m", version="1", weights_hash="0x" + "02" * 32,
                    metadata_cid="bafy", training_root="0x" + "03" * 32, training_set_size=1, training_set_cid="bafy",
                    training_set_status="verified", tx_hash="0x" + "04" * 32, block_number=1, log_index=0, registered_at=now))  # fmt: skip
        s.flush()
        s.add(Output(output_id=big, output_hash="0x" + "cd" * 32, model_id=big, tx_hash="0x" + "05" * 32, block_number=1, log_index=1, registered_at=now))
        s.flush()
        s.add(OutputLink(output_id=big, work_id=big, weight_bps=10_000))
        report = UsageReport(platform="0x" + "22" * 20, report_id="R", period_start=0, period_end=1, currency="JPY", line_count=1,
                             total_revenue=1, batch_hash="0x" + "06" * 32, anchor_tx="")  # fmt: skip
        s.add(report)
        s.flush()
        s.add(UsageLine(id=big, report_pk=report.id, platform="0x" + "22" * 20, line_id="L", line_number=2, output_id=big,
                        use_type="generation", commercial_model="subscription", territory="JP", uses=1, revenue=1))  # fmt: skip
        s.commit()
    with Session(engine) as s:
        assert s.exec(select(OutputLink.output_id, OutputLink.work_id)).one() == (big, big)
        assert s.exec(select(UsageLine.id, UsageLine.output_id)).one() == (big, big)
    engine.dispose()


def test_terms_of_format_one_are_migrated_to_the_uses_they_meant(db_url: str) -> None:
    """Works projected before terms format 2 keep their meaning: training -> data_mining,
    ai_generative_training and ai_training allowed; reference -> reference and ai_inference."""
    from alembic import command
    from sqlalchemy import text

    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0012")
        for work_id, bits in ((1, 0), (2, 1), (3, 2), (4, 3)):
            conn.execute(text(
                "INSERT INTO work (work_id, content_hash, manager, metadata_cid, training_allowed, uses, royalty_bps, expires_at, terms_version,"
                " owners_hash, tx_hash, block_number, log_index, registered_at) VALUES (:id, :h, :m, 'bafy', :t, :u, 0, 0, 1, :o, :x, 1, :id, 1)"
            ), {"id": work_id, "h": f"0x{work_id:064x}", "m": "0x" + "11" * 20, "t": bool(bits & 1), "u": bits, "o": "0x" + "00" * 32, "x": "0x" + "01" * 32})
            conn.execute(text(
                "INSERT INTO worktermsversion (work_id, version, training_allowed, uses, royalty_bps, expires_at, effective_block, effective_log_index,"
                " effective_at, tx_hash) VALUES (:id, 1, :t, :u, 0, 0, 1, 0, 1, :x)"
            ), {"id": work_id, "t": bool(bits & 1), "u": bits, "x": "0x" + "01" * 32})  # fmt: skip
    init_db(engine)
    with engine.connect() as conn:
        works = dict(conn.execute(text("SELECT work_id, uses FROM work")).all())
        versions = dict(conn.execute(text("SELECT work_id, uses FROM worktermsversion")).all())
    assert works == versions == {1: 0, 2: from_format1(1), 3: from_format1(2), 4: from_format1(3)}
    engine.dispose()
