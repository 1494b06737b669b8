"""The map a campaign speaks in: the unit catalog version it names in campaigns.yaml, or with
`catalog: auto` the version in force on the day (the 63 provinces until 30/6/2025, the 34
after). Submissions keep the unit and version they were filed under; the counters are kept in
the campaign's current version and recounted once when it changes, so everything filed in Bắc
Giang (t24) counts for Bắc Ninh (n24) after the move, and moving back restores the old view."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.app import App
from bot.store.counters import day_of, insert_for, rebuild
from bot.store.models import CounterBasis
from bot.store.uow import UnitOfWork
from rules.units import AUTO

log = logging.getLogger(__name__)


async def align_counters(app: App) -> int | None:
    """Recount the campaign's counters when they were kept in another catalog version than
    the one it runs on now; returns the counter rows written, or None when nothing moved.
    The basis row is locked first, so workers starting together recount once."""
    services = app.engine.services
    campaign, version = services.campaign.code, services.catalog.code
    async with UnitOfWork(app.sessions) as uow:
        session = uow.session
        kept = await session.scalar(
            select(CounterBasis.catalog).where(CounterBasis.campaign == campaign)
        )
        if kept == version:
            return None
        unset = insert_for(session)(CounterBasis).values(campaign=campaign, catalog="")
        await session.execute(unset.on_conflict_do_nothing())
        locked = await session.scalar(
            select(CounterBasis).where(CounterBasis.campaign == campaign).with_for_update()
        )
        assert locked is not None  # inserted just above
        if locked.catalog == version:  # another worker recounted while we waited
            return None
        written = await rebuild(session, services.catalog, campaign)
        locked.catalog = version
        await uow.commit()
    if written:  # a campaign with nothing filed yet only takes note of its catalog
        log.warning(
            "counters of campaign %s recounted in unit catalog %s: %d rows",
            campaign,
            version,
            written,
        )
    return written


async def follow_map(app: App) -> int | None:
    """Keep the running bot on its campaign's map: with `catalog: auto`, move to the version
    in force today; then keep the counters in it. Called at start and by the daily jobs."""
    services = app.engine.services
    if services.campaign.catalog == AUTO:
        services.catalog = app.catalog.in_force(day_of(services.clock.now()))
    return await align_counters(app)
