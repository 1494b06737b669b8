"""Answers from the cached conversation state: committed in groups, never trusted when stale."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.engine import BUSY
from bot.store.committer import Profile, StateCommitter, StateWrite
from bot.store.models import Conversation, Person
from tests.conftest import running_app
from tests.fakechat import FakeChat
from tests.flow import fill_profile, login


@contextmanager
def statements(db: AsyncEngine) -> Iterator[list[str]]:
    """The SQL this engine sends while the block runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()).upper())

    event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", record)


async def stored(db: AsyncEngine, chat_id: str) -> tuple[dict[str, Any], int]:
    async with AsyncSession(db) as session:
        row = (
            await session.execute(
                select(Conversation.state, Conversation.version).where(
                    Conversation.chat_id == chat_id
                )
            )
        ).one()
    return dict(row.state), int(row.version)


async def test_a_plain_answer_reads_nothing_and_is_stored_before_the_reply(any_app: App) -> None:
    chat = FakeChat(any_app.engine, user_id="fast-1")
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    _, version = await stored(any_app.db, "fast-1")

    with statements(any_app.db) as sent:
        await chat.send("Trần Văn Bình")
    assert "Năm sinh" in chat.text
    assert not [s for s in sent if s.startswith("SELECT")], sent
    assert len([s for s in sent if s.startswith("UPDATE CONVERSATION")]) == 1
    state, now_version = await stored(any_app.db, "fast-1")
    assert state["draft"]["author_name"] == "Trần Văn Bình" and now_version == version + 1

    with statements(any_app.db) as sent:
        await chat.send("1990")
    assert "Chức vụ" in chat.text and not [s for s in sent if s.startswith("SELECT")]
    state, _ = await stored(any_app.db, "fast-1")
    assert state["draft"]["birth_year"] == 1990 and state["step"] == "position"


async def test_a_chat_moved_on_by_another_worker_is_redone_from_the_database(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with (
        running_app(make_settings(any_db_url), clock) as first,
        running_app(make_settings(any_db_url), clock) as second,
    ):
        await _moved_on_elsewhere(first, second)


async def _moved_on_elsewhere(first: App, second: App) -> None:
    on_first = FakeChat(first.engine, user_id="moving")
    on_second = FakeChat(second.engine, user_id="moving")
    await login(on_first)
    await on_first.click("Nộp sáng kiến mới")
    await on_first.send("Lê Thị Hoa")  # the first worker now caches the chat
    await on_second.send("1979")  # the second worker moves it on
    await on_second.send("Kỹ thuật viên")

    with statements(first.db) as sent:
        await on_first.send("Nhà máy nhiệt điện")  # answered from a stale copy at first
    assert "Đơn vị" in on_first.text or "đơn vị" in on_first.text, on_first.text
    assert any(s.startswith("SELECT") for s in sent)  # it was redone from the database
    state, _ = await stored(first.db, "moving")
    draft = state["draft"]
    assert (draft["author_name"], draft["birth_year"]) == ("Lê Thị Hoa", 1979)
    assert (draft["position"], draft["workplace"]) == ("Kỹ thuật viên", "Nhà máy nhiệt điện")
    replies = on_first.replies + on_second.replies
    assert not any(BUSY in reply.text for reply in replies)


async def test_a_stale_copy_is_not_trusted_by_an_update_that_needs_the_database(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with (
        running_app(make_settings(any_db_url), clock) as first,
        running_app(make_settings(any_db_url), clock) as second,
    ):
        on_first = FakeChat(first.engine, user_id="stale-careful")
        on_second = FakeChat(second.engine, user_id="stale-careful")
        await login(on_first)
        await on_first.click("Nộp sáng kiến mới")
        await on_first.send("Lê Thị Hoa")  # the first worker caches the chat
        await on_second.send("1979")  # the second moves it on

        await on_first.send("/dulieu")  # needs the database: starts from the stale copy
        assert "Họ và tên" in on_first.text and BUSY not in on_first.text
        state, _ = await stored(first.db, "stale-careful")
        assert state["draft"]["birth_year"] == 1979  # the second worker's answer is kept


async def test_group_commit_writes_winners_once_and_refuses_stale_versions(any_app: App) -> None:
    chats = [FakeChat(any_app.engine, user_id=f"batch-{i}") for i in range(3)]
    for index, chat in enumerate(chats):
        await login(chat, f"09128206{index:02d}")
    versions = [(await stored(any_app.db, f"batch-{i}"))[1] for i in range(3)]
    committer = StateCommitter(any_app.db)
    at = datetime.now().astimezone()

    people = [await person_of_phone(any_app.db, f"09128206{i:02d}") for i in range(3)]

    def write(index: int, version: int, mark: str) -> StateWrite:
        state = json.dumps({"step": "menu", "mark": mark})
        profile = Profile(people[index].id, full_name=mark)
        return StateWrite("fake", f"batch-{index}", version, state, at, profile)

    with statements(any_app.db) as sent:
        results = await asyncio.gather(
            committer.write(write(0, versions[0], "fresh")),
            committer.write(write(1, versions[1] - 1, "stale")),
            committer.write(write(2, versions[2], "first")),
            committer.write(write(2, versions[2], "second")),
        )
    assert results == [True, False, True, False]
    assert len([s for s in sent if s.startswith("UPDATE CONVERSATION")]) == 1
    marks = [(await stored(any_app.db, f"batch-{i}"))[0].get("mark") for i in range(3)]
    assert marks == ["fresh", None, "first"]
    assert (await stored(any_app.db, "batch-0"))[1] == versions[0] + 1
    names = [(await person_of_phone(any_app.db, f"09128206{i:02d}")).full_name for i in range(3)]
    assert names == ["fresh", None, "first"]  # a profile is saved only with a winning state


async def person_of_phone(db: AsyncEngine, phone: str) -> Person:
    """The person who signed in with `phone` (typed as 09…, stored as +849…)."""
    stored_as = "+84" + phone[1:]
    async with AsyncSession(db) as session:
        query = select(Person).where(Person.phone == stored_as)
        return (await session.execute(query)).scalar_one()


async def test_saved_details_are_offered_and_saved_with_the_state_alone(any_app: App) -> None:
    chat = FakeChat(any_app.engine, user_id="profile-1")
    await login(chat, "0912820601")
    with statements(any_app.db) as sent:
        await chat.click("Nộp sáng kiến mới")  # is there a saved profile? the cache knows
    assert "Họ và tên" in chat.text and not [s for s in sent if s.startswith("SELECT")]
    await fill_profile(chat)
    assert "Đơn vị: " in chat.text
    person = await person_of_phone(any_app.db, "0912820601")
    assert (person.full_name, person.birth_year) == ("Phạm Thị Hoa", 1985)
    assert (person.workplace, person.unit_code) == ("Bệnh viện Đa khoa tỉnh Bắc Giang", "t24")

    await chat.send("/menu")
    await chat.click("Hủy bản nháp")
    await chat.click("Có, hủy bản nháp")
    with statements(any_app.db) as sent:
        await chat.click("Nộp sáng kiến mới")
    assert "Thông tin của bạn đã lưu" in chat.text and "Phạm Thị Hoa" in chat.text
    assert not [s for s in sent if s.startswith("SELECT")], sent


async def test_the_unit_answer_saves_the_profile_in_the_same_statement_batch(
    any_app: App,
) -> None:
    chat = FakeChat(any_app.engine, user_id="profile-2")
    await login(chat, "0912820602")
    await chat.click("Nộp sáng kiến mới")
    for answer in ("Đỗ Văn Nam", "1980", "Tổ trưởng", "Công ty Than", "bac giang"):
        await chat.send(answer)
    with statements(any_app.db) as sent:
        await chat.click("Chọn chính Bắc Giang")
    assert not [s for s in sent if s.startswith("SELECT")], sent
    assert len([s for s in sent if s.startswith("UPDATE PERSON")]) == 1
    assert (await person_of_phone(any_app.db, "0912820602")).full_name == "Đỗ Văn Nam"


async def test_details_corrected_in_a_linked_chat_are_not_offered_stale(any_app: App) -> None:
    telegram = FakeChat(any_app.engine, user_id="tg-stale", channel="telegram")
    zalo = FakeChat(any_app.engine, user_id="zl-stale", channel="zalo")
    await login(telegram, "0912820603")
    await telegram.click("Nộp sáng kiến mới")
    await fill_profile(telegram)
    await telegram.send("/menu")
    await telegram.click("Hủy bản nháp")
    await telegram.click("Có, hủy bản nháp")  # Telegram's cached copy: Phạm Thị Hoa
    await telegram.send("/lienket")
    code = telegram.text.split("Mã liên kết của bạn: ")[1][:6]
    await zalo.send("chào")
    await zalo.click("Tôi đồng ý")
    await zalo.send(f"/lienket {code}")
    await zalo.send("/dulieu")
    await zalo.click("Sửa họ và tên")
    await zalo.send("Nguyễn Thị Ngọc Hà")
    assert "Đã sửa" in zalo.text

    await telegram.click("Nộp sáng kiến mới")
    assert "Nguyễn Thị Ngọc Hà" in telegram.text and "Phạm Thị Hoa" not in telegram.text


async def test_without_a_cache_the_profile_is_saved_in_the_answers_transaction(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with running_app(make_settings(db_url, conversation_cache_size=0), clock) as app:
        chat = FakeChat(app.engine, user_id="profile-careful")
        await login(chat, "0912820604")
        await chat.click("Nộp sáng kiến mới")
        with statements(app.db) as sent:
            await fill_profile(chat)
        assert len([s for s in sent if s.startswith("UPDATE CONVERSATION")]) == 6
        person = await person_of_phone(app.db, "0912820604")
        assert (person.full_name, person.unit_code) == ("Phạm Thị Hoa", "t24")


async def test_a_small_cache_still_answers_every_chat(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with running_app(make_settings(db_url, conversation_cache_size=1), clock) as app:
        chats = [FakeChat(app.engine, user_id=f"small-{i}") for i in range(3)]
        for index, chat in enumerate(chats):
            await login(chat, f"09128207{index:02d}")
            await chat.click("Nộp sáng kiến mới")
        for chat in chats:
            await chat.send("Phạm Minh Đức")
        for chat in chats:
            await chat.send("1992")
            assert "Chức vụ" in chat.text
        assert app.engine.cached_chats == 1
