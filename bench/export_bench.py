"""/xuat at campaign scale: an officer exports N submissions while another person keeps
writing to the bot; how long the export takes and how long that person waits each time."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from pathlib import Path

from bench.seed import seed_postgres, seed_sqlite
from bot import admin
from bot.app import App, build_app
from bot.clock import FixedClock, parse_now
from bot.config import Settings
from bot.dialogs.types import Inbound
from bot.store.db import upgrade_async

GOAL_MS = 200.0  # another chat's answer while an export runs (issue 19)
_ids = itertools.count(1)


async def say(app: App, user: str, text: str) -> str:
    inbound = Inbound("bench", user, user, text=text, update_id=f"x{next(_ids)}")
    replies = await app.engine.handle(inbound)
    return replies[-1].text if replies else ""


async def _sign_in(app: App, user: str, phone: str) -> None:
    for text in ("chào", "1", phone):
        await say(app, user, text)


async def measure(engine: str, url: str, rows: int, workdir: Path) -> str:
    clock = FixedClock(parse_now("2022-03-01T09:00"))
    await upgrade_async(url)
    settings = Settings(
        database_url=url, files_dir=workdir / "files", rate_limit_per_minute=0, now=None
    )
    app = build_app(settings, clock)
    campaign, catalog = app.engine.services.campaign, app.engine.services.catalog
    people = max(1, rows * 3 // 4)
    if engine == "sqlite":
        await asyncio.to_thread(seed_sqlite, url, campaign, catalog, rows, people)
    else:
        await seed_postgres(url, campaign, catalog, rows, people)
    try:
        await _sign_in(app, "officer", "0987000111")
        issued = await admin.grant(app, clock, "admin", "*", None)
        await say(app, "officer", "/nhanquyen " + issued.split("\n")[0].rsplit(": ", 1)[1])
        await _sign_in(app, "worker", "0901234567")
        began = time.perf_counter()
        export = asyncio.create_task(say(app, "officer", "/xuat tất cả"))
        waits: list[float] = []
        while not export.done():
            sent = time.perf_counter()
            await say(app, "worker", "/menu")
            waits.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.05)
        answer = await export
        took = time.perf_counter() - began
    finally:
        await app.close()
    return (
        f"{engine:9} /xuat of {rows:,}: {took:6.1f} s ({answer.splitlines()[0][:60]}); another "
        f"chat meanwhile: {len(waits)} answers, p50 {statistics.median(waits):7.0f} ms, "
        f"max {max(waits):7.0f} ms (goal {GOAL_MS:.0f} ms: {max(waits) / GOAL_MS:.1f}x)"
    )
