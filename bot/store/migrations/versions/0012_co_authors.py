"""submission.co_authors and author_share: the co-authors and their shares (46/HD-TLĐ I.2.4)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("co_authors", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("author_share", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("author_share")
        batch_op.drop_column("co_authors")
