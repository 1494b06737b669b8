"""Rows for tests and benchmarks that need filed submissions without going through the form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app import App
from bot.stats.export import EVERY, ExportFiles, ExportRequest, export
from bot.stats.views import Period
from bot.store.models import Submission

PLACEHOLDERS: dict[str, Any] = {
    "campaign": "1trieu",
    "phase": "gd1",
    "catalog": "2021",
    "target_group": "cnld_doanh_nghiep",
    "solution_type": "ky_thuat",
    "benefit_social": "Lợi ích",
    "recognized_by": "Giám đốc",
    "recognition_doc": "1/QĐ",
    "declared_no_ip": True,
    "declared_public_order": True,
    "author_name": "Tác Giả",
    "author_birth_year": 1980,
    "author_position": "Kỹ sư",
    "author_workplace": "Công ty",
    "status": "submitted",
}


def placeholder_submission(when: datetime, **fields: Any) -> Submission:
    """A submission filed at `when` (its dates that day), with `fields` and placeholder
    answers for the rest."""
    day = when.date()
    dates = {"started_on": day, "ended_on": day, "recognized_on": day, "submitted_at": when}
    return Submission(**{**PLACEHOLDERS, **dates, **fields})


async def export_of_the_country(app: App, period: Period | None = None) -> ExportFiles:
    """The export an operator makes of every submission not withdrawn, without phones."""
    from sqlalchemy.ext.asyncio import AsyncSession

    services = app.engine.services
    async with AsyncSession(app.db) as session:
        request = ExportRequest(
            services.campaign,
            services.catalog,
            "*",
            period or Period(),
            with_phones=False,
            statuses=EVERY,
        )
        return await export(session, request)
