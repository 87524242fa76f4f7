"""statements declare the block up to which they counted usage anchors

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 01:30:00

A statement pays every usage report anchored for its period up to ``anchors_up_to`` (after its
predecessor's), and says so on chain, so a verifier can prove from the chain alone that no
anchored report was left out. Statements closed before this carry 0 (not declared).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchors_up_to', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_column('anchors_up_to')
