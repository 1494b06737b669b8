"""Walks a worker through the conversation the way a person would."""

from __future__ import annotations

from bot import admin
from bot.app import App
from bot.clock import Clock
from tests.fake_telegram import FakeTelegram
from tests.fakechat import FakeChat

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DESCRIPTION = (
    "Trước đây hồ sơ được tiếp nhận thủ công, mất nhiều thời gian. Giải pháp: số hóa biểu mẫu "
    "và tra cứu trên điện thoại, giảm một nửa thời gian xử lý."
)


async def login(chat: FakeChat, phone: str = "0901.234.567") -> None:
    await chat.send("chào")
    assert "Tôi đồng ý" in chat.labels
    await chat.click("Tôi đồng ý")
    await chat.send(phone)
    assert "Đăng nhập thành công" in chat.text, chat.text


async def fill_profile(chat: FakeChat, name: str = "phạm thị hoa") -> None:
    await chat.send(name)
    await chat.send("1985")
    await chat.send("Chuyên viên")
    await chat.send("Bệnh viện Đa khoa tỉnh Bắc Giang")
    await chat.send("bac giang")
    await chat.click("Chọn chính Bắc Giang")


async def fill_initiative(
    chat: FakeChat,
    title: str = "Số hóa quy trình tiếp nhận hồ sơ",
    description: str = DESCRIPTION,
    attachment: tuple[bytes, str] = (PDF_BYTES, "quyet-dinh.pdf"),
) -> None:
    await fill_until_attachments(chat, title, description)
    await chat.send_file(*attachment)
    await chat.send("https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUv/view?usp=sharing")
    await chat.send("xong")
    await chat.click("Không")
    await chat.click("Không")
    assert "TÓM TẮT SÁNG KIẾN" in chat.text, chat.text


async def fill_until_attachments(
    chat: FakeChat,
    title: str = "Số hóa quy trình tiếp nhận hồ sơ",
    description: str = DESCRIPTION,
) -> None:
    """From the target group to the attachments step."""
    await chat.click("Cán bộ, viên chức, người lao động các đơn vị sự nghiệp")
    await chat.send(title)
    await chat.click("Giải pháp quản lý")
    await chat.send("01/10/2021")
    await chat.send("2022-02-28")
    await chat.send(description)
    await chat.send("150 triệu")
    await chat.send("Giảm thời gian chờ của người bệnh")
    await chat.send("Áp dụng tại đơn vị, có thể nhân rộng toàn ngành")
    await chat.send("Hội đồng sáng kiến Bệnh viện Đa khoa tỉnh Bắc Giang")
    await chat.send("125/QĐ-BV")
    await chat.send("15/02/2022")
    await chat.send("Chiến sĩ thi đua cơ sở năm 2021")
    assert "tài liệu kèm theo" in chat.text, chat.text


async def draft_at_review(chat: FakeChat) -> None:
    """A new person's whole draft, up to the review card."""
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await fill_initiative(chat)


async def submit_new(
    chat: FakeChat,
    title: str = "Số hóa quy trình tiếp nhận hồ sơ",
    description: str = DESCRIPTION,
) -> str:
    """From the main menu to a filed submission; returns the confirmation text."""
    await chat.send("/menu")
    await chat.click("Nộp sáng kiến mới")
    if "Dùng thông tin này" in chat.labels:
        await chat.click("Dùng thông tin này")
    else:
        await fill_profile(chat)
    await fill_initiative(chat, title, description)
    await chat.click("Gửi sáng kiến")
    return chat.text


async def grant_role(app: App, clock: Clock, chat: FakeChat, role: str, unit: str) -> str:
    """The operator issues a claim code (`sangkien grant`) and the person redeems it in
    their chat; returns the code."""
    issued = await admin.grant(app, clock, role, unit, None)
    code = claim_code_in(issued)
    await chat.send(f"/nhanquyen {code}")
    assert "Bạn đã nhận quyền" in chat.text, chat.text
    return code


def claim_code_in(text: str) -> str:
    return text.split("\n", 1)[0].rsplit(": ", 1)[1]


async def deliver_on_telegram(app: App, server: FakeTelegram) -> None:
    """What the outbox holds, sent through the real Telegram channel to the fake server until
    nothing more goes (the delivery loop of `serve`, round by round)."""
    from bot.channels.telegram import TelegramChannel, make_bot  # aiogram: only when used

    bot = make_bot(server.token, server.base_url)
    deliverer = app.outbox({"telegram": TelegramChannel(app.engine, bot, 20 << 20).send_queued})
    try:
        while await deliverer.flush():
            pass
    finally:
        await bot.session.close()
