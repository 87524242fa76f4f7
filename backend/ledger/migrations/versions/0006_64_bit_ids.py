"""64-bit ids

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:31:00

The contracts number works, models and outputs with uint64, and a generation platform makes
billions of outputs and usage lines: PostgreSQL's INTEGER (2^31) would overflow. SQLite's INTEGER
is already 64-bit (and stays INTEGER, the rowid), so only PostgreSQL changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column) holding chain ids or fast-growing row ids.
_COLUMNS = (
    ("work", "work_id"), ("workowner", "work_id"), ("worktermsversion", "work_id"), ("workownerversion", "work_id"),
    ("model", "model_id"), ("model", "base_model_id"), ("modeltrainingwork", "model_id"), ("modeltrainingwork", "work_id"),
    ("output", "output_id"), ("output", "model_id"), ("outputlink", "output_id"), ("outputlink", "work_id"),
    ("usageline", "id"), ("usageline", "output_id"), ("statemententry", "id"),
)  # fmt: skip
#: Their sequences were created AS integer: they would stop at 2^31 whatever the column's type.
_SEQUENCES = ("usageline_id_seq", "statemententry_id_seq")


def _retype(to: sa.types.TypeEngine, sequence_type: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=to)
    for seq in _SEQUENCES:
        op.execute(f"ALTER SEQUENCE IF EXISTS {seq} AS {sequence_type}")


def upgrade() -> None:
    _retype(sa.BigInteger(), "bigint")


def downgrade() -> None:
    _retype(sa.Integer(), "integer")
