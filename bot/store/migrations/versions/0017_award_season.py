"""nomination, dispute, award_reopening, award_reminder: the award season by levels; the one
“proposed” flag of 0013 becomes a nomination at the campaign's highest level (the one the old
quota was for)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ACTIVE = sa.text("withdrawn_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "nomination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("top_unit", sa.String(length=64), nullable=False),
        sa.Column("criterion", sa.Integer(), nullable=True),
        sa.Column("nominated_by", sa.Integer(), nullable=True),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_nomination_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nomination")),
    )
    op.create_index("ix_nomination_quota", "nomination", ["campaign", "level", "top_unit"])
    op.create_index(
        op.f("ix_nomination_submission_id"), "nomination", ["submission_id"], unique=False
    )
    op.create_index(
        "uq_nomination_active",
        "nomination",
        ["campaign", "level", "submission_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.Integer(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_dispute_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
    )
    op.create_index(op.f("ix_dispute_submission_id"), "dispute", ["submission_id"], unique=False)
    op.create_table(
        "award_reopening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("top_unit", sa.String(length=64), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reopened_by", sa.Integer(), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_reopening")),
    )
    op.create_table(
        "award_reminder",
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("top_unit", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign",
            "level",
            "top_unit",
            "person_id",
            "days_before",
            name=op.f("pk_award_reminder"),
        ),
    )
    _proposals_to_nominations(op.get_bind())
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("proposed_by")
        batch_op.drop_column("proposed_at")


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proposed_by", sa.Integer(), nullable=True))
    op.drop_table("award_reminder")
    op.drop_table("award_reopening")
    op.drop_index(op.f("ix_dispute_submission_id"), table_name="dispute")
    op.drop_table("dispute")
    op.drop_index("uq_nomination_active", table_name="nomination")
    op.drop_index(op.f("ix_nomination_submission_id"), table_name="nomination")
    op.drop_index("ix_nomination_quota", table_name="nomination")
    op.drop_table("nomination")


def _proposals_to_nominations(connection: sa.Connection) -> None:
    """Each proposed submission is nominated at its campaign's last (highest) level, counted
    for its top unit as the old quota was."""
    from bot.app import load_catalog_of
    from bot.config import Settings
    from rules.campaigns import load_campaigns

    settings = Settings()
    rows = connection.execute(
        sa.text(
            "SELECT id, campaign, catalog, unit_code, proposed_at, proposed_by "
            "FROM submission WHERE proposed_at IS NOT NULL"
        )
    ).all()
    if not rows:
        return
    catalog = load_catalog_of(settings)
    campaigns = load_campaigns(settings.campaigns_file.read_text(encoding="utf-8"))
    columns = ("campaign", "level", "submission_id", "top_unit", "nominated_by", "nominated_at")
    nomination = sa.table("nomination", *(sa.column(name) for name in columns))
    moved = []
    for ident, campaign, version, unit, at, by in rows:
        levels = campaigns[campaign].award_levels if campaign in campaigns else ()
        if not levels:
            continue
        units = catalog.version(version)
        top = units.path(unit)[0].code if unit in units.units else unit
        moved.append(
            {
                "campaign": campaign,
                "level": levels[-1].code,
                "submission_id": ident,
                "top_unit": top,
                "nominated_by": by,
                "nominated_at": at,
            }
        )
    if moved:
        op.bulk_insert(nomination, moved)
