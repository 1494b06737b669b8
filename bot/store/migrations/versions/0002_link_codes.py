"""link codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:30:58.336927
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "link_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_link_code_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_code")),
    )
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_code_code_sha256"), ["code_sha256"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_code_code_sha256"))

    op.drop_table("link_code")
