"""submission.fingerprint: the word pairs of title and description, for near-duplicates

Rows filed before this revision keep NULL until a near-duplicate check first reads them: it
fingerprints them from their text then and stores the result.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
