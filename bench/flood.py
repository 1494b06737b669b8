"""A webhook flood on loopback: many chats posting at once to a real `serve` process.

Used by `python -m bench flood` (10,000 updates, figures) and by tests/test_flood.py
(the same flood, checking every update is answered once).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.fake_telegram import FakeTelegram
from tests.processes import free_port, start_bot, stop_bot, wait_healthy

SECRET = "flood-secret-token"
SLOW_DOWN_WORDS = "quá nhanh"


@dataclass
class FloodResult:
    updates: int
    seconds: float
    replies: Counter[int]
    slowed: Counter[int]
    statuses: Counter[int]
    rss_before_mb: float
    rss_after_mb: float


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def flood(
    workdir: Path, per_chat: list[int], database_url: str | None = None
) -> FloodResult:
    """Chat i posts per_chat[i] messages, one after another; all chats at the same time."""
    telegram = FakeTelegram()
    await telegram.start()
    port = free_port()
    env = {
        "SANGKIEN_TELEGRAM_TOKEN": telegram.token,
        "SANGKIEN_TELEGRAM_API_BASE": telegram.base_url,
        "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SANGKIEN_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["SANGKIEN_DATABASE_URL"] = database_url
    process = await start_bot(["serve", "--port", str(port)], workdir, **env)
    ids = itertools.count(1)
    statuses: Counter[int] = Counter()
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            rss_before = _rss_mb(process.pid)

            async def chat(index: int, count: int) -> None:
                user = {"id": 70_000 + index, "is_bot": False, "first_name": "F"}
                for n in range(count):
                    update = {
                        "update_id": next(ids),
                        "message": {
                            "message_id": n + 1,
                            "date": int(time.time()),
                            "chat": {"id": user["id"], "type": "private"},
                            "from": user,
                            "text": f"tin nhắn {n}",
                        },
                    }
                    async with http.post(
                        f"http://127.0.0.1:{port}/telegram/webhook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    ) as response:
                        statuses[response.status] += 1

            began = time.perf_counter()
            await asyncio.gather(*(chat(i, n) for i, n in enumerate(per_chat)))
            seconds = time.perf_counter() - began
            rss_after = _rss_mb(process.pid)
    finally:
        await stop_bot(process)
        await telegram.stop()
    replies = Counter(a.chat_id - 70_000 for a in telegram.actions)
    slowed = Counter(a.chat_id - 70_000 for a in telegram.actions if SLOW_DOWN_WORDS in a.text)
    return FloodResult(sum(per_chat), seconds, replies, slowed, statuses, rss_before, rss_after)
