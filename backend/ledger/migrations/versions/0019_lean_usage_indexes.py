"""lean usage-line indexes: every index is paid on each of millions of inserted lines, so keep
only those a query uses (output and model ids are read with their lines, never looked up), and
index replaced line ids only where there is one

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPLACING = sa.text("replaces_line_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index('ix_usageline_output_id', table_name='usageline')
    op.drop_index('ix_usageline_model_id', table_name='usageline')
    op.drop_index('ix_usageline_replaces_line_id', table_name='usageline')
    op.create_index(
        'ix_usageline_replaces_line_id', 'usageline', ['replaces_line_id'], unique=False,
        sqlite_where=_REPLACING, postgresql_where=_REPLACING,
    )


def downgrade() -> None:
    op.drop_index('ix_usageline_replaces_line_id', table_name='usageline')
    op.create_index('ix_usageline_replaces_line_id', 'usageline', ['replaces_line_id'], unique=False)
    op.create_index('ix_usageline_model_id', 'usageline', ['model_id'], unique=False)
    op.create_index('ix_usageline_output_id', 'usageline', ['output_id'], unique=False)
