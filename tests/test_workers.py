"""Two real worker processes sharing PostgreSQL: same chats split between them, duplicates too."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.latency import script
from bot.store.models import Conversation, Submission
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port, stop_bot, wait_healthy
from tests.test_telegram_e2e import SECRET, start_telegram_bot

pytestmark = pytest.mark.postgres
CHATS = 6


async def test_two_workers_share_chats_exactly_once(
    telegram: FakeTelegram, clean_postgres_url: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    workers = [
        await start_telegram_bot(
            ["serve", "--port", str(port)],
            telegram,
            tmp_path,
            SANGKIEN_DATABASE_URL=clean_postgres_url,
            SANGKIEN_TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
        for port in ports
    ]
    ids = itertools.count(1)
    rng = random.Random(3)
    duplicates = 0
    try:
        async with aiohttp.ClientSession() as http:
            for port in ports:
                await wait_healthy(http, port)

            async def post(port: int, update: dict[str, object]) -> int:
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as r:
                    return r.status

            async def person(index: int) -> None:
                nonlocal duplicates
                user = {"id": 5000 + index, "is_bot": False, "first_name": "Lan"}
                chat = {"id": 5000 + index, "type": "private"}
                for text in script(5000 + index):
                    update = {
                        "update_id": next(ids),
                        "message": {
                            "message_id": next(ids),
                            "date": int(time.time()),
                            "chat": chat,
                            "from": user,
                            "text": text,
                        },
                    }
                    if rng.random() < 0.3:  # the same update reaches both workers at once
                        duplicates += 1
                        statuses = await asyncio.gather(
                            post(ports[0], update), post(ports[1], update)
                        )
                    else:
                        statuses = [await post(rng.choice(ports), update)]
                    assert all(status == 200 for status in statuses)

            await asyncio.gather(*(person(i) for i in range(CHATS)))
    finally:
        logs = [await stop_bot(worker) for worker in workers]
    assert duplicates > 10
    engine = create_async_engine(clean_postgres_url)
    async with engine.connect() as conn:
        titles = sorted((await conn.execute(select(Submission.title))).scalars())
        states = list((await conn.execute(select(Conversation.state))).scalars())
    await engine.dispose()
    assert titles == sorted(f"Sáng kiến số {5000 + i}" for i in range(CHATS)), logs
    assert all(state["step"] == "menu" and state.get("draft") is None for state in states)
    busy = [a for a in telegram.actions if "Hệ thống đang bận" in a.text]
    assert busy == []
    for index in range(CHATS):
        replies = [a.text for a in telegram.actions if a.chat_id == 5000 + index]
        assert len(replies) == len(script(5000 + index))  # one reply per update, none twice
        assert "Mã hồ sơ: SK-2022-" in replies[-1]


async def test_metrics_count_every_worker(
    telegram: FakeTelegram, clean_postgres_url: str, tmp_path: Path
) -> None:
    """`serve --workers 2` on one port: the kernel spreads the connections over both, and a
    scrape, whichever worker answers it, counts the updates of both."""
    port = free_port()
    bot = await start_telegram_bot(
        ["serve", "--port", str(port), "--workers", "2"],
        telegram,
        tmp_path,
        SANGKIEN_DATABASE_URL=clean_postgres_url,
        SANGKIEN_TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    sent = 40
    try:
        await _both_ready(bot)
        # a new connection for each request: SO_REUSEPORT chooses a worker per connection
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            for number in range(1, sent + 1):
                update = {
                    "update_id": number,
                    "message": {
                        "message_id": number,
                        "date": int(time.time()),
                        "chat": {"id": 7000 + number, "type": "private"},
                        "from": {"id": 7000 + number, "is_bot": False, "first_name": "An"},
                        "text": "/start",
                    },
                }
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response:
                    assert response.status == 200
            totals = []
            for _ in range(6):
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    totals.append(_updates_counted(await response.text()))
    finally:
        log = await stop_bot(bot)
    assert totals == [sent] * 6, (totals, log)


def _updates_counted(exposition: str) -> int:
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in exposition.splitlines()
        if line.startswith("sangkien_updates_total{")
    )


async def _both_ready(bot: asyncio.subprocess.Process) -> None:
    """Until each worker listens (a request before would find only one, or none: “đã sẵn
    sàng” comes from its startup, before its socket listens)."""
    assert bot.stderr is not None
    ready = 0
    while ready < 2:
        line = await asyncio.wait_for(bot.stderr.readline(), 60)
        assert line, "serve ended before its workers were ready"
        ready += "nghe trên" in line.decode()
