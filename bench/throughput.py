"""Updates per second: aiogram's bare echo (the ceiling) against our whole conversation path.

Both run in this process with a session that records outgoing calls (no network), so the
ratio shows what the engine and the database cost per update.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message, Update

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.clock import FixedClock
from bot.config import Settings
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
        "Mô tả giải pháp.",
        "20 triệu",
        "bỏ qua",
        "Giám đốc",
        "3/QĐ",
        "05/12/2021",
        "bỏ qua",
        "xong",
        "có",
        "có",
        "Gửi sáng kiến",
    ]


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def echo_ceiling(updates: int) -> float:
    dispatcher = Dispatcher()

    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher.message.register(echo, F.text)
    bot = Bot(TOKEN, session=RecordingSession(keep=False))
    parsed = [
        Update.model_validate(_update(i, 1000 + i % 100, "xin chào"), context={"bot": bot})
        for i in range(1, updates + 1)
    ]
    began = time.perf_counter()
    for update in parsed:
        await dispatcher.feed_update(bot, update)
    return updates / (time.perf_counter() - began)


@dataclass
class PathResult:
    engine: str
    users: int
    updates: int
    seconds: float
    latencies_ms: list[float]
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def conversation_path(engine: str, url: str, users: int, workdir: Path) -> PathResult:
    await upgrade_async(url)
    settings = Settings(
        database_url=url, files_dir=workdir / "files", db_pool_size=20, db_max_overflow=0
    )
    app = build_app(settings, FixedClock(datetime(2022, 3, 1, 9, tzinfo=TZ)))
    bot = Bot(TOKEN, session=RecordingSession(keep=False))
    channel = TelegramChannel(app.engine, bot, settings.max_file_bytes)
    ids = itertools.count(1)
    latencies: list[float] = []

    async def person(user: int) -> None:
        for text in script(user):
            update = Update.model_validate(_update(next(ids), user, text), context={"bot": bot})
            start = time.perf_counter()
            await channel.dispatcher.feed_update(bot, update)
            latencies.append((time.perf_counter() - start) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(person(10_000 + u) for u in range(users)))
    seconds = time.perf_counter() - began
    await app.close()
    return PathResult(engine, users, len(latencies), seconds, latencies, rss_mb())


def describe(result: PathResult, ceiling: float) -> str:
    ordered = sorted(result.latencies_ms)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"{result.engine:9} {result.users} users, {result.updates} updates in "
        f"{result.seconds:.1f} s = {result.rate:.0f} updates/s "
        f"(ratio to echo {result.rate / ceiling:.2f}); latency p50 "
        f"{statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms; RSS {result.rss_mb:.0f} MB"
    )
