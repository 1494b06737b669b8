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
    from bot.config import Settings
    from bot.store.counters import SUBMISSION_COUNTED, Tally, firsts_query
    from bot.store.models import Participation, StatCounter, Submission
    from rules.units import load_catalog

    campaigns = dict(
        connection.execute(sa.select(Submission.campaign, Submission.catalog).distinct()).all()
    )
    if not campaigns:
        return
    catalogs = load_catalog(Settings().units_file.read_text(encoding="utf-8"))
    connection.execute(sa.delete(StatCounter))
    connection.execute(sa.delete(Participation))
    for campaign, catalog in campaigns.items():
        tally = Tally(catalogs.version(catalog), campaign)
        counted = sa.select(*SUBMISSION_COUNTED).where(Submission.campaign == campaign)
        for row in connection.execute(counted):
            tally.add(*row)
        for person, unit, at in connection.execute(firsts_query(campaign)):
            tally.add_first(person, unit, at)
        people = tally.participations()
        if people:
            connection.execute(sa.insert(Participation), people)
        for chunk in tally.counter_rows():
            connection.execute(sa.insert(StatCounter), chunk)


def downgrade() -> None:
    op.execute("DELETE FROM stat_counter WHERE day <> '0001-01-01'")
    with op.batch_alter_table("stat_counter", schema=None) as batch_op:
        batch_op.alter_column(
            "day", new_column_name="week", existing_type=sa.Date(), existing_nullable=False
        )
