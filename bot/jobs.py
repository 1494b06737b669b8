"""Background work besides answering, in the sender process under `serve` (else in the runner's
own): escalate unanswered support tickets, delete exports past their retention, keep to the
campaign's map (`catalog: auto`), remind officers of award deadlines and members of their
drafts and requests (bot/reach/reminders.py), send the monthly reports (bot/reach/monthly.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.app import App
from bot.awards.reminders import remind_once
from bot.reach.monthly import MonthlyReports
from bot.reach.reminders import PeopleReminders, quiet
from bot.store.uow import UnitOfWork
from bot.support import escalate_overdue
from bot.unit_map import follow_map

log = logging.getLogger(__name__)


async def escalate_once(app: App) -> int:
    services = app.engine.services
    async with UnitOfWork(app.sessions) as uow:
        moved = await escalate_overdue(
            uow,
            services.catalog,
            services.clock.now(),
            timedelta(minutes=app.settings.support_escalate_minutes),
            services.helper_groups,
        )
        await uow.commit()
    return moved


async def remind_of_deadlines(app: App) -> int:
    services = app.engine.services
    now = services.clock.now()
    if "award_deadlines" not in services.campaign.reminders or quiet(now):
        return 0
    async with UnitOfWork(app.sessions) as uow:
        told = await remind_once(uow, services.campaign, services.catalog, now)
        await uow.commit()
    return told


async def remind_people(app: App, reminders: PeopleReminders) -> int:
    services = app.engine.services
    async with UnitOfWork(app.sessions) as uow:
        told = await reminders.run(uow, services.campaign, services.clock.now())
        await uow.commit()
    return told


async def escalation_loop(app: App, stop: asyncio.Event, interval: float = 60.0) -> None:
    reminders, reports = PeopleReminders(), MonthlyReports()
    while not stop.is_set():
        try:
            await escalate_once(app)
            await follow_map(app)
            await remind_of_deadlines(app)
            await remind_people(app, reminders)
            services = app.engine.services
            await reports.run(app.sessions, services, services.clock.now())
        except Exception as exc:  # a database hiccup must not end the loop
            log.error("escalation failed: %s", type(exc).__name__)
        try:
            await app.engine.services.files.sweep_exports()
        except Exception as exc:  # a full disk or an unreachable bucket: the next round tries
            log.error("export sweep failed: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def map_loop(app: App, stop: asyncio.Event, interval: float = 60.0) -> None:
    """What a serving process does in the background when the sender process runs the jobs:
    keep to the campaign's map, so that its answers speak in the units in force."""
    while not stop.is_set():
        try:
            await follow_map(app)
        except Exception as exc:  # a database hiccup must not end the loop
            log.error("following the map failed: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
