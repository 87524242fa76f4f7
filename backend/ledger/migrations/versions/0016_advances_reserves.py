"""advances and reserves: advances recorded on chain, reserve tranches, entry breakdowns

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('advance',
    sa.Column('advance_id', S(length=66), nullable=False),
    sa.Column('account', S(length=42), nullable=False),
    sa.Column('currency', S(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payer', S(length=42), nullable=False),
    sa.Column('note', S(length=200), nullable=False),
    sa.Column('accountant', S(length=42), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('advance_id')
    )
    with op.batch_alter_table('advance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advance_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_advance_currency'), ['currency'], unique=False)
        batch_op.create_index(batch_op.f('ix_advance_block_number'), ['block_number'], unique=False)
    op.create_table('statementreserve',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_pk', sa.Integer(), nullable=False),
    sa.Column('account', S(length=42), nullable=False),
    sa.Column('payout', S(length=42), nullable=False),
    sa.Column('held_by', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('release_at', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['statement_pk'], ['statement.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('statementreserve', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statementreserve_statement_pk'), ['statement_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_statementreserve_account'), ['account'], unique=False)
    for column in ('withheld', 'released', 'recouped'):
        op.add_column('statemententry', sa.Column(column, sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('statementbalance', sa.Column('advances', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('statement', sa.Column('ordinal', sa.Integer(), server_default='0', nullable=False))
    # The statements closed before: their place among their currency's statements.
    op.execute(
        "UPDATE statement SET ordinal = (SELECT COUNT(*) FROM statement AS earlier "
        "WHERE earlier.currency = statement.currency AND earlier.id < statement.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_column('ordinal')
    with op.batch_alter_table('statementbalance', schema=None) as batch_op:
        batch_op.drop_column('advances')
    with op.batch_alter_table('statemententry', schema=None) as batch_op:
        for column in ('withheld', 'released', 'recouped'):
            batch_op.drop_column(column)
    op.drop_table('statementreserve')
    op.drop_table('advance')
