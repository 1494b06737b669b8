"""Two workers sharing one database: exactly-once effects and unique codes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.models import Conversation, Submission
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, fill_profile, login, submit_new


@pytest.fixture
async def workers(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> AsyncIterator[tuple[App, App]]:
    first, second = (build_app(make_settings(any_db_url), clock) for _ in range(2))
    yield first, second
    await first.close()
    await second.close()


async def test_full_submission_on_each_engine(workers: tuple[App, App]) -> None:
    app = workers[0]
    chat = FakeChat(app.engine)
    await login(chat)
    assert "SK-2022-000001" in await submit_new(chat)
    async with AsyncSession(app.db) as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 1


async def test_simultaneous_submits_get_unique_codes(workers: tuple[App, App]) -> None:
    chats = []
    for index in range(10):
        chat = FakeChat(workers[index % 2].engine, user_id=f"worker-{index}")
        await login(chat, f"09128205{index:02d}")
        await chat.click("Nộp sáng kiến mới")
        await fill_profile(chat)
        await fill_initiative(chat, f"Sáng kiến số {index} về an toàn")
        chats.append(chat)
    tokens = [chat.button("Gửi sáng kiến").token for chat in chats]
    await asyncio.gather(*(chat.press(token) for chat, token in zip(chats, tokens, strict=True)))
    await asyncio.gather(*(chat.press(token) for chat, token in zip(chats, tokens, strict=True)))
    async with AsyncSession(workers[0].db) as session:
        codes = list((await session.execute(select(Submission.code))).scalars())
    assert len(codes) == len(set(codes)) == 10
    assert all(code and code.startswith("SK-2022-") for code in codes)


async def test_same_update_delivered_to_both_workers(workers: tuple[App, App]) -> None:
    first = FakeChat(workers[0].engine)
    second = FakeChat(workers[1].engine)
    await login(first)
    await first.click("Nộp sáng kiến mới")
    names = ["Người Thứ Một", "Người Thứ Hai", "Người Thứ Ba"]
    for round_, name in enumerate(names):
        if round_:
            await first.send("/quaylai")
        same = {"text": name, "update_id": f"dup-{round_}"}
        results = await asyncio.gather(
            first.deliver(first._inbound(**same)), second.deliver(second._inbound(**same))
        )
        assert sorted(len(replies) for replies in results) == [0, 1]
    async with AsyncSession(workers[0].db) as session:
        state = (await session.execute(select(Conversation.state))).scalar_one()
    assert state["draft"]["author_name"] == "Người Thứ Ba"
    assert state["step"] == "birth_year"


async def test_concurrent_messages_for_one_chat_are_all_applied(workers: tuple[App, App]) -> None:
    chat = FakeChat(workers[0].engine)
    await login(chat)
    before = await _version(workers[0])
    other = FakeChat(workers[1].engine)
    await asyncio.gather(*((chat if i % 2 else other).send(f"tin nhắn {i}") for i in range(8)))
    assert await _version(workers[0]) == before + 8
    assert not any("Hệ thống đang bận" in r.text for r in chat.replies + other.replies)


async def _version(app: App) -> int:
    async with AsyncSession(app.db) as session:
        return int((await session.execute(select(Conversation.version))).scalar_one())


async def test_sqlite_locked_by_another_program_keeps_the_bot_responsive(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """An update waits for another program's write lock (a `sangkien` command, say) without
    holding up the event loop, and goes through once the lock is released."""
    app = build_app(make_settings(db_url), clock)
    other = sqlite3.connect(str(make_url(db_url).database), isolation_level=None)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        other.execute("BEGIN IMMEDIATE")
        chat = FakeChat(app.engine, user_id="waits-for-the-lock")
        sending = asyncio.create_task(chat.send("chào"))
        await asyncio.sleep(0.5)
        assert not sending.done()  # still waiting for the lock ...
        assert ticks >= 10  # ... while the loop goes on with everything else
        other.rollback()
        await sending
        assert "Tôi đồng ý" in chat.labels, chat.text
    finally:
        ticker.cancel()
        other.close()
        await app.close()


@pytest.mark.postgres
async def test_a_burst_of_chats_opens_no_connection_the_next_burst_must_open_again(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """Connections opened for a burst stay in the pool: the next burst reuses them. A
    connection opened and closed per burst costs its setup (and its prepared statements)
    in the middle of the busiest moments."""
    settings = make_settings(clean_postgres_url)
    app = build_app(settings, clock)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(app.db.sync_engine, "connect", count)
    try:
        for burst in range(2):
            chats = [FakeChat(app.engine, user_id=f"burst{burst}-{n}") for n in range(30)]
            await asyncio.gather(*(chat.send("chào") for chat in chats))
            assert all("Tôi đồng ý" in chat.labels for chat in chats)
            if burst == 0:
                after_first = opened
        assert 10 < after_first <= settings.db_pool_size  # the burst did need many at once
        assert opened == after_first  # and the second found them open
    finally:
        await app.close()
