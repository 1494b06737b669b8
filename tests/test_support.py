"""Support inside the chat: FAQ first, then a ticket relayed to helpers on their own channel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.clock import FixedClock
from bot.dialogs.types import Reply
from bot.jobs import escalate_once
from bot.outbox import OutboxDeliverer
from bot.store.models import AuditLog, Outbox, SupportTicket
from tests.fakechat import FakeChat
from tests.flow import fill_profile, grant_role, login


async def outbox_texts(app: App, chat_id: str) -> list[str]:
    async with AsyncSession(app.db) as session:
        rows = (await session.execute(select(Outbox).where(Outbox.chat_id == chat_id))).scalars()
        return [row.payload["text"] for row in rows]


async def helper(app: App, clock: FixedClock, unit: str, phone: str, user: str) -> FakeChat:
    chat = FakeChat(app.engine, user_id=user, channel="telegram")
    await login(chat, phone)
    await grant_role(app, clock, chat, "helper", unit)
    return chat


async def asker_in_draft(app: App) -> FakeChat:
    asker = FakeChat(app.engine, user_id="zalo-asker", channel="zalo")
    await login(asker)
    await asker.click("Nộp sáng kiến mới")
    await fill_profile(asker)
    await asker.click("Cán bộ công đoàn")
    await asker.send("Sáng kiến sổ tay điện tử")
    return asker


async def test_faq_then_helper_relay_and_back_to_the_draft(app: App, clock: FixedClock) -> None:
    bac_giang = await helper(app, clock, "t24", "0987 111 222", "tg-helper")
    asker = await asker_in_draft(app)
    assert "loại giải pháp" in asker.text
    await asker.send("/hotro")
    await asker.send("mo ta duoc viet bao nhieu chu")
    assert "Tối đa 2.000 ký tự" in asker.text  # answered from the FAQ, no human asked
    assert await outbox_texts(app, "tg-helper") == []
    await asker.click("Hỏi tư vấn viên")
    assert "số phiếu HT-000001" in asker.text
    [notice] = await outbox_texts(app, "tg-helper")
    assert "HT-000001" in notice and "Bắc Giang" in notice
    assert "bản nháp “Sáng kiến sổ tay điện tử”" in notice

    await bac_giang.send("/ve")
    assert "HT-000001 · chờ" in bac_giang.text
    await bac_giang.send("/tl HT-000001 Phần mô tả tối đa 2000 ký tự, bạn có thể dán từ Word.")
    assert "Đã gửi câu trả lời cho phiếu HT-000001" in bac_giang.text
    [answer] = await outbox_texts(app, "zalo-asker")
    assert "Phần mô tả tối đa 2000 ký tự" in answer

    await asker.send("Vậy có cần đóng dấu không?")
    assert "Đã chuyển tin nhắn tới tổ hỗ trợ (phiếu HT-000001)" in asker.text
    assert "Vậy có cần đóng dấu không?" in (await outbox_texts(app, "tg-helper"))[-1]
    await bac_giang.send("/dong HT-000001")
    assert "đã được đóng" in (await outbox_texts(app, "zalo-asker"))[-1]
    await asker.click("Quay lại")
    assert "loại giải pháp" in asker.text  # the draft is where it was
    await asker.click("Giải pháp quản lý")
    assert "Ngày bắt đầu" in asker.text

    async with AsyncSession(app.db) as session:
        ticket = (await session.execute(select(SupportTicket))).scalar_one()
    assert ticket.first_reply_at is not None and ticket.closed_at is not None


async def test_telegram_reply_to_the_notification_answers_the_ticket(
    app: App, clock: FixedClock
) -> None:
    await helper(app, clock, "t24", "0987 111 333", "tg-helper-2")
    asker = await asker_in_draft(app)
    await asker.send("/hotro")
    await asker.send("Làm sao để đổi đơn vị đã chọn?")
    assert "HT-000001" in asker.text
    delivered: list[tuple[str, str]] = []

    async def telegram(chat_id: str, reply: Reply) -> list[str]:
        delivered.append((chat_id, reply.text))
        return ["9001"]

    sent = await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush()
    assert sent == 1 and delivered[0][0] == "tg-helper-2"
    group_reply = FakeChat(app.engine, user_id="tg-helper-2", channel="telegram")
    await group_reply.deliver(
        group_reply._inbound(text="Bạn chọn Sửa thông tin ở thẻ tóm tắt.", reply_to="9001")
    )
    assert "Đã gửi câu trả lời cho phiếu HT-000001" in group_reply.text
    assert "Sửa thông tin ở thẻ tóm tắt" in (await outbox_texts(app, "zalo-asker"))[-1]


async def test_unanswered_tickets_climb_to_the_unit_above(app: App, clock: FixedClock) -> None:
    await helper(app, clock, "t24.hiep_hoa", "0987 000 001", "district")
    await helper(app, clock, "t24", "0987 000 002", "province")
    await helper(app, clock, "*", "0987 000 003", "national")
    asker = FakeChat(app.engine, user_id="w-hh", channel="zalo")
    await login(asker)
    await asker.click("Nộp sáng kiến mới")
    for answer in ["Đỗ Văn Nam", "1979", "Công nhân", "Nhà máy A", "hiep hoa"]:
        await asker.send(answer)
    await asker.send("/hotro")
    await asker.send("Tôi không nhớ số quyết định công nhận thì làm thế nào?")
    assert len(await outbox_texts(app, "district")) == 1
    assert await outbox_texts(app, "province") == []
    assert await escalate_once(app) == 0
    clock.set(clock.now() + timedelta(minutes=241))
    assert await escalate_once(app) == 1
    assert "chuyển lên cấp trên" in (await outbox_texts(app, "province"))[-1]
    assert await outbox_texts(app, "national") == []
    clock.set(clock.now() + timedelta(minutes=241))
    assert await escalate_once(app) == 1
    assert "HT-000001" in (await outbox_texts(app, "national"))[-1]
    assert await escalate_once(app) == 0  # at the top it stays


async def test_helpers_are_confined_to_their_subtree(app: App, clock: FixedClock) -> None:
    thai_binh = await helper(app, clock, "t34", "0987 444 555", "tb-helper")
    asker = await asker_in_draft(app)  # a Bắc Giang worker
    await asker.send("/hotro")
    await asker.send("Câu hỏi riêng của Bắc Giang về biểu mẫu")
    for command in [
        "/tl HT-000001 trả lời lạc chỗ",
        "/dong HT-000001",
        "/nhan 1",
        "/tl HT-999999 không có",
        "/tl abc xyz",
    ]:
        await thai_binh.send(command)
        assert "ngoài phạm vi" in thai_binh.text, command
    await thai_binh.send("/ve")
    assert "Không có câu hỏi nào" in thai_binh.text
    worker = FakeChat(app.engine, user_id="plain-worker")
    await login(worker, "0912 111 999")
    await worker.send("/tl HT-000001 tôi trả lời hộ")
    assert "dành cho tổ hỗ trợ" in worker.text
    assert await outbox_texts(app, "zalo-asker") == []
    async with AsyncSession(app.db) as session:
        denied = list(
            (
                await session.execute(select(AuditLog).where(AuditLog.action == "access.denied"))
            ).scalars()
        )
    assert len(denied) == 6


async def test_blocked_askers_are_not_relayed(app: App, clock: FixedClock) -> None:
    bac_giang = await helper(app, clock, "t24", "0987 111 222", "tg-helper")
    asker = await asker_in_draft(app)
    await asker.send("/hotro")
    await asker.send("Nội dung quấy rối lần một")
    await bac_giang.send("/chan HT-000001")
    assert "Đã chặn" in bac_giang.text
    before = len(await outbox_texts(app, "tg-helper"))
    await asker.send("/hotro")
    await asker.send("Nội dung quấy rối lần hai")
    assert "không được chuyển tới tổ hỗ trợ" in asker.text
    assert len(await outbox_texts(app, "tg-helper")) == before


async def test_canned_replies(app: App, clock: FixedClock) -> None:
    bac_giang = await helper(app, clock, "t24", "0987 111 222", "tg-helper")
    asker = await asker_in_draft(app)
    await asker.send("/hotro")
    await asker.send("Tệp của tôi 30 MB thì gửi thế nào?")
    await bac_giang.send("/mau")
    assert "#4." in bac_giang.text
    await bac_giang.send("/tl HT-000001 #4")
    assert "Google Drive" in (await outbox_texts(app, "zalo-asker"))[-1]
    await bac_giang.send("/tl HT-000001 #9")
    assert "Không có mẫu số 9" in bac_giang.text


async def test_a_question_with_no_helper_reaches_the_nearest_admin_or_says_so(
    app: App, clock: FixedClock
) -> None:
    asker = FakeChat(app.engine, user_id="zalo-asker", channel="zalo")
    await login(asker)
    await asker.send("/hotro")
    await asker.send("hạn cuối gửi là khi nào")
    assert "trước 24h00 ngày 31/5/2022" in asker.text  # the FAQ knows the deadlines
    await asker.click("Hỏi tư vấn viên")
    assert "Hiện chưa có người trực hỗ trợ" in asker.text and "HT-000001" in asker.text
    assert "sẽ đến ngay" not in asker.text  # no promise nobody can keep

    admin_chat = FakeChat(app.engine, user_id="tg-admin", channel="telegram")
    await login(admin_chat, "0987 000 999")
    await grant_role(app, clock, admin_chat, "admin", "*")
    other = FakeChat(app.engine, user_id="zalo-asker-2", channel="zalo")
    await login(other, "0912 000 222")
    await other.send("/hotro")
    await other.click("Hỏi tư vấn viên")
    await other.send("Tôi không tìm thấy đơn vị của mình")
    assert "Đã gửi câu hỏi tới tổ hỗ trợ, số phiếu HT-000002" in other.text
    [notice] = await outbox_texts(app, "tg-admin")
    assert "HT-000002" in notice and "Tôi không tìm thấy đơn vị" in notice
    await admin_chat.send("/tl HT-000002 Bạn chọn chính đơn vị cấp tỉnh nhé.")
    assert "Bạn chọn chính đơn vị cấp tỉnh" in (await outbox_texts(app, "zalo-asker-2"))[-1]
