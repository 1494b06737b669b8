"""The near-duplicate check of a filing when many units file at once: each new initiative is
compared with the latest 200 of its unit, whose descriptions run to 2,000 characters.

Timed with the fingerprints stored (as filed since revision 0006), then with them cleared, as
rows filed before it have them: the first check in each unit folds its 200 texts and stores
their fingerprints, the later ones find them stored.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.seed import SYLLABLES, random_description
from bot import review
from bot.store.db import make_engine, make_sessionmaker, upgrade_async
from bot.store.models import Submission
from bot.store.uow import SIMILAR_WINDOW, UnitOfWork
from rules.campaigns import TZ
from rules.similar import fingerprint
from tests.records import placeholder_submission

DESCRIPTION_CHARS = 1_900


@dataclass
class FilingCost:
    wall_ms: float
    cpu_ms: float  # of the event-loop thread, where the comparison runs


def _submission(index: int, unit: str, rng: random.Random, person_id: int) -> Submission:
    title = f"Sáng kiến {index}: {' '.join(rng.choices(SYLLABLES, k=6))}"
    description = random_description(rng, DESCRIPTION_CHARS)
    return placeholder_submission(
        datetime(2022, 3, 1, 9, tzinfo=TZ),
        code=f"SK-2022-{index:06d}",
        draft_id=f"bench-{index}",
        person_id=person_id,
        channel="bench",
        unit_code=unit,
        title=title,
        description=description,
        fingerprint=fingerprint(title, description),
    )


async def filing_costs(url: str, units: int, filings: int) -> dict[str, FilingCost]:
    """Cost of one filing's check (the new text fingerprinted, the candidates read and
    compared), `filings` of them taking the `units` in turn: the median, but for the first
    check of each unit on rows filed before 0006, whose mean is given apart."""
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(7)
    names = [f"bench.{n}" for n in range(units)]
    try:
        async with UnitOfWork(sessions) as uow:
            person = await uow.people.add_person("+84912000999", datetime.now(TZ), verified=False)
            for index in range(units * SIMILAR_WINDOW):
                uow.session.add(_submission(index, names[index % units], rng, person.id))
            await uow.commit()
        new = [_submission(10**6 + n, names[n % units], rng, 0) for n in range(filings)]
        for submission in new:
            submission.fingerprint = None  # the check fingerprints the new one, as at filing
        stored = await _check_each(sessions, new)
        async with sessions() as session, session.begin():
            await session.execute(update(Submission).values(fingerprint=None))
        legacy = await _check_each(sessions, new)
        return {
            "fingerprints stored": _median(stored),
            "first check, rows before 0006": _mean(legacy[:units]),
            "later checks, rows before 0006": _median(legacy[units:]),
        }
    finally:
        await engine.dispose()


async def _check_each(
    sessions: async_sessionmaker[AsyncSession], filings: list[Submission]
) -> list[FilingCost]:
    costs = []
    for submission in filings:
        async with UnitOfWork(sessions) as uow:
            wall, cpu = time.perf_counter(), time.thread_time()
            nearby = review.Nearby(uow)
            await nearby.fetch([submission])
            nearby.closest(submission)
            costs.append(
                FilingCost((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
            )
            await uow.commit()  # as the filing does: fingerprints made on the way are kept
    return costs


def _median(costs: list[FilingCost]) -> FilingCost:
    return FilingCost(
        statistics.median(c.wall_ms for c in costs), statistics.median(c.cpu_ms for c in costs)
    )


def _mean(costs: list[FilingCost]) -> FilingCost:
    return FilingCost(
        statistics.mean(c.wall_ms for c in costs), statistics.mean(c.cpu_ms for c in costs)
    )
