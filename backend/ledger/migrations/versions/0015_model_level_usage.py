"""model-level usage lines: a line names an output or a model

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # batch mode: SQLite cannot drop NOT NULL in place (the table is copied once; PostgreSQL alters it)
    with op.batch_alter_table('usageline', schema=None) as batch_op:
        batch_op.alter_column('output_id', existing_type=ID64, nullable=True)
        batch_op.add_column(sa.Column('model_id', ID64, nullable=True))
        batch_op.create_index(batch_op.f('ix_usageline_model_id'), ['model_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM usageline WHERE output_id IS NULL")
    with op.batch_alter_table('usageline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usageline_model_id'))
        batch_op.drop_column('model_id')
        batch_op.alter_column('output_id', existing_type=ID64, nullable=False)
