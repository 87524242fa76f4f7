"""statement drafts: periods computed for review before they are published

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('statementdraft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', S(length=66), nullable=False),
    sa.Column('currency', S(length=3), nullable=False),
    sa.Column('period_start', sa.BigInteger(), nullable=False),
    sa.Column('period_end', sa.BigInteger(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('token', S(length=42), nullable=False),
    sa.Column('document_cid', S(), nullable=False),
    sa.Column('status', S(length=16), nullable=False),
    sa.Column('created_by_key', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_id')
    )
    with op.batch_alter_table('statementdraft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statementdraft_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('statementdraft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statementdraft_status'))
    op.drop_table('statementdraft')
