"""Reaching people: an officer's announcement reaches everyone in scope once, on the chat they
used last, and not those who turned announcements off; the outbox keeps Telegram's limits,
survives a 429 storm without losing or repeating a message, gives up only after a day, and
does not repeat a send that was in doubt when the process stopped."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram import TelegramChannel, make_bot
from bot.clock import FixedClock
from bot.dialogs.types import Reply
from bot.outbox import ANNOUNCEMENT, ANSWER, REMINDER, Limits, OutboxDeliverer, Pacer
from bot.reach.delivery import outbox_status
from bot.reach.reminders import remind_people
from bot.review import NEEDS_INFO, change_status
from bot.store.models import AuditLog, ChannelIdentity, Consent, Outbox, Person, Submission
from bot.store.uow import UnitOfWork
from rules.campaigns import TZ
from tests.fake_telegram import FakeTelegram
from tests.fakechat import FakeChat
from tests.flow import (
    PDF_BYTES,
    deliver_on_telegram,
    fill_profile,
    grant_role,
    login,
    submit_new,
)

ANNOUNCED = "Hạn nộp sáng kiến đợt 1 là thứ Sáu 25/3. Đề nghị các công đoàn cơ sở nhắc đoàn viên."


async def _member(app: App, user_id: str, channel: str = "telegram") -> FakeChat:
    """Signed in, with a profile in Bắc Giang (t24)."""
    chat = FakeChat(app.engine, user_id=user_id, channel=channel)
    await login(chat, f"0912 000 {user_id[-3:]}")
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.send("/menu")
    return chat


async def _deliver_all(app: App, clock: FixedClock) -> list[tuple[str, str, str]]:
    delivered: list[tuple[str, str, str]] = []

    def sender(channel: str):  # type: ignore[no-untyped-def]
        async def send(chat_id: str, reply: Reply) -> None:
            delivered.append((channel, chat_id, reply.text))

        return send

    deliverer = OutboxDeliverer(
        app.sessions, clock, {name: sender(name) for name in ("telegram", "zalo")}
    )
    while await deliverer.flush():
        clock.set(clock.now() + timedelta(seconds=5))
    return delivered


async def test_an_announcement_reaches_everyone_in_scope_once(app: App, clock: FixedClock) -> None:
    both = await _member(app, "101")  # on Telegram, then links Zalo and uses it last
    await both.send("/lienket")
    code = both.text.split("/lienket ", 1)[1].split()[0].strip(".")
    on_zalo = FakeChat(app.engine, user_id="z-101", channel="zalo")
    await on_zalo.send("chào")
    await on_zalo.click("Tôi đồng ý")
    await on_zalo.send(f"/lienket {code}")
    assert "Đã liên kết" in on_zalo.text, on_zalo.text
    await _member(app, "102")
    quiet = await _member(app, "103")
    await quiet.send("/tatthongbao")
    assert "Đã tắt thông báo và nhắc việc" in quiet.text
    elsewhere = FakeChat(app.engine, user_id="104", channel="telegram")
    await login(elsewhere, "0912 000 104")  # no unit given: not in Bắc Giang's scope

    boss = FakeChat(app.engine, user_id="900", channel="telegram")
    await login(boss, "0912 000 900")
    await boss.send(f"/thongbao {ANNOUNCED}")
    assert "dành cho cán bộ công đoàn được phân quyền" in boss.text
    await grant_role(app, clock, boss, "officer", "t24")
    far = FakeChat(app.engine, user_id="901", channel="telegram")
    await login(far, "0912 000 901")
    await grant_role(app, clock, far, "officer", "t34")  # nobody there has talked to the bot
    await far.send(f"/thongbao {ANNOUNCED}")
    assert "Chưa có đoàn viên nào thuộc đơn vị bạn phụ trách nhận được thông báo" in far.text
    await boss.send("/thongbao")
    assert "Bạn chưa gửi thông báo nào." in boss.text
    await boss.send("/thongbao " + "Rất dài. " * 250)
    assert "tối đa 1800 ký tự" in boss.text
    await boss.send(f"/thongbao {ANNOUNCED}")
    assert "Thông báo sẽ gửi đến 2 người" in boss.text
    assert "📢 Thông báo của Liên đoàn Lao động tỉnh Bắc Giang:" in boss.text
    await boss.click("Không, chưa gửi")
    assert "Chưa gửi thông báo." in boss.text
    await boss.send(f"/thongbao {ANNOUNCED}")
    await boss.click("Có, gửi thông báo")
    assert "Đã xếp gửi thông báo số 1 đến 2 người" in boss.text

    delivered = await _deliver_all(app, clock)
    assert sorted((channel, chat) for channel, chat, _ in delivered) == [
        ("telegram", "102"),
        ("zalo", "z-101"),
    ]
    assert all(ANNOUNCED in text and "/tatthongbao" in text for _, _, text in delivered)
    await boss.send("/thongbao")
    assert "Thông báo số 1 (01/03 09:00), xong: đã gửi 2/2, chờ 0" in boss.text  # Vietnam time

    await quiet.send("/batthongbao")
    assert "Đã bật lại thông báo" in quiet.text
    await boss.send("/thongbao Họp giao ban sáng kiến chiều thứ Hai.")
    assert "sẽ gửi đến 3 người" in boss.text
    await boss.click("Có, gửi thông báo")
    await boss.send("/thongbao hủy 2")
    assert "Đã dừng thông báo số 2: 3 tin chưa gửi sẽ không gửi nữa." in boss.text
    await boss.send("/thongbao hủy 1")
    assert "0 tin chưa gửi" in boss.text
    await boss.send("/thongbao hủy 7")
    assert "Không có thông báo số 7 do bạn gửi." in boss.text
    assert await _deliver_all(app, clock) == []
    async with app.sessions() as session:
        audited = set(await session.scalars(select(AuditLog.action)))
    assert {"broadcast.created", "broadcast.cancelled", "announcements.off"} <= audited


async def test_the_pace_keeps_to_the_bot_and_the_chat_limits() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(Limits(per_second=25.0, per_chat_seconds=1.0), lambda: now[0], sleep)
    taken = []
    for _ in range(50):
        await pacer.take_turn()
        taken.append(now[0])
    assert taken[0] == 0.0 and taken[-1] == pytest.approx(49 / 25)
    assert max(Counter(int(t) for t in taken).values()) <= 25  # no second holds more than 25
    # a chat: one a second; a second message to it in the same batch waits its turn
    assert pacer.reserve_chat("7", longest=2.0) == 0.0
    assert pacer.reserve_chat("7", longest=2.0) == pytest.approx(1.0)
    assert pacer.reserve_chat("7", longest=0.5) == pytest.approx(2.0)  # too far: not reserved
    assert pacer.reserve_chat("7", longest=2.0) == pytest.approx(2.0)
    # answers sent directly meanwhile take their share: the queued ones wait for them
    for chat in range(100, 110):
        pacer.note_direct(str(chat))
    await pacer.take_turn()
    assert now[0] == pytest.approx(60 / 25)
    assert pacer.reserve_chat("100", longest=2.0) == pytest.approx(0.56)  # told at 1.96
    await pacer.take_turn(calls=2)  # a text and its file: two places
    await pacer.take_turn()
    assert now[0] == pytest.approx(63 / 25)
    for chat in range(1000, 1100):  # answers past the budget: the queue waits a second, no more
        pacer.note_direct(str(chat))
    began = now[0]
    await pacer.take_turn()
    assert now[0] == pytest.approx(began + 1.0)


async def _people_on_telegram(app: App, clock: FixedClock, count: int) -> None:
    """Members with a consented Telegram chat in Bắc Giang, made in the database."""
    now = clock.now()
    async with app.sessions() as session, session.begin():
        for n in range(count):
            person = Person(unit_code="t24", created_at=now, updated_at=now)
            session.add(person)
            await session.flush()
            identity = ChannelIdentity(
                channel="telegram", external_id=str(7000 + n), person_id=person.id, created_at=now
            )
            session.add(identity)
            await session.flush()
            session.add(
                Consent(
                    identity_id=identity.id,
                    text_version="test",
                    text_sha256="0" * 64,
                    accepted_at=now,
                )
            )


async def _admin(app: App, clock: FixedClock) -> FakeChat:
    """A whole-country admin on Telegram (chat 9000)."""
    admin = FakeChat(app.engine, user_id="9000", channel="telegram")
    await login(admin, "0912 000 999")
    await grant_role(app, clock, admin, "admin", "*")
    return admin


async def _queue(
    app: App, clock: FixedClock, chat_id: str, text: str, priority: int, **row: object
) -> None:
    """A message to a Telegram chat, queued as the bot queues them."""
    async with app.sessions() as session, session.begin():
        session.add(
            Outbox(
                channel="telegram",
                chat_id=chat_id,
                payload={"text": text},
                created_at=clock.now(),
                attempts=0,
                priority=priority,
                **row,
            )
        )


@pytest.fixture
async def limited_telegram() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(per_second=30, per_chat_seconds=1.0)
    await server.start()
    yield server
    await server.stop()


async def test_a_429_storm_on_telegram_loses_nothing_and_repeats_nothing(
    app: App, clock: FixedClock, limited_telegram: FakeTelegram
) -> None:
    server = limited_telegram
    await _people_on_telegram(app, clock, 40)
    admin = await _admin(app, clock)
    await admin.send(f"/thongbao {ANNOUNCED}")
    assert "sẽ gửi đến 41 người" in admin.text  # the admin, in the whole country, too
    await admin.click("Có, gửi thông báo")
    # an answer queued after the announcement still goes first
    await _queue(app, clock, "9000", "Trả lời của tổ hỗ trợ", ANSWER)
    bot = make_bot(server.token, server.base_url)
    channel = TelegramChannel(app.engine, bot, 20 << 20)
    deliverer = OutboxDeliverer(app.sessions, clock, {"telegram": channel.send_queued})
    try:
        rounds = 0
        while rounds < 20:
            await deliverer.flush(limit=10)
            if rounds == 0:
                server.fail_next("sendMessage", 429, retry_after=3, times=15)  # the storm
            rounds += 1
            async with app.sessions() as session:
                left = await session.scalar(
                    select(func.count()).where(Outbox.sent_at.is_(None), Outbox.dead_at.is_(None))
                )
            if not left:
                break
            clock.set(clock.now() + timedelta(seconds=3))
    finally:
        await bot.session.close()
    sent = [a for a in server.actions if a.method == "sendMessage"]
    assert sent[0].chat_id == 9000  # the answer before the announcement
    per_chat = Counter(a.chat_id for a in sent)
    assert per_chat.pop(9000) == 2  # the answer and the announcement
    assert len(per_chat) == 40 and set(per_chat.values()) == {1}  # each once, none lost
    assert server.too_many == 0  # the bot kept within the limits the fake enforces
    async with app.sessions() as session:
        rows = (await session.scalars(select(Outbox))).all()
        assert all(r.sent_at is not None and r.dead_at is None for r in rows)
        assert sum(r.attempts for r in rows) == 15  # each 429 counted, then sent
        assert {r.priority for r in rows} == {ANSWER, ANNOUNCEMENT}


async def test_a_message_is_given_up_after_a_day_and_listed(app: App, clock: FixedClock) -> None:
    start = clock.now()
    await _queue(app, clock, "555123", "Kết quả xét sáng kiến", ANSWER)

    async def down(chat_id: str, reply: Reply) -> None:
        raise ConnectionError("down")

    # no pace: the test's clock jumps a quarter of an hour between rounds
    deliverer = OutboxDeliverer(
        app.sessions, clock, {"telegram": down}, pacers={"telegram": Pacer(Limits(1000.0, 0.0))}
    )
    tries = 0
    while clock.now() - start < timedelta(hours=25):
        await deliverer.flush()
        tries += 1
        clock.set(clock.now() + timedelta(minutes=15))
    async with app.sessions() as session:
        [row] = (await session.scalars(select(Outbox))).all()
        status = await outbox_status(session, clock.now())
    assert row.dead_at is not None and row.sent_at is None
    assert row.dead_at - start <= timedelta(hours=24, minutes=15)
    assert 10 < row.attempts < tries  # backed off: not every round
    assert deliverer.dead_letters == 1
    assert "Đã bỏ (không gửi được): 1" in status
    assert "telegram …123" in status and "555123" not in status  # the chat masked
    assert "ConnectionError" in status


async def test_a_send_in_doubt_at_a_crash_is_not_repeated(app: App, clock: FixedClock) -> None:
    """The process stopped after marking a message as being sent: it may have arrived, so
    it is listed as given up, never sent twice."""
    # claimed by a process that then died
    await _queue(app, clock, "555777", "Thông báo", ANNOUNCEMENT, sending_at=clock.now())
    delivered: list[str] = []

    async def telegram(chat_id: str, reply: Reply) -> None:
        delivered.append(chat_id)

    clock.set(clock.now() + timedelta(minutes=5))
    assert await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush() == 0
    clock.set(clock.now() + timedelta(minutes=10))
    assert await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush() == 0
    assert delivered == []
    async with app.sessions() as session:
        [row] = (await session.scalars(select(Outbox))).all()
    assert row.dead_at is not None and "không rõ đã gửi" in (row.last_error or "")


async def _queued(app: App) -> list[tuple[str, str]]:
    async with app.sessions() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    return [(row.chat_id, str(row.payload["text"])) for row in rows if row.priority == REMINDER]


async def _remind(app: App, clock: FixedClock, at: datetime) -> int:
    clock.set(at)
    async with UnitOfWork(app.sessions) as uow:
        told = await remind_people(uow, app.engine.services.campaign, clock.now())
        await uow.commit()
    return told


async def test_reminders_fire_on_time_once_and_never_at_night(app: App, clock: FixedClock) -> None:
    """A draft left 48 hours; a “cần bổ sung” left 3 days; a phase closing in 7 days."""
    start = clock.now()  # 01/03/2022 09:00; phase 1 takes filings until 31/05/2022
    drafting = FakeChat(app.engine, user_id="301", channel="telegram")
    await login(drafting, "0912 000 301")
    await drafting.click("Nộp sáng kiến mới")
    await fill_profile(drafting)
    await drafting.click("Công nhân lao động")
    await drafting.send("Máy cắt ống tự động")
    resting = FakeChat(app.engine, user_id="302", channel="zalo")
    await login(resting, "0912 000 302")
    await resting.click("Nộp sáng kiến mới")
    await resting.send("/tatthongbao")
    author = FakeChat(app.engine, user_id="303", channel="zalo")
    await login(author, "0912 000 303")
    await submit_new(author, "Sổ tay an toàn điện tử")
    async with UnitOfWork(app.sessions) as uow:
        [item] = (await uow.session.scalars(select(Submission))).all()
        services = app.engine.services
        await change_status(
            uow, services.catalog, item, NEEDS_INFO, "Bổ sung quyết định công nhận", None, start
        )
        await uow.commit()
    base = len(await _queued(app))

    assert await _remind(app, clock, start + timedelta(hours=47)) == 0
    assert await _remind(app, clock, start + timedelta(hours=48, minutes=5)) == 1
    assert await _remind(app, clock, start + timedelta(hours=49)) == 0  # once
    [(chat, text)] = (await _queued(app))[base:]
    assert chat == "301" and "“Máy cắt ống tự động” chưa gửi. Gửi /tieptuc" in text
    assert "/tatthongbao" in text
    at_night = datetime(2022, 3, 4, 22, 30, tzinfo=TZ)  # 3 days and 13 hours on
    assert await _remind(app, clock, at_night) == 0
    assert await _remind(app, clock, datetime(2022, 3, 4, 7, 0, tzinfo=TZ)) == 0  # not yet 3 days
    assert await _remind(app, clock, datetime(2022, 3, 5, 7, 0, tzinfo=TZ)) == 1
    chat, text = (await _queued(app))[-1]
    assert chat == "303" and "SK-2022-000001 “Sổ tay an toàn điện tử” đang chờ bạn bổ sung" in text
    assert await _remind(app, clock, datetime(2022, 5, 24, 10, 0, tzinfo=TZ)) == 1
    chat, text = (await _queued(app))[-1]
    assert chat == "301" and "nhận sáng kiến đến hết ngày 31/05/2022: còn 7 ngày" in text
    assert await _remind(app, clock, datetime(2022, 5, 24, 16, 0, tzinfo=TZ)) == 0
    assert await _remind(app, clock, datetime(2022, 5, 30, 8, 0, tzinfo=TZ)) == 1  # 1 day
    assert all(chat != "302" for chat, _ in await _queued(app))  # turned them off


async def test_an_announcement_with_a_file_goes_as_one_message_uploaded_once(
    app: App, clock: FixedClock, limited_telegram: FakeTelegram
) -> None:
    server = limited_telegram
    await _people_on_telegram(app, clock, 12)
    admin = await _admin(app, clock)
    await admin.send(f"/thongbao {ANNOUNCED}")
    assert "Muốn gửi kèm một tệp (PDF, Word (DOC, DOCX) hoặc ảnh (JPG, PNG))" in admin.text
    await admin.send_file(b"MZ\x90\x00 not a document", "ke-hoach.exe")
    assert "Loại tệp này không được nhận" in admin.text
    plan = PDF_BYTES + b"% ke hoach thi dua\n"
    await admin.send_file(plan, "Kế hoạch 2022.pdf")
    assert "Đã nhận tệp" in admin.text and "Tệp gửi kèm:" in admin.text, admin.text
    assert ANNOUNCED in admin.text  # the text given first is kept
    await admin.click("Có, gửi thông báo")
    assert "Đã xếp gửi thông báo số 1 đến 13 người" in admin.text

    await deliver_on_telegram(app, server)
    documents = [a for a in server.actions if a.method == "sendDocument"]
    assert len(documents) == 13 and len({a.chat_id for a in documents}) == 13
    assert all(ANNOUNCED in a.text and a.file_name for a in documents)  # the text: caption
    assert not [a for a in server.actions if a.method == "sendMessage"]
    assert server.uploaded_bytes == len(plan)  # uploaded once, then sent by Telegram's id
    assert server.too_many == 0
