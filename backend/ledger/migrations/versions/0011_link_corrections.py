"""link corrections: the links an arbiter sets on an output when it upholds an attribution dispute; when a dispute was carried out

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('outputlinkcorrection',
    sa.Column('output_id', ID64, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('work_id', ID64, nullable=False),
    sa.Column('weight_bps', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('dispute_id', ID64, nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('effective_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['output_id'], ['output.output_id'], ),
    sa.ForeignKeyConstraint(['work_id'], ['work.work_id'], ),
    sa.PrimaryKeyConstraint('output_id', 'version', 'work_id')
    )
    with op.batch_alter_table('outputlinkcorrection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outputlinkcorrection_dispute_id'), ['dispute_id'], unique=False)
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_block', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('correction_block')
    with op.batch_alter_table('outputlinkcorrection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputlinkcorrection_dispute_id'))
    op.drop_table('outputlinkcorrection')
