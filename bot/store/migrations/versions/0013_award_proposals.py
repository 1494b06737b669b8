"""submission.proposed_at, proposed_by: proposed for an award (đề nghị khen thưởng)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proposed_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("proposed_by")
        batch_op.drop_column("proposed_at")
