"""reach: outbox priorities, retries and dead letters; announcements (broadcast); reminders
sent once (reminder_sent, which takes over award_reminder's rows) and an index to find drafts
left a given time ago; a person's choice to receive no announcements

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.models import Instant

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        outbox.add_column(sa.Column("not_before", Instant(), nullable=True))
        outbox.add_column(sa.Column("sending_at", Instant(), nullable=True))
        outbox.add_column(sa.Column("dead_at", Instant(), nullable=True))
        outbox.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        outbox.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        outbox.drop_index("ix_outbox_pending")
        outbox.create_index("ix_outbox_pending", ["sent_at", "priority", "id"])
        outbox.create_index(op.f("ix_outbox_broadcast_id"), ["broadcast_id"])
    # the old rule gave a message up after 5 failed attempts: those are dead letters now
    op.execute(
        "UPDATE outbox SET dead_at = created_at, last_error = 'gave up after 5 attempts' "
        "WHERE sent_at IS NULL AND attempts >= 5"
    )
    with op.batch_alter_table("person") as person:
        person.add_column(sa.Column("announcements_off_at", Instant(), nullable=True))
    op.create_index("ix_conversation_updated_at", "conversation", ["updated_at"])
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", Instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast")),
    )
    op.create_table(
        "reminder_sent",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "person_id", name=op.f("pk_reminder_sent")),
    )
    # the award deadlines' reminders are kept as every other one now (bot/awards/reminders.py)
    op.execute(
        "INSERT INTO reminder_sent (kind, subject, person_id, sent_at) "
        "SELECT 'award_deadline', campaign || ':' || level || ':' || top_unit || ':' "
        "|| CAST(days_before AS TEXT), person_id, sent_at FROM award_reminder"
    )
    op.drop_table("award_reminder")


def downgrade() -> None:
    award_reminder = op.create_table(
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
    reminder_sent = sa.table(
        "reminder_sent",
        sa.column("kind", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("person_id", sa.Integer()),
        sa.column("sent_at", Instant()),
    )
    sent = op.get_bind().execute(
        sa.select(
            reminder_sent.c.subject, reminder_sent.c.person_id, reminder_sent.c.sent_at
        ).where(reminder_sent.c.kind == "award_deadline")
    )
    rows = []
    for subject, person_id, sent_at in sent:
        campaign, level, top_unit, days_before = subject.split(":")
        rows.append(
            {
                "campaign": campaign,
                "level": level,
                "top_unit": top_unit,
                "person_id": person_id,
                "days_before": int(days_before),
                "sent_at": sent_at,
            }
        )
    if rows:
        op.bulk_insert(award_reminder, rows)
    op.drop_table("reminder_sent")
    op.drop_table("broadcast")
    op.drop_index("ix_conversation_updated_at", table_name="conversation")
    with op.batch_alter_table("person") as person:
        person.drop_column("announcements_off_at")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_index(op.f("ix_outbox_broadcast_id"))
        outbox.drop_index("ix_outbox_pending")
        outbox.create_index("ix_outbox_pending", ["sent_at", "id"])
        for column in ("broadcast_id", "last_error", "dead_at", "sending_at", "not_before"):
            outbox.drop_column(column)
        outbox.drop_column("priority")
