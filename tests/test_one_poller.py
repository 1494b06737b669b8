"""Two `sangkien run telegram` processes on one PostgreSQL database: one polls, the other stands
by; the poller killed with -9, the other takes over well within 30 s and answers."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.fake_telegram import FakePerson, FakeTelegram
from tests.test_telegram_e2e import start_telegram_bot

pytestmark = pytest.mark.postgres
POLLING = "đang nhận tin từ Telegram (long polling)"
STANDING_BY = "một tiến trình khác đang nhận tin"
TAKING_OVER = "tiếp quản"


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
