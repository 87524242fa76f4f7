"""production records: devices enrolled to record production, the records they signed, their inputs, and the batches anchoring them

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('device',
    sa.Column('address', S(length=42), nullable=False),
    sa.Column('owner', S(length=42), nullable=False),
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.Column('label', S(length=200), nullable=False),
    sa.Column('enrolled_at', sa.BigInteger(), nullable=False),
    sa.Column('enrolled_tx', S(length=66), nullable=False),
    sa.Column('revoked_tx', S(length=66), nullable=True),
    sa.PrimaryKeyConstraint('address')
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_owner'), ['owner'], unique=False)
    op.create_table('productionrecord',
    sa.Column('record_hash', S(length=66), nullable=False),
    sa.Column('device', S(length=42), nullable=False),
    sa.Column('action', sa.Integer(), nullable=False),
    sa.Column('content_hash', S(length=66), nullable=False),
    sa.Column('tool', S(length=200), nullable=False),
    sa.Column('tool_version', S(length=200), nullable=False),
    sa.Column('model_id', ID64, nullable=True),
    sa.Column('author', S(length=42), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('prompt_hash', S(length=66), nullable=True),
    sa.Column('received_at', sa.BigInteger(), nullable=False),
    sa.Column('signature', S(length=132), nullable=False),
    sa.Column('batch_id', ID64, nullable=True),
    sa.PrimaryKeyConstraint('record_hash')
    )
    with op.batch_alter_table('productionrecord', schema=None) as batch_op:
        for column in ('device', 'content_hash', 'model_id', 'author', 'batch_id'):
            batch_op.create_index(batch_op.f(f'ix_productionrecord_{column}'), [column], unique=False)
    op.create_table('recordinput',
    sa.Column('record_hash', S(length=66), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('input_hash', S(length=66), nullable=False),
    sa.ForeignKeyConstraint(['record_hash'], ['productionrecord.record_hash'], ),
    sa.PrimaryKeyConstraint('record_hash', 'position')
    )
    with op.batch_alter_table('recordinput', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordinput_input_hash'), ['input_hash'], unique=False)
    op.create_table('manifestrecord',
    sa.Column('content_hash', S(length=66), nullable=False),
    sa.Column('manifest_label', S(length=200), nullable=False),
    sa.Column('actions', S(), nullable=False),
    sa.Column('ai_generated', sa.Boolean(), nullable=False),
    sa.Column('software_agent', S(length=200), nullable=False),
    sa.Column('signer', S(length=400), nullable=False),
    sa.Column('validation_state', S(length=16), nullable=False),
    sa.Column('inputs', S(), nullable=False),
    sa.Column('ingredients', S(), nullable=False),
    sa.Column('model_id', ID64, nullable=True),
    sa.Column('source', S(length=32), nullable=False),
    sa.Column('recorded_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('content_hash', 'manifest_label')
    )
    op.create_table('recordbatch',
    sa.Column('batch_id', ID64, nullable=False),
    sa.Column('root', S(length=66), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('records_cid', S(length=100), nullable=False),
    sa.Column('tx_hash', S(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )


def downgrade() -> None:
    op.drop_table('recordbatch')
    op.drop_table('manifestrecord')
    with op.batch_alter_table('recordinput', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordinput_input_hash'))
    op.drop_table('recordinput')
    with op.batch_alter_table('productionrecord', schema=None) as batch_op:
        for column in ('device', 'content_hash', 'model_id', 'author', 'batch_id'):
            batch_op.drop_index(batch_op.f(f'ix_productionrecord_{column}'))
    op.drop_table('productionrecord')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_owner'))
    op.drop_table('device')
