"""Reminders of the award deadlines: the officers of each province or central union are told
7 days and 1 day before a level's deadline how many they have nominated of their quota; one
message each, never repeated (reminder_sent, as every reminder), through the outbox."""

from __future__ import annotations

from datetime import datetime

from bot.access import ADMIN, OFFICER
from bot.awards.season import closed_for, used
from bot.reach.reminders import first_time
from bot.store.counters import day_of
from bot.store.uow import UnitOfWork
from rules.campaigns import Campaign
from rules.dates import format_date
from rules.units import CatalogVersion

DAYS_BEFORE = (7, 1)
AWARD_DEADLINE = "award_deadline"  # reminder_sent.kind


def award_subject(campaign: str, level: str, top_unit: str, days_before: int) -> str:
    return f"{campaign}:{level}:{top_unit}:{days_before}"


async def remind_once(
    uow: UnitOfWork, campaign: Campaign, catalog: CatalogVersion, now: datetime
) -> int:
    """Queue the reminders due today; returns how many officers were told."""
    today = day_of(now)
    due = [
        (level, (level.deadline - today).days)
        for level in campaign.award_levels
        if level.deadline is not None and (level.deadline - today).days in DAYS_BEFORE
    ]
    if not due:
        return 0
    tops = {code for kind in catalog.kinds for code in kind.roots}
    officers = [
        grant
        for role in (OFFICER, ADMIN)
        for grant in await uow.roles.holders(role)
        if grant.unit_code in tops
    ]
    told = 0
    for level, days in due:
        for grant in officers:
            if await closed_for(uow, campaign, level, grant.unit_code, now):
                continue
            subject = award_subject(campaign.code, level.code, grant.unit_code, days)
            if not await first_time(uow, AWARD_DEADLINE, subject, grant.person_id, now):
                continue  # told already (by this worker before a restart, or another)
            taken = await used(uow, campaign.code, level.code, grant.unit_code)
            quota = f"{taken}/{level.quota}" if level.quota is not None else str(taken)
            text = (
                f"⏰ Còn {days} ngày đến hạn nộp hồ sơ “{level.name}” "
                f"({format_date(level.deadline or today)}). {catalog.describe(grant.unit_code)} "
                f"đã đề nghị {quota} sáng kiến. Xem và đề nghị: /khenthuong."
            )
            told += bool(await uow.outbox.to_person(grant.person_id, {"text": text}, now))
    return told
