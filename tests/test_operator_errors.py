"""An operator's mistakes, run as real processes: each ends within seconds, non-zero, with
one line in Vietnamese that names what to check, and no traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.processes import free_port, start_bot


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeTelegram, FakeZalo]]:
    telegram, zalo = FakeTelegram(), FakeZalo()
    await telegram.start()
    await zalo.start()
    yield telegram, zalo
    await zalo.stop()
    await telegram.stop()


CASES = [  # what the operator runs, with what, the exit code, words the line must hold
    (
        ["run", "zalo"],
        {"SANGKIEN_ZALO_TOKEN": "1:wrong", "SANGKIEN_ZALO_API_BASE": "{zalo}"},
        2,
        "SANGKIEN_ZALO_TOKEN",
    ),
    (
        ["run", "zalo"],
        {"SANGKIEN_ZALO_TOKEN": "1:x", "SANGKIEN_ZALO_API_BASE": "http://127.0.0.1:{closed}"},
        3,
        "không kết nối được máy chủ Zalo",
    ),
    (
        ["run", "telegram"],
        {"SANGKIEN_TELEGRAM_TOKEN": "123:wrong", "SANGKIEN_TELEGRAM_API_BASE": "{telegram}"},
        2,
        "@BotFather",
    ),
    (
        ["run", "telegram"],
        {
            "SANGKIEN_TELEGRAM_TOKEN": "123:x",
            "SANGKIEN_TELEGRAM_API_BASE": "http://127.0.0.1:{closed}",
        },
        3,
        "không kết nối được Telegram",
    ),
]


@pytest.mark.parametrize(("args", "env", "code", "words"), CASES)
async def test_a_misconfigured_runner_stops_with_one_line(
    servers: tuple[FakeTelegram, FakeZalo],
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    code: int,
    words: str,
) -> None:
    telegram, zalo = servers
    values = {"zalo": zalo.base_url, "telegram": telegram.base_url, "closed": str(free_port())}
    process = await start_bot(
        args,
        tmp_path,
        SANGKIEN_LOG_LEVEL="CRITICAL",
        **{name: value.format(**values) for name, value in env.items()},
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)  # a guard, not a timing
    lines = err.decode().strip().splitlines()
    assert process.returncode == code, lines
    assert "Traceback" not in err.decode() and 1 <= len(lines) <= 3, lines
    assert words in lines[-1], lines
