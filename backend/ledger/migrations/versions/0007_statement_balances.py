"""statements pay earnings net of reversals: entries' earned, payable totals, carried balances

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 05:00:00

A correction may now replace a line a statement already paid; the adjustment reverses it, so an
entry's earnings can be negative and what a statement pays (``payable_total``, ``amount``) can
differ from what it earned. Existing statements paid exactly what they earned.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payable_total', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('statemententry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earned', sa.BigInteger(), nullable=False, server_default='0'))
    op.execute("UPDATE statement SET payable_total = holders_total")
    op.execute("UPDATE statemententry SET earned = amount")
    op.create_table('statementbalance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_pk', sa.Integer(), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('brought_forward', sa.BigInteger(), nullable=False),
    sa.Column('carried_forward', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['statement_pk'], ['statement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_pk', 'account')
    )
    with op.batch_alter_table('statementbalance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statementbalance_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_statementbalance_statement_pk'), ['statement_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('statementbalance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statementbalance_statement_pk'))
        batch_op.drop_index(batch_op.f('ix_statementbalance_account'))
    op.drop_table('statementbalance')
    with op.batch_alter_table('statemententry', schema=None) as batch_op:
        batch_op.drop_column('earned')
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_column('payable_total')
