"""Where the CPU of one submission goes: people one after another (nothing overlaps), each
update's wall time and the CPU time of the event-loop thread, by its place in the script.

Concurrent people share the group commit of cached answers, so what one answer costs under
load is its own CPU without that commit; the careful updates (a transaction each) share
nothing.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bench.latency import script
from bot.app import build_app, settle_heap
from bot.channels.telegram import TelegramChannel
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.committer import StateCommitter
from bot.store.db import upgrade_async
from rules.campaigns import TZ
from tests.telegram_harness import RecordingSession

TOKEN = "123456:BENCH"


def _update(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


class Driver:
    """Scripted people through the Telegram adapter, the real engine and the real store, in
    this process (no network): what the event loop spends on each update."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.settings = Settings(
            database_url=url, files_dir=workdir / "files", db_pool_size=20, db_max_overflow=0
        )
        self.app = build_app(self.settings, FixedClock(datetime(2022, 3, 1, 9, tzinfo=TZ)))
        self.bot = Bot(TOKEN, session=RecordingSession(keep=False))
        self.channel = TelegramChannel(self.app.engine, self.bot, self.settings.max_file_bytes)
        self.ids = itertools.count(1)
        self.next_user = 10_000
        settle_heap()  # as `sangkien serve` does

    def people(self, users: int) -> list[list[Update]]:
        """`users` new people's updates, parsed ahead (parsing is not timed)."""
        first, self.next_user = self.next_user, self.next_user + users
        return [
            [
                Update.model_validate(
                    _update(next(self.ids), user, text), context={"bot": self.bot}
                )
                for text in script(user)
            ]
            for user in range(first, first + users)
        ]


@dataclass
class StepCost:
    text: str
    wall_us: float
    cpu_us: float  # of the event-loop thread, where the bot's Python runs
    commit_us: float  # of that, inside the group commit

    @property
    def careful(self) -> bool:
        """Run in a transaction of its own: it did not go through the group commit."""
        return self.commit_us == 0


@contextmanager
def _commit_cpu() -> Iterator[list[float]]:
    """CPU seconds spent in each group commit while inside (one person at a time, so the
    event-loop thread runs nothing else meanwhile)."""
    spent: list[float] = []
    original = StateCommitter._commit

    async def timed(self: StateCommitter, items: Any) -> Any:
        start = time.thread_time()
        try:
            return await original(self, items)
        finally:
            spent.append(time.thread_time() - start)

    StateCommitter._commit = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        StateCommitter._commit = original  # type: ignore[method-assign]


async def step_costs(url: str, people: int, workdir: Path) -> list[StepCost]:
    """Median cost of each of the script's updates over the later three quarters of
    `people` (the first quarter warms the caches)."""
    await upgrade_async(url)
    driver = Driver(url, workdir)
    samples: list[list[tuple[float, float, float]]] = [[] for _ in script(0)]
    with _commit_cpu() as commits:
        for updates in driver.people(people):
            for index, update in enumerate(updates):
                wall, cpu, before = time.perf_counter(), time.thread_time(), sum(commits)
                await driver.channel.dispatcher.feed_update(driver.bot, update)
                cost = (time.perf_counter() - wall, time.thread_time() - cpu)
                samples[index].append((*cost, sum(commits) - before))
    await driver.app.close()
    warm = people // 4
    return [
        StepCost(text, *(statistics.median(s[i] for s in steps[warm:]) * 1e6 for i in range(3)))
        for text, steps in zip(script(0), samples, strict=True)
    ]


def describe(engine: str, costs: list[StepCost]) -> list[str]:
    lines = [
        f"{engine}: median per update, one person at a time: wall / event-loop CPU "
        f"(of which the group commit)"
    ]
    for index, cost in enumerate(costs):
        tag = "  [a transaction of its own]" if cost.careful else ""
        lines.append(
            f"  {index:2} {cost.text[:22]:22} {cost.wall_us:6.0f} / {cost.cpu_us:5.0f} "
            f"({cost.commit_us:4.0f}) µs{tag}"
        )
    careful = [c for c in costs if c.careful]
    cached = [c for c in costs if not c.careful]
    own = sum(c.cpu_us - c.commit_us for c in cached)
    lines.append(
        f"  per submission: the {len(careful)} careful updates "
        f"{sum(c.cpu_us for c in careful) / 1000:.1f} ms of CPU; "
        f"the {len(cached)} cached answers {own / 1000:.1f} ms of their own plus "
        f"{sum(c.commit_us for c in cached) / 1000:.1f} ms of one-row group commits, which "
        f"concurrent people share"
    )
    return lines
