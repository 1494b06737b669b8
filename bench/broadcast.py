"""An announcement to 100,000 people on a real `sangkien serve` process, against a fake
Telegram that enforces a per-bot and a per-chat limit and answers 429 beyond them.

Telegram's 30 messages a second would make this 55 minutes, so the fake's limit is scaled
(300 a second by default, ×10) and the bot's budget (`SANGKIEN_TELEGRAM_PER_SECOND`) set to
match, at 97% of it (the bot ships with 25 of Telegram's 30, 83%, because Telegram publishes
no exact figure; against a fake whose limit is known the budget can sit closer). The per-chat
limit stays Telegram's: one message a second, with short bursts (CHAT_BURST), and the chatting
people take a second at least between an answer and their next message, as people do.

The run: the members are seeded in the database; an officer of their province signs in and
claims the role over the webhook like anyone; the chats' latency is measured at 100 updates/s
with no broadcast (the people of bench/latency.py, walking a submission, in another province);
the officer sends /thongbao and confirms; after `lead` seconds the same load is measured again,
during the broadcast; then the broadcast is waited out. Throughput is the broadcast's messages
from its first to its last, over that time; the chats' share of the budget while they are
measured is part of it, as it would be."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bench.latency import Load, Point, Server, Timing
from bot.app import settle_heap
from bot.store.db import upgrade
from bot.store.models import ChannelIdentity, Consent, Person
from tests.fake_telegram import BotAction, FakeTelegram

FIRST_RECIPIENT = 1_000_000  # chat ids of the members; the chatting people are from 10,000
OFFICER_CHAT = 999
# Hà Nội: the members announced to; the chatting people file in Bắc Giang, out of its scope,
# so that no announcement lands in a chat whose answer is being timed
MEMBERS_UNIT = "t01"
SHARE = 0.97  # the bot's budget, of the limit the fake enforces
# Telegram allows "short bursts" over one a second in a chat and publishes no size: a person
# answered twice within a second (a notice and the next question) is one; 5 is our guess
CHAT_BURST = 5
TEXT = "Hạn nộp sáng kiến đợt 2 là ngày 30/6. Đề nghị công đoàn cơ sở nhắc đoàn viên."


@dataclass
class Figures:
    recipients: int
    limit: float
    delivered: int = 0
    duplicates: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    too_many: int = 0
    everything: int = 0  # all the bot's messages from the broadcast's first to its last
    without: Point = field(default_factory=lambda: Point(0))
    during: Point = field(default_factory=lambda: Point(0))
    sends: dict[int, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.delivered / max(1e-9, self.last_at - self.first_at)

    @property
    def all_per_second(self) -> float:
        """The bot's whole pace while the broadcast went: its answers are in the budget."""
        return self.everything / max(1e-9, self.last_at - self.first_at)

    def line(self) -> str:
        return (
            f"broadcast: {self.delivered} delivered, {self.duplicates} duplicates, "
            f"{self.per_second:.0f}/s of {self.limit:.0f}/s, {self.too_many} 429s, chat p99 "
            f"{self.during.percentile(0.99):.0f} ms ({self.without.percentile(0.99):.0f} ms "
            "without)"
        )


async def seed_members(url: str, count: int) -> None:
    """Members with a consented Telegram chat in Hà Nội, straight into the database."""
    await asyncio.to_thread(upgrade, url)
    now = datetime.now(UTC)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for start in range(1, count + 1, 5_000):
                ids = range(start, min(count, start + 4_999) + 1)
                await connection.execute(
                    insert(Person),
                    [
                        {"id": i, "unit_code": MEMBERS_UNIT, "created_at": now, "updated_at": now}
                        for i in ids
                    ],
                )
                await connection.execute(
                    insert(ChannelIdentity),
                    [
                        {
                            "id": i,
                            "channel": "telegram",
                            "external_id": str(FIRST_RECIPIENT + i),
                            "person_id": i,
                            "created_at": now,
                        }
                        for i in ids
                    ],
                )
                await connection.execute(
                    insert(Consent),
                    [
                        {
                            "identity_id": i,
                            "text_version": "bench",
                            "text_sha256": "0" * 64,
                            "accepted_at": now,
                        }
                        for i in ids
                    ],
                )
            if engine.dialect.name == "postgresql":  # the ids were given: move the sequences on
                for table in ("person", "channel_identity"):
                    await connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"
                    )
    finally:
        await engine.dispose()


async def claim_code(url: str, workdir: Path) -> str:
    """`sangkien grant officer --unit t01`, as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "grant",
        "officer",
        "--unit",
        MEMBERS_UNIT,
        env={**os.environ, "SANGKIEN_DATABASE_URL": url, "SANGKIEN_NOW": NOW},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=workdir,
    )
    out, _ = await process.communicate()
    return out.decode().split("\n", 1)[0].rsplit(": ", 1)[1].strip()


async def say(load: Load, user: int, text: str) -> str:
    """Send as `user` over the webhook; the bot's answer."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[BotAction, float]] = loop.create_future()
    load.waiting[user] = answer
    await load.post(user, text)
    action, _ = await asyncio.wait_for(answer, 30)
    return action.text


async def run(
    url: str,
    workdir: Path,
    recipients: int,
    limit: float,
    timing: Timing,
    lead: float = 20.0,
    settle: float = 5.0,
    chat_burst: int = CHAT_BURST,
) -> Figures:
    """`lead`: seconds from the confirmation to the chats' second measure (the broadcast at
    full pace); `settle`: seconds waited after the last delivery for any second copy."""
    await seed_members(url, recipients)
    figures = Figures(recipients, limit)
    fake = FakeTelegram(
        token="123456:BENCH-broadcast",
        per_second=limit,
        per_chat_seconds=1.0,
        per_chat_burst=chat_burst,
        keep_actions=False,
    )
    await fake.start()
    # the clock runs from the campaign's day: a message told to wait by a 429 comes due again
    settings = {"SANGKIEN_TELEGRAM_PER_SECOND": str(limit * SHARE), "SANGKIEN_NOW_RUNS": "true"}
    server = Server(url, workdir, fake, settings)
    await server.start()
    rng = random.Random(31)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:
            load = Load(server, http)

            def heard(action: BotAction) -> None:
                if figures.first_at and len(figures.sends) < recipients:
                    figures.everything += 1
                if action.chat_id > FIRST_RECIPIENT and action.method == "sendMessage":
                    moment = time.monotonic()
                    figures.first_at = figures.first_at or moment
                    figures.last_at = moment
                    figures.sends[action.chat_id] = figures.sends.get(action.chat_id, 0) + 1
                load.heard(action)

            fake.listener = heard
            for text in ("/start", "Tôi đồng ý", "0912 000 999"):
                await say(load, OFFICER_CHAT, text)
            await say(load, OFFICER_CHAT, f"/nhanquyen {await claim_code(url, workdir)}")
            # the instrument's own heap (the fake's and the load's state) out of its collector's
            # rescans, as the bot's processes do with theirs: a pause here counts as the bot's
            settle_heap()
            figures.without = await load.point(100.0, timing, rng)
            preview = await say(load, OFFICER_CHAT, f"/thongbao {TEXT}")
            assert f"sẽ gửi đến {recipients} người" in preview, preview
            await say(load, OFFICER_CHAT, "Có")
            await asyncio.sleep(lead)
            with collector_pauses() as pauses:
                figures.during = await load.point(100.0, timing, rng)
            await _wait_out(figures, recipients, limit, settle)
    finally:
        await server.stop()
        await fake.stop()
    figures.delivered = len(figures.sends)
    figures.duplicates = sum(n - 1 for n in figures.sends.values())
    figures.too_many = fake.too_many
    print(
        f"the benchmark's own process (load and fake Bot API) while the chats were measured "
        f"during it: {len(pauses)} full collections, the longest {max(pauses, default=0):.0f} ms"
    )
    print(
        "the benchmark's own process (load and fake Bot API) used "
        f"{own_share(figures.without, timing):.0%} of a core while the chats were measured "
        f"without the broadcast, {own_share(figures.during, timing):.0%} during it"
    )
    print(
        f"429s for the bot's limit: {fake.too_many_for_bot}; for a chat's: "
        f"{fake.too_many - fake.too_many_for_bot}"
    )
    print(
        f"while it went the bot sent {figures.all_per_second:.0f}/s in all (its answers to the "
        f"chats are in its budget of {limit * SHARE:.0f}/s)"
    )
    return figures


NOW = "2022-03-01T09:00"


def own_share(point: Point, timing: Timing) -> float:
    """The benchmark process's CPU over the measured window, as a share of one core: the
    fake's work grows with the broadcast, on the same two cores as the bot's."""
    return (point.own_cpu_seconds or 0.0) / timing.seconds


@contextmanager
def collector_pauses() -> Iterator[list[float]]:
    """Milliseconds of each full (generation 2) collection in this process while inside: the
    load generator and the fake server share it, and a pause of theirs counts as the bot's."""
    pauses: list[float] = []
    began = 0.0

    def timed(phase: str, info: dict[str, Any]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append((time.perf_counter() - began) * 1000)

    gc.callbacks.append(timed)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timed)


async def _wait_out(figures: Figures, recipients: int, limit: float, settle: float) -> None:
    """Until everyone has the message, or far longer than the pace needs."""
    deadline = time.monotonic() + 120 + 2 * recipients / limit
    while len(figures.sends) < recipients and time.monotonic() < deadline:
        await asyncio.sleep(1)
    await asyncio.sleep(settle)  # anything sent twice would come by now
