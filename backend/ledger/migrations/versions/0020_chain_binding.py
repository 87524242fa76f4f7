"""chain binding: the chain and WorkRegistry a database projects, so that a ledger pointed at
another chain is refused instead of mixing two chains' facts

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'chainbinding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chain_id', sa.BigInteger(), nullable=False),
        sa.Column('work_registry', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
        sa.Column('bound_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('chainbinding')
