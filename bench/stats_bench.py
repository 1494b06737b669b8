"""/stats latency at campaign scale: seed N submissions, rebuild the counters, time queries."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.seed import seed_postgres, seed_sqlite
from bot.stats.views import Period, stats
from bot.store.counters import rebuild
from bot.store.db import make_engine, make_sessionmaker, upgrade_async
from bot.store.models import Submission
from bot.store.uow import Submissions
from rules.campaigns import Campaign
from rules.units import CatalogVersion

QUERIES = 30
GOAL_MS = 50.0


@dataclass
class Timing:
    engine: str
    seed_s: float
    rebuild_s: float
    country_ms: list[float]
    province_ms: list[float]
    similar_ms: dict[str, float]  # the filing's near-duplicate read, by unit (with its filings)

    def line(self) -> str:
        def cell(values: list[float]) -> str:
            return f"p50 {statistics.median(values):6.1f} ms, max {max(values):6.1f} ms"

        return (
            f"{self.engine:9} seed {self.seed_s:6.1f} s  rebuild {self.rebuild_s:6.1f} s  "
            f"country {cell(self.country_ms)}  province {cell(self.province_ms)}\n"
            f"          near-duplicate candidates at filing, median: "
            + ", ".join(f"{unit} {ms:.1f} ms" for unit, ms in self.similar_ms.items())
        )


async def _measure(
    url: str, campaign: Campaign, catalog: CatalogVersion, province: str
) -> tuple[float, list[float], list[float], dict[str, float]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    began = time.perf_counter()
    async with sessions() as session:
        await rebuild(session, catalog, campaign.code)
        await session.commit()
    rebuilt = time.perf_counter() - began
    timings: dict[str, list[float]] = {"*": [], province: []}
    for _ in range(QUERIES):
        for scope, sink in timings.items():
            async with AsyncSession(engine) as session:
                start = time.perf_counter()
                figures = await stats(session, campaign, catalog, scope, Period())
                sink.append((time.perf_counter() - start) * 1000)
    print(f"  {figures.scope_label}: {figures.total:,} submissions counted")
    similar = await _similar_ms(engine)
    await engine.dispose()
    return rebuilt, timings["*"], timings[province], similar


async def _similar_ms(engine: AsyncEngine) -> dict[str, float]:
    """The read of a filing's near-duplicate candidates, for the unit with the most filings,
    the one with the fewest, and a unit with none yet."""
    async with AsyncSession(engine) as session:
        counts = (
            await session.execute(
                select(Submission.unit_code, func.count()).group_by(Submission.unit_code)
            )
        ).all()
        ordered = sorted(counts, key=lambda row: row[1])
        units = {
            f"{ordered[-1][0]} ({ordered[-1][1]:,})": ordered[-1][0],
            f"{ordered[0][0]} ({ordered[0][1]:,})": ordered[0][0],
            "a unit with none (0)": "-",
        }
        submissions = Submissions(session)
        result = {}
        for label, unit in units.items():
            samples = []
            for _ in range(QUERIES):
                start = time.perf_counter()
                await submissions.similar_candidates(None, unit)
                samples.append((time.perf_counter() - start) * 1000)
            result[label] = statistics.median(samples)
    return result


async def run(
    engines: list[str],
    count: int,
    campaign: Campaign,
    catalog: CatalogVersion,
    workdir: Path,
    pg_admin_dsn: str,
) -> list[Timing]:
    results = []
    people = max(1, count * 3 // 4)
    for name in engines:
        print(f"[{name}] seeding {count:,} submissions by {people:,} people…", flush=True)
        if name == "sqlite":
            path = workdir / f"stats-{uuid.uuid4().hex[:6]}.db"
            url = f"sqlite+aiosqlite:///{path}"
            await upgrade_async(url)
            seeded = await asyncio.to_thread(seed_sqlite, url, campaign, catalog, count, people)
        else:
            url, drop = await _pg_database(pg_admin_dsn)
            await upgrade_async(url)
            seeded = await seed_postgres(url, campaign, catalog, count, people)
        try:
            rebuilt, country, province, similar = await _measure(url, campaign, catalog, "t24")
        finally:
            if name == "sqlite":
                path.unlink(missing_ok=True)
            else:
                await drop()
        results.append(Timing(name, seeded, rebuilt, country, province, similar))
        print(results[-1].line(), flush=True)
    return results


async def _pg_database(admin_dsn: str):  # type: ignore[no-untyped-def]
    import asyncpg

    name = f"sangkien_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", drop
