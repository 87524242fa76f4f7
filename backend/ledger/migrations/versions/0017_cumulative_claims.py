"""cumulative claims: entries carry their cumulative amount and salt; claims are per payee; auditors

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'auditor'")
    op.add_column('statemententry', sa.Column('cumulative', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('statemententry', sa.Column('salt', S(length=66), server_default='', nullable=False))
    # Claims are a projection of chain events: the new distributor's are per payee, not per entry index.
    op.drop_table('statementclaim')
    op.create_table('statementclaim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', S(length=66), nullable=False),
    sa.Column('account', S(length=42), nullable=False),
    sa.Column('payout', S(length=42), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('cumulative', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index')
    )
    with op.batch_alter_table('statementclaim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statementclaim_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statementclaim_account'), ['account'], unique=False)


def downgrade() -> None:
    op.drop_table('statementclaim')
    op.create_table('statementclaim',
    sa.Column('statement_id', S(length=66), nullable=False),
    sa.Column('entry_index', sa.Integer(), nullable=False),
    sa.Column('account', S(length=42), nullable=False),
    sa.Column('payout', S(length=42), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('statement_id', 'entry_index')
    )
    with op.batch_alter_table('statemententry', schema=None) as batch_op:
        batch_op.drop_column('salt')
        batch_op.drop_column('cumulative')
