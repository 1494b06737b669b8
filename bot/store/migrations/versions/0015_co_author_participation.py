"""co_author_participation: co-authors named on submissions count as participants; the
counters are recounted with them (as `sangkien stats --recount` does)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "co_author_participation",
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign", "scope", "who", name=op.f("pk_co_author_participation")
        ),
    )
    _recount(op.get_bind(), co_authors=True)


def downgrade() -> None:
    op.drop_table("co_author_participation")
    _recount(op.get_bind(), co_authors=False)


def _recount(connection: sa.Connection, *, co_authors: bool) -> None:
    from bot.app import load_catalog_of
    from bot.config import Settings
    from bot.store.counters import recount_all

    recount_all(connection, load_catalog_of(Settings()), co_authors=co_authors)
