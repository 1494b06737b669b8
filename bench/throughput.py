"""Updates per second: aiogram's bare echo (the ceiling) against our whole conversation path.

Both run in this process with a session that records outgoing calls (no network), so the
ratio shows what the engine and the database cost per update.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message, Update
from sqlalchemy import func, select

from bench.seed import random_description
from bot.app import build_app, settle_heap
from bot.channels.telegram import TelegramChannel
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.types import Button, Expect, Inbound, Reply
from bot.store.db import upgrade_async
from bot.store.models import Submission
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


DESCRIPTION_CHARS = 1_000  # half of what the campaign allows; each person's differs


def script(user: int) -> list[str]:
    return [
        "/start",
        "Tôi đồng ý",
        f"09{user % 100_000_000:08d}",
        "Nộp sáng kiến mới",
        "Nguyễn Văn An",
        "1985",
        "Kỹ sư",
        "Công ty",
        "bac giang",
        "Chọn chính Bắc Giang",
        "Cán bộ công đoàn",
        f"Sáng kiến số {user}",
        "Giải pháp kỹ thuật",
        "01/10/2021",
        "01/12/2021",
        random_description(random.Random(user), DESCRIPTION_CHARS),
        "20 triệu",
        "bỏ qua",
        "Áp dụng tại đơn vị",
        "Giám đốc",
        "3/QĐ",
        "05/12/2021",
        "bỏ qua",
        "xong",
        "không",
        "không",
        "Gửi sáng kiến",
    ]


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def echo_ceiling(updates: int, filtered: bool = False) -> float:
    """aiogram's bare echo: one handler, no filter (with `filtered`, the usual `F.text`,
    which aiogram evaluates in a worker thread)."""
    dispatcher = Dispatcher()

    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    if filtered:
        dispatcher.message.register(echo, F.text)
    else:
        dispatcher.message.register(echo)
    bot = Bot(TOKEN, session=RecordingSession(keep=False))
    return await _rate(dispatcher, bot, updates)


PARSED_AT_ONCE = 500


async def _rate(dispatcher: Dispatcher, bot: Bot, updates: int) -> float:
    """Updates per second through `dispatcher`, parsed ahead (untimed) a few hundred at a
    time, so that the run leaves no large heap behind to weigh on the RSS figures."""
    spent = 0.0
    for first in range(1, updates + 1, PARSED_AT_ONCE):
        parsed = [
            Update.model_validate(_update(i, 1000 + i % 100, "xin chào"), context={"bot": bot})
            for i in range(first, min(first + PARSED_AT_ONCE, updates + 1))
        ]
        began = time.perf_counter()
        for update in parsed:
            await dispatcher.feed_update(bot, update)
        spent += time.perf_counter() - began
    return updates / spent


class _CannedEngine:
    """Answers every update with one fixed screen: the adapter's own cost, nothing else."""

    reply = Reply(
        "Chọn đối tượng của sáng kiến:",
        tuple(Button(i, f"Lựa chọn số {i}", f"token{i}") for i in range(1, 6)),
        Expect.CHOICE,
    )

    async def handle(self, inbound: Inbound) -> list[Reply]:
        return [self.reply]


async def adapter_ceiling(updates: int) -> float:
    """Our Telegram adapter (filters, Inbound, a five-button keyboard) over a canned engine."""
    bot = Bot(TOKEN, session=RecordingSession(keep=False))
    channel = TelegramChannel(_CannedEngine(), bot, 1024)  # duck-typed: only handle() is used
    return await _rate(channel.dispatcher, bot, updates)


@dataclass
class PathResult:
    engine: str
    users: int
    updates: int
    seconds: float
    latencies_ms: list[float]
    rss_mb: float
    history: list[tuple[int, float]]  # (finished conversations, RSS MB) after each wave
    filed: int  # submissions in the database after the timed users: one each when none failed
    filed_in_all: int  # the same after the history waves
    echo_around: tuple[float, float]  # the bare echo right before and right after the users

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def ratio(self) -> float:
        """To the mean of the echoes around the run: this machine's speed drifts within
        minutes, and the echo measured at the start may no longer be the ceiling."""
        return self.rate / statistics.mean(self.echo_around)


class Driver:
    """Scripted users through the Telegram adapter, the real engine and the real store."""

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
        """`users` new people's updates, parsed ahead like the echo's (parsing is not timed)."""
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

    async def wave(self, users: int, latencies: list[float] | None = None) -> None:
        """`users` new people at once, each through a whole submission."""
        await self.run(self.people(users), latencies)

    async def run(self, people: list[list[Update]], latencies: list[float] | None = None) -> None:
        await asyncio.gather(*(self._person(updates, latencies) for updates in people))

    async def filed(self) -> int:
        async with self.app.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)

    async def _person(self, updates: list[Update], latencies: list[float] | None) -> None:
        for update in updates:
            start = time.perf_counter()
            await self.channel.dispatcher.feed_update(self.bot, update)
            if latencies is not None:
                latencies.append((time.perf_counter() - start) * 1000)


async def conversation_path(
    engine: str,
    url: str,
    users: int,
    workdir: Path,
    history: int = 0,
    echo_updates: int = 20_000,
) -> PathResult:
    """`users` at once for the speed, between two runs of the bare echo; then `history` more
    conversations, in waves of `users`, with RSS after each wave (the cache and every memo
    are bounded)."""
    await upgrade_async(url)
    driver = Driver(url, workdir)
    latencies: list[float] = []
    people = driver.people(users)
    echo_before = await echo_ceiling(echo_updates)
    began = time.perf_counter()
    await driver.run(people, latencies)
    seconds = time.perf_counter() - began
    del people
    filed = await driver.filed()
    rss_after_speed = rss_mb()
    echo_after = await echo_ceiling(echo_updates)
    checkpoints = [(users, rss_after_speed)]
    while checkpoints[-1][0] < users + history:
        await driver.wave(users)
        checkpoints.append((checkpoints[-1][0] + users, rss_mb()))
        if len(checkpoints) % 10 == 0:
            print(
                f"  {checkpoints[-1][0]} conversations, RSS {checkpoints[-1][1]:.0f} MB",
                flush=True,
            )
    filed_in_all = await driver.filed()
    await driver.app.close()
    return PathResult(
        engine,
        users,
        len(latencies),
        seconds,
        latencies,
        rss_after_speed,
        checkpoints,
        filed,
        filed_in_all,
        (echo_before, echo_after),
    )


def describe(result: PathResult) -> str:
    ordered = sorted(result.latencies_ms)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    before, after = result.echo_around
    line = (
        f"{result.engine:9} {result.users} users, {result.updates} updates in "
        f"{result.seconds:.1f} s = {result.rate:.0f} updates/s "
        f"(ratio {result.ratio:.2f} to the echo, {before:.0f} before and {after:.0f} "
        f"after); latency p50 "
        f"{statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms; submissions filed "
        f"{result.filed}/{result.users}; RSS {result.rss_mb:.0f} MB"
    )
    if len(result.history) > 1:
        done, rss = result.history[-1]
        line += (
            f"; after {done} conversations ({result.filed_in_all} submissions filed) "
            f"RSS {rss:.0f} MB"
        )
    return line
