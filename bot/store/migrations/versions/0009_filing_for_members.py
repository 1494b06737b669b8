"""filing for members: person.recorded_by (a member with no account), submission.filed_by

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.Integer(), nullable=True))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filed_by", sa.Integer(), nullable=True))
        batch_op.create_index("ix_submission_filed_by", ["filed_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_filed_by")
        batch_op.drop_column("filed_by")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("recorded_by")
