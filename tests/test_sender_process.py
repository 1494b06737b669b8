"""`serve` delivers the outbox in a sender process of its own: the announcement reaches everyone
through it, it comes back when killed, it ends with `serve`, and the budget it spends is the
one the answering processes spend."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.outbox import Ledger, Limits, Pacer
from tests.conftest import CliRun
from tests.fake_telegram import FakePerson, FakeTelegram
from tests.processes import free_port, stop_bot, wait_healthy
from tests.test_telegram_e2e import SECRET, start_telegram_bot

MEMBERS = (7001, 7002, 7003)


def senders_of(pid: int) -> list[int]:
    """The sender processes `serve` (pid) started: its spawned children (the other child,
    multiprocessing's resource tracker, is started another way). Linux lists children under
    the thread that started them."""
    children = [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def seed_members(database: Path) -> None:
    """Consented members in Bắc Giang, as people who filed there would be."""
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(database) as conn:
        for chat in MEMBERS:
            person = conn.execute(
                "insert into person (unit_code, created_at, updated_at) values ('t24', ?, ?)",
                (now, now),
            ).lastrowid
            identity = conn.execute(
                "insert into channel_identity (channel, external_id, person_id, created_at) "
                "values ('telegram', ?, ?, ?)",
                (str(chat), person, now),
            ).lastrowid
            conn.execute(
                "insert into consent (identity_id, text_version, text_sha256, accepted_at) "
                "values (?, 'test', ?, ?)",
                (identity, "0" * 64, now),
            )


async def eventually(check: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.2)


def announced_to(server: FakeTelegram, text: str) -> list[int]:
    return sorted(a.chat_id for a in server.actions if a.chat_id in MEMBERS and text in a.text)


async def announce(officer: FakePerson, text: str) -> None:
    preview = await officer.say(f"/thongbao {text}")
    assert "sẽ gửi đến 3 người" in preview.text
    await officer.press("Có, gửi thông báo")


async def test_serve_delivers_through_a_sender_process_that_comes_back_when_killed(
    telegram: FakeTelegram, tmp_path: Path, cli: CliRun
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    process = await start_telegram_bot(
        ["serve", "--port", str(port)],
        telegram,
        tmp_path,
        SANGKIEN_TELEGRAM_WEBHOOK_URL=url,
        SANGKIEN_TELEGRAM_WEBHOOK_SECRET=SECRET,
        SANGKIEN_SENDER_PROCESS="true",
    )
    database = tmp_path / "bot.db"
    officer = FakePerson(telegram, 9000)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            await officer.say("/start")
            await officer.press("Tôi đồng ý")
            await officer.share_contact("+84912000999")
            granted = await asyncio.to_thread(
                cli,
                ["grant", "officer", "--unit", "t24"],
                SANGKIEN_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            )
            code = granted.stdout.split("\n", 1)[0].rsplit(": ", 1)[1].strip()
            await officer.say(f"/nhanquyen {code}")
            seed_members(database)
            [first] = senders_of(process.pid)

            await announce(officer, "Hạn nộp đợt 2 là ngày 30/6.")
            await eventually(lambda: announced_to(telegram, "30/6") == list(MEMBERS))
            # on SQLite it keeps its priority: its claims hold the database's one write lock
            assert os.getpriority(os.PRIO_PROCESS, first) == os.getpriority(os.PRIO_PROCESS, 0)

            os.kill(first, signal.SIGKILL)  # as the out-of-memory killer would
            await announce(officer, "Hội nghị tổng kết ngày 15/7.")
            await eventually(lambda: announced_to(telegram, "15/7") == list(MEMBERS))
            [second] = senders_of(process.pid)
            assert second != first

            # dying again soon after its start: the next start waits twice as long
            os.kill(second, signal.SIGKILL)
            await eventually(lambda: senders_of(process.pid) not in ([], [second]))
            [third] = senders_of(process.pid)
    finally:
        log = await stop_bot(process)
    assert "sender process ended (exit code -9); starting it again in 1 s" in log
    assert "sender process ended (exit code -9); starting it again in 2 s" in log
    assert announced_to(telegram, "30/6") == list(MEMBERS)  # nothing twice
    assert not Path(f"/proc/{third}").exists()  # it ended with serve


def _answer_in_another_process(ledger: Ledger, chat_id: str, calls: int) -> None:
    Pacer(Limits(per_second=10.0, per_chat_seconds=1.0), ledger=ledger).note_direct(chat_id, calls)


async def test_answers_sent_by_another_process_hold_the_outbox_back() -> None:
    ledger = Ledger()
    before = time.monotonic()
    answering = multiprocessing.get_context("spawn").Process(
        target=_answer_in_another_process, args=(ledger, "42", 5)
    )
    answering.start()
    await asyncio.to_thread(answering.join, 60)
    assert answering.exitcode == 0
    # five answers at 10 a second: the outbox's next turn came half a second later
    assert ledger.next_free > before + 0.45
    # and chat 42 had five messages: its next is five seconds after them, the others' now
    assert ledger.chat_free("42") > before + 4.9
    outbox = Pacer(Limits(per_second=10.0, per_chat_seconds=1.0), ledger=ledger)
    assert outbox.reserve_chat("43", longest=2.0) == 0.0
