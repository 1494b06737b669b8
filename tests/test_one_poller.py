"""Two `sangkien run telegram` processes on one PostgreSQL database: one polls, the other stands
by; the poller killed with -9, the other takes over well within 30 s and answers. And two
`serve` machines: one sender process sends, the other's takes over when its machine dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.reach.sender import SENDER_NICENESS
from bot.store.db import make_sessionmaker
from bot.store.uow import UnitOfWork
from rules.campaigns import TZ
from tests.fake_telegram import FakePerson, FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.processes import free_port, stop_bot, wait_healthy
from tests.test_sender_process import eventually, senders_of
from tests.test_telegram_e2e import start_telegram_bot
from tests.test_zalo_e2e import start_zalo_bot

pytestmark = pytest.mark.postgres
POLLING = "đang nhận tin từ Telegram (long polling)"
STANDING_BY = "một tiến trình khác đang nhận tin"
TAKING_OVER = "tiếp quản"
NOW = datetime(2022, 3, 1, 9, 0, tzinfo=TZ)  # the bots' clock (tests/processes.py)


async def _line(process: asyncio.subprocess.Process, words: str, seconds: float) -> str:
    """The first line on stderr holding `words`, read as the process writes it."""
    assert process.stderr is not None

    async def find() -> str:
        assert process.stderr is not None
        while line := (await process.stderr.readline()).decode():
            if words in line:
                return line
        raise AssertionError(f"the process ended without saying “{words}”")

    return await asyncio.wait_for(find(), seconds)


async def test_one_polls_and_the_other_takes_over_when_it_is_killed(
    telegram: FakeTelegram, clean_postgres_url: str, tmp_path: Path
) -> None:
    env = {"SANGKIEN_DATABASE_URL": clean_postgres_url}
    first = await start_telegram_bot(["run", "telegram"], telegram, tmp_path, **env)
    second = None
    try:
        await _line(first, POLLING, 60)
        second = await start_telegram_bot(["run", "telegram"], telegram, tmp_path, **env)
        await _line(second, STANDING_BY, 60)
        person = FakePerson(telegram, 4242)
        assert "đồng ý" in (await person.say("/start")).text  # answered by the first
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = time.monotonic()
        await _line(second, TAKING_OVER, 30)
        await _line(second, POLLING, 30)
        took = time.monotonic() - killed_at
        assert took < 30, took
        reply = await person.press("Tôi đồng ý")  # the same conversation, on the second
        assert "số điện thoại" in reply.text.lower()
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.terminate()
                await process.communicate()


SENDING_ELSEWHERE = "tiến trình gửi tin của một máy khác đang gửi"
TAKING_OVER_SENDING = "máy này tiếp quản việc gửi"


async def _queue(url: str, chat_id: str, text: str) -> None:
    """A message in the outbox, as an announcement or a reminder leaves it."""
    engine = create_async_engine(url)
    try:
        async with UnitOfWork(make_sessionmaker(engine)) as uow:
            await uow.outbox.to_chat("zalo", chat_id, {"text": text}, NOW)
            await uow.commit()
    finally:
        await engine.dispose()


async def test_one_sender_among_machines_and_another_takes_over_when_its_machine_dies(
    clean_postgres_url: str, tmp_path: Path
) -> None:
    """Two `serve` on one database, each with its sender process: one sends, the other's
    stands by; the first machine killed, the second's sender sends, and nothing goes twice."""
    zalo = FakeZalo()
    await zalo.start()
    env = {
        "SANGKIEN_DATABASE_URL": clean_postgres_url,
        "SANGKIEN_SENDER_PROCESS": "true",
        "SANGKIEN_ZALO_WEBHOOK_SECRET": "zalo-secret",
    }
    ports = [free_port(), free_port()]

    async def serve(port: int) -> asyncio.subprocess.Process:
        return await start_zalo_bot(["serve", "--port", str(port)], zalo, tmp_path, **env)

    first = await serve(ports[0])
    second = None
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, ports[0])
            await eventually(lambda: len(senders_of(first.pid)) == 1)
            [sender] = senders_of(first.pid)
            # on PostgreSQL the sender gives way to the answering processes (once it has started)
            lowered = min(os.getpriority(os.PRIO_PROCESS, 0) + SENDER_NICENESS, 19)
            await eventually(lambda: os.getpriority(os.PRIO_PROCESS, sender) == lowered)
            second = await serve(ports[1])
            await _line(second, SENDING_ELSEWHERE, 60)
            await _queue(clean_postgres_url, "member-1", "Hạn nộp đợt 2 là ngày 30/6.")
            await eventually(lambda: len(zalo.to("member-1")) == 1)
            first.send_signal(signal.SIGKILL)  # the machine, and its sender with it
            await first.wait()
            await _line(second, TAKING_OVER_SENDING, 30)
            await _queue(clean_postgres_url, "member-2", "Hội nghị tổng kết ngày 15/7.")
            await eventually(lambda: len(zalo.to("member-2")) == 1)
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                await stop_bot(process)
        await zalo.stop()
    assert [m["text"] for m in zalo.to("member-1")] == ["Hạn nộp đợt 2 là ngày 30/6."]
