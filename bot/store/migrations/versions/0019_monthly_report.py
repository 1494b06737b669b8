"""the monthly report: an officer's choice to receive it (/baocaothang)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.models import Instant

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as person:
        person.add_column(sa.Column("monthly_report_at", Instant(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person") as person:
        person.drop_column("monthly_report_at")
