"""verified and claimed phones, role claim codes, failed attempts kept in the database

- person.phone may repeat and be empty: a typed number is a claim; one Telegram verified
  (phone_verified_at) is unique. Every number stored so far is taken as a claim.
- person rows no account points to any more (left by /lienket before this revision, or erased)
  are emptied: no typed number ever logs into them again.
- link_code.failures burns a code after too many wrong guesses.
- role_claim: single-use codes from `sangkien grant`; failed_attempt: wrong codes per account,
  person and phone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

VERIFIED_ONLY = sa.text("phone_verified_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint("uq_person_phone", type_="unique")
        batch_op.alter_column("phone", existing_type=sa.String(length=16), nullable=True)
        batch_op.create_index("ix_person_phone", ["phone"], unique=False)
        batch_op.create_index(
            "uq_person_verified_phone",
            ["phone"],
            unique=True,
            sqlite_where=VERIFIED_ONLY,
            postgresql_where=VERIFIED_ONLY,
        )
    op.execute(
        "UPDATE person SET phone = NULL, full_name = NULL, birth_year = NULL, "
        "position = NULL, workplace = NULL, unit_code = NULL "
        "WHERE id NOT IN (SELECT person_id FROM channel_identity WHERE person_id IS NOT NULL)"
    )
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failures", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "role_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_claim")),
    )
    op.create_table(
        "failed_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_attempt")),
    )
    op.create_index("ix_failed_attempt_key_at", "failed_attempt", ["key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_failed_attempt_key_at", table_name="failed_attempt")
    op.drop_table("failed_attempt")
    op.drop_table("role_claim")
    with op.batch_alter_table("link_code", schema=None) as batch_op:
        batch_op.drop_column("failures")
    # Numbers that repeat or were emptied cannot go back under a unique, required column.
    op.execute(
        "UPDATE person SET phone = 'lost-' || CAST(id AS VARCHAR(12)) WHERE phone IS NULL "
        "OR id NOT IN (SELECT MIN(id) FROM person WHERE phone IS NOT NULL GROUP BY phone)"
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("uq_person_verified_phone")
        batch_op.drop_index("ix_person_phone")
        batch_op.alter_column("phone", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint("uq_person_phone", ["phone"])
        batch_op.drop_column("phone_verified_at")
