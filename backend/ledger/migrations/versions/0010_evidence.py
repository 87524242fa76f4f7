"""evidence: fingerprints, file evidence, evidence reports and their anchored batches, reliance policies; the terms word (uses) and link kinds

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 07:48:14.906403
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'arbiter'")
    op.create_table('statementescrow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_pk', sa.Integer(), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('work_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('payout', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('released_by_pk', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['released_by_pk'], ['statement.id'], ),
    sa.ForeignKeyConstraint(['statement_pk'], ['statement.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('statementescrow', schema=None) as batch_op:
        for column in ('statement_pk', 'dispute_id', 'released_by_pk'):
            batch_op.create_index(batch_op.f(f'ix_statementescrow_{column}'), [column], unique=False)
    op.create_table('dispute',
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('claimant', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('work_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('output_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('claimed_work_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('evidence_cid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.Column('opened_block', sa.BigInteger(), nullable=False),
    sa.Column('opened_tx', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('closed_at', sa.BigInteger(), nullable=True),
    sa.Column('closed_block', sa.BigInteger(), nullable=True),
    sa.Column('closed_tx', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('arbiter', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('reason_cid', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('correction_tx', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.PrimaryKeyConstraint('dispute_id')
    )
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        for column in ('kind', 'claimant', 'work_id', 'output_hash', 'claimed_work_id', 'state'):
            batch_op.create_index(batch_op.f(f'ix_dispute_{column}'), [column], unique=False)
    # The terms word (WorkRegistry.Terms.uses): bit 0 training, bit 1 reference use.
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('worktermsversion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE work SET uses = 1 WHERE training_allowed")
    op.execute("UPDATE worktermsversion SET uses = 1 WHERE training_allowed")
    with op.batch_alter_table('outputlink', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('evidencereport',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('document_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evidencereport', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidencereport_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidencereport_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidencereport_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidencereport_document_hash'), ['document_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidencereport_kind'), ['kind'], unique=False)

    op.create_table('evidencebatch',
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reports_cid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('fileevidence',
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('media', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('iscc', sa.Text(), nullable=False),
    sa.Column('file_cid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('content_hash')
    )
    op.create_table('fingerprint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('codes', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash', 'method')
    )
    with op.batch_alter_table('fingerprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fingerprint_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_fingerprint_method'), ['method'], unique=False)

    op.create_table('reliancepolicy',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('model_id')
    )


def downgrade() -> None:
    op.drop_table('dispute')
    op.drop_table('statementescrow')
    with op.batch_alter_table('outputlink', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('worktermsversion', schema=None) as batch_op:
        batch_op.drop_column('uses')
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.drop_column('uses')
    op.drop_table('reliancepolicy')
    with op.batch_alter_table('fingerprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fingerprint_method'))
        batch_op.drop_index(batch_op.f('ix_fingerprint_content_hash'))

    op.drop_table('fingerprint')
    op.drop_table('fileevidence')
    op.drop_table('evidencebatch')
    with op.batch_alter_table('evidencereport', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidencereport_kind'))
        batch_op.drop_index(batch_op.f('ix_evidencereport_content_hash'))
        batch_op.drop_index(batch_op.f('ix_evidencereport_document_hash'))
        batch_op.drop_index(batch_op.f('ix_evidencereport_account'))
        batch_op.drop_index(batch_op.f('ix_evidencereport_batch_id'))

    op.drop_table('evidencereport')
