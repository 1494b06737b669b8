"""stat_counter by day: any period of days, a month, a quarter, counts what the export lists

The week buckets cannot be split into days, so the counters are recounted from the
submissions here (with the unit catalog the settings name, as `sangkien stats --recount`
does). Going back, the day rows are dropped and only the all-time rows stay: run
`sangkien stats --recount` with the older version then.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stat_counter", schema=None) as batch_op:
        batch_op.alter_column(
            "week", new_column_name="day", existing_type=sa.Date(), existing_nullable=False
        )
    _recount(op.get_bind())


def _recount(connection: sa.Connection) -> None:
    from bot.app import load_catalog_of
    from bot.config import Settings
    from bot.store.counters import recount_all

    recount_all(connection, load_catalog_of(Settings()), co_authors=False)


def downgrade() -> None:
    op.execute("DELETE FROM stat_counter WHERE day <> '0001-01-01'")
    with op.batch_alter_table("stat_counter", schema=None) as batch_op:
        batch_op.alter_column(
            "day", new_column_name="week", existing_type=sa.Date(), existing_nullable=False
        )
