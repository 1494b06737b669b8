"""submission (unit_code, id): the latest filings of a unit without a table scan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_unit_id", ["unit_code", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_unit_id")
