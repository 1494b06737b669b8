"""stat_counter "progress" rows: what counts toward a target (all but invalid and withdrawn),
per phase; recounted from the submissions as 0008 does

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from bot.app import load_catalog_of
    from bot.config import Settings
    from bot.store.counters import recount_all

    recount_all(op.get_bind(), load_catalog_of(Settings()), co_authors=False)


def downgrade() -> None:
    op.execute("DELETE FROM stat_counter WHERE dim = 'progress'")
