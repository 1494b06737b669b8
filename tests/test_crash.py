"""Killed between committing an answer and replying: the platform re-delivers, the answer is
applied once, and the conversation goes on from the right step."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

from bot.store.db import make_engine
from tests.fake_telegram import FakePerson, FakeTelegram
from tests.test_telegram_e2e import start_telegram_bot


def conversation(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        version, state = conn.execute("select version, state from conversation").fetchone()
    return version, json.loads(state)


async def test_kill_after_commit_before_reply(telegram: FakeTelegram, tmp_path: Path) -> None:
    bot = await start_telegram_bot(["run", "telegram"], telegram, tmp_path)
    person = FakePerson(telegram, 77)
    try:
        await person.say("/start")
        await person.press("Tôi đồng ý")
        await person.share_contact("+84901234567")
        await person.press("Nộp sáng kiến mới")
        telegram.stall_next("sendMessage")
        update_id = await telegram.push(person._message(text="Trần Văn Kiên"))
        for _ in range(1200):  # a hang guard: a loaded machine starts processes slowly
            if telegram.stalled_calls:
                break
            await asyncio.sleep(0.05)
        assert telegram.stalled_calls == 1
        version, state = conversation(tmp_path)
        assert state["draft"]["author_name"] == "Trần Văn Kiên"  # committed before replying
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()

    restarted = await start_telegram_bot(["run", "telegram"], telegram, tmp_path)
    try:
        for _ in range(1200):  # the restarted bot polls the unacknowledged update again
            if telegram.deliveries[update_id] == 2:
                break
            await asyncio.sleep(0.05)
        assert telegram.deliveries[update_id] == 2
        await asyncio.sleep(0.5)
        assert conversation(tmp_path)[0] == version  # and it changed nothing
        reply = await person.say("1985")
        assert "Chức vụ" in reply.text  # the name was taken once; now the position
        draft = conversation(tmp_path)[1]["draft"]
        assert (draft["author_name"], draft["birth_year"]) == ("Trần Văn Kiên", 1985)
    finally:
        restarted.terminate()
        await restarted.communicate()


async def test_sqlite_commits_reach_the_disk(tmp_path: Path) -> None:
    """synchronous=FULL in WAL mode: a committed answer survives a power cut too."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    try:
        async with engine.connect() as connection:
            journal = await connection.exec_driver_sql("PRAGMA journal_mode")
            synchronous = await connection.exec_driver_sql("PRAGMA synchronous")
            assert (journal.scalar(), synchronous.scalar()) == ("wal", 2)
    finally:
        await engine.dispose()


async def test_sqlite_copies_its_log_into_the_database_in_small_steps(tmp_path: Path) -> None:
    """A commit that fills the write-ahead log past its mark copies it into the database
    before returning; in small steps, no one commit waits for megabytes of it (SQLite's own
    mark, 1,000 pages, let the log grow past 4 MB)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE filler (data BLOB)")
        for _ in range(60):  # 60 commits of about 20 pages each: 4.8 MB in all
            async with engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO filler VALUES (randomblob(80000))")
        log_bytes = (tmp_path / "bot.db-wal").stat().st_size
        assert log_bytes < 1_000_000, log_bytes
    finally:
        await engine.dispose()
