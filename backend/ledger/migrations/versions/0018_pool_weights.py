"""pool weights: a training list may declare each work's weight in the model's revenue pool

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('modeltrainingwork', sa.Column('pool_weight', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('modeltrainingwork', schema=None) as batch_op:
        batch_op.drop_column('pool_weight')
