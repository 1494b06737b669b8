"""The monthly report: on the campaign's day (`reminders: monthly_report`, the 1st unless set),
each officer who asked for it (/baocaothang bật) gets last month's figures for their scope as
/thongke shows them, and the table of that month's initiatives (XLSX, without phone numbers:
it waits in the outbox; /xuat gives them to those allowed), in the chat they used last. Once a
month each (reminder_sent), also across restarts and workers; never in the quiet hours."""

from __future__ import annotations

import time as monotonic_time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.access import OFFICER, scope_of
from bot.dialogs.engine import Services
from bot.outbox import REMINDER, queued_file
from bot.reach.reminders import EVERY_SECONDS, first_time, quiet
from bot.stats.export import EVERY, XLSX_MIME, ExportRequest
from bot.stats.report import format_stats
from bot.stats.views import Period, stats
from bot.store.counters import day_of
from bot.store.models import Person, ReminderSent
from bot.store.uow import UnitOfWork

KIND = "monthly_report"
REPORT_DAYS = 3
TURN_OFF = "Không muốn nhận báo cáo tháng: /baocaothang tắt"


def month_due(report_day: int | None, now: datetime) -> tuple[date, date] | None:
    """Last month's first and last days, on this month's report day and the days after it in
    REPORT_DAYS (a stopped bot or the night's quiet hours do not lose the month; one who asks
    for the report later gets next month's)."""
    today = day_of(now)
    if report_day is None or not report_day <= today.day < report_day + REPORT_DAYS:
        return None
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def month_name(first: date) -> str:
    return f"{first.month:02d}/{first.year}"


async def set_monthly(uow: UnitOfWork, person_id: int, on: bool, now: datetime) -> None:
    await uow.session.execute(
        update(Person).where(Person.id == person_id).values(monthly_report_at=now if on else None)
    )


async def wants_monthly(uow: UnitOfWork, person_id: int) -> bool:
    chosen = await uow.session.scalar(
        select(Person.monthly_report_at).where(Person.id == person_id)
    )
    return chosen is not None


async def _waiting(uow: UnitOfWork, subject: str) -> list[int]:
    """The officers who asked for the report and have not had this month's."""
    had = select(ReminderSent.person_id).where(
        ReminderSent.kind == KIND, ReminderSent.subject == subject
    )
    found = await uow.session.scalars(
        select(Person.id).where(
            Person.monthly_report_at.is_not(None),
            Person.blocked_at.is_(None),
            Person.id.not_in(had),
        )
    )
    return list(found)


async def send_monthly_reports(
    sessions: async_sessionmaker[AsyncSession], services: Services, now: datetime
) -> int:
    """Queue last month's report for every officer waiting for it; returns how many. Each is
    made outside any transaction (the table by the export process) and queued with its mark
    in reminder_sent, so a second worker at the same time queues none twice."""
    month = month_due(services.campaign.monthly_report_day, now)
    if month is None or quiet(now):
        return 0
    subject = month_name(month[0])
    async with UnitOfWork(sessions) as uow:
        waiting = await _waiting(uow, subject)
    queued = 0
    for person_id in waiting:
        queued += await _report_to(sessions, services, person_id, month, now)
    return queued


async def _report_to(
    sessions: async_sessionmaker[AsyncSession],
    services: Services,
    person_id: int,
    month: tuple[date, date],
    now: datetime,
) -> int:
    campaign, catalog, period = services.campaign, services.catalog, Period(*month)
    async with UnitOfWork(sessions) as uow:
        scope = await scope_of(uow, person_id, OFFICER)
        if not scope:  # no longer an officer: nothing to report, and their choice stays
            return 0
        unit = scope.default_unit
        figures = await stats(uow.session, campaign, catalog, unit, period)
    request = ExportRequest(campaign, catalog, unit, period, with_phones=False, statuses=EVERY)
    table = await services.exports.run(request)
    stored = await services.files.put_report(table.xlsx, "xlsx")
    name = f"bao-cao-thang-{month[0]:%m-%Y}.xlsx"
    text = (
        f"🗓 Báo cáo tháng {month_name(month[0])}\n{format_stats(figures)}\n\n"
        f"Bảng kèm theo: {table.rows} sáng kiến gửi trong tháng (không có số điện thoại; "
        f"cần thì dùng /xuat).\n{TURN_OFF}"
    )
    async with UnitOfWork(sessions) as uow:
        if not await first_time(uow, KIND, month_name(month[0]), person_id, now):
            return 0
        payload = {"text": text, "files": [queued_file(stored, name, XLSX_MIME)]}
        told = await uow.outbox.to_last_chat(person_id, payload, now, REMINDER)
        await uow.commit()
    return int(told)


@dataclass(slots=True)
class MonthlyReports:
    """Held by the job loop: looks every EVERY_SECONDS, and not again once a month is done
    by this process."""

    last_run: float = -1e9
    done: set[str] = field(default_factory=set)

    async def run(
        self, sessions: async_sessionmaker[AsyncSession], services: Services, now: datetime
    ) -> int:
        month = month_due(services.campaign.monthly_report_day, now)
        waited = monotonic_time.monotonic() - self.last_run < EVERY_SECONDS
        if month is None or waited or month_name(month[0]) in self.done:
            return 0
        self.last_run = monotonic_time.monotonic()
        queued = await send_monthly_reports(sessions, services, now)
        if not quiet(now):
            self.done.add(month_name(month[0]))
        return queued
