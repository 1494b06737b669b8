"""role_grant.phone, claim_id: the number a role was taken with and the code that gave it, so
that a role stays findable and revocable after a verified login takes the number away

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("claim_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_role_grant_phone", ["phone"], unique=False)
    # Grants made before: the holder's number now is the best record there is.
    op.execute(
        "UPDATE role_grant SET phone = "
        "(SELECT person.phone FROM person WHERE person.id = role_grant.person_id)"
    )
    op.execute(
        "UPDATE role_grant SET claim_id = (SELECT MAX(role_claim.id) FROM role_claim "
        "WHERE role_claim.used_by = role_grant.person_id AND role_claim.role = role_grant.role "
        "AND role_claim.unit_code = role_grant.unit_code)"
    )


def downgrade() -> None:
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_role_grant_phone")
        batch_op.drop_column("claim_id")
        batch_op.drop_column("phone")
