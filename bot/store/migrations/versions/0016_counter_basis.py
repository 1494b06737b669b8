"""counter_basis: the unit catalog each campaign's counters are kept in, so a campaign moved
to the 2025 map (or back) is recounted once; filled from each campaign's latest filing

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from bot.store.counters import latest_catalogs

    basis = op.create_table(
        "counter_basis",
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("catalog", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("campaign", name=op.f("pk_counter_basis")),
    )
    rows = [
        {"campaign": campaign, "catalog": catalog}
        for campaign, catalog in latest_catalogs(op.get_bind()).items()
    ]
    if rows:
        op.bulk_insert(basis, rows)


def downgrade() -> None:
    op.drop_table("counter_basis")
