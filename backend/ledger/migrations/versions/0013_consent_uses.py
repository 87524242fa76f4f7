"""consent in CAWG's words: the terms word becomes one state per use (terms format 2) with its
constraints; owners' positions, platforms' acceptances of constraints, generative models

Existing works are migrated as docs/consent.md says: format 1's "training allowed" bit becomes
data_mining, ai_generative_training and ai_training allowed; its "reference allowed" bit becomes
reference and ai_inference allowed. The training_allowed column goes (the word says it all).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ledger.consent.uses import from_format1

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
S = sqlmodel.sql.sqltypes.AutoString


def _convert(table: str, to_format2: bool) -> None:
    """Rewrites every distinct terms word (format 1 has four, so this is four updates at most)."""
    bind = op.get_bind()
    words = [r[0] for r in bind.execute(sa.text(f"SELECT DISTINCT uses FROM {table}"))]
    old_to_new = {old: from_format1(old) for old in range(4)}
    mapping = old_to_new if to_format2 else {new: old for old, new in old_to_new.items()}
    # Two passes through a marker keep an already-rewritten word from being rewritten again.
    for word in words:
        if word in mapping:
            bind.execute(sa.text(f"UPDATE {table} SET uses = :new WHERE uses = :old"), {"new": -1 - mapping[word], "old": word})
    bind.execute(sa.text(f"UPDATE {table} SET uses = -1 - uses WHERE uses < 0"))


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite >= 3.35 drops columns itself): a batch copy of ``work`` would be
    # refused by the foreign keys of the tables that reference it once they hold rows.
    for table in ('work', 'worktermsversion'):
        _convert(table, True)
        op.add_column(table, sa.Column('constraints', S(length=256), nullable=False, server_default=''))
        op.execute(f"ALTER TABLE {table} DROP COLUMN training_allowed")
    op.add_column('model', sa.Column('generative', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table('ownerposition',
    sa.Column('work_id', ID64, nullable=False),
    sa.Column('account', S(length=42), nullable=False),
    sa.Column('positions', sa.Integer(), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['work_id'], ['work.work_id'], ),
    sa.PrimaryKeyConstraint('work_id', 'account')
    )
    op.create_table('constraintacceptance',
    sa.Column('platform', S(length=42), nullable=False),
    sa.Column('constraints', S(length=256), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('platform', 'constraints')
    )


def downgrade() -> None:
    op.drop_table('constraintacceptance')
    op.drop_table('ownerposition')
    op.execute("ALTER TABLE model DROP COLUMN generative")
    for table in ('work', 'worktermsversion'):
        op.add_column(table, sa.Column('training_allowed', sa.Boolean(), nullable=False, server_default=sa.false()))
        op.execute(f"ALTER TABLE {table} DROP COLUMN constraints")
        _convert(table, False)
        op.execute(f"UPDATE {table} SET training_allowed = (uses % 2 = 1)")
