"""The Telegram adapter: real update JSON through aiogram's dispatcher, outgoing calls recorded."""

from __future__ import annotations

import asyncio

from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetFile,
    SendMessage,
    SetMyCommands,
)
from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.dialogs.types import Inbound, Reply
from bot.store.models import Attachment, Person, Submission
from tests.flow import DESCRIPTION, PDF_BYTES, claim_code_in
from tests.telegram_harness import TelegramUser

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


async def login(user: TelegramUser) -> None:
    await user.send("/start")
    assert "Tôi đồng ý" in user.labels()
    await user.press("Tôi đồng ý")
    phone_prompt = user.last
    assert isinstance(phone_prompt, SendMessage)
    assert isinstance(phone_prompt.reply_markup, ReplyKeyboardMarkup)
    assert phone_prompt.reply_markup.keyboard[0][0].request_contact is True
    await user.share_contact("84901234567")
    assert "Đăng nhập thành công" in user.last.text


async def test_full_submission_with_buttons_contact_pdf_and_photo(app: App) -> None:
    user = TelegramUser(app.engine)
    await login(user)
    await user.press("Nộp sáng kiến mới")
    for text in ["Phạm Thị Hoa", "1985", "Chuyên viên", "Sở Y tế Bắc Giang", "bắc giang"]:
        await user.send(text)
    await user.press("Chọn chính Bắc Giang")
    assert isinstance(user.last, EditMessageText)  # the next screen replaces the pressed one
    # The long group names are written out, numbered; the buttons carry number and start.
    assert "4. Cán bộ, viên chức, người lao động các đơn vị sự nghiệp" in user.last.text
    await user.press("4. Cán bộ, viên chức, người lao động các…")
    await user.send("<b>Số hóa</b> hồ sơ & thủ tục")
    await user.press("Giải pháp quản lý")
    for text in ["01/10/2021", "28/02/2022", DESCRIPTION, "150 triệu"]:
        await user.send(text)
    await user.press("Bỏ qua")
    assert "ít nhất một lợi ích" not in user.last.text
    await user.send("Áp dụng tại đơn vị, có thể nhân rộng toàn ngành")
    for text in ["Hội đồng sáng kiến Sở Y tế", "125/QĐ-SYT", "15/02/2022", "không"]:
        await user.send(text)
    await user.send_document(PDF_BYTES, "quyet dinh.pdf")
    assert "Đã nhận: quyet dinh.pdf" in user.last.text
    await user.send_photo(JPEG_BYTES)
    assert "(2/10)" in user.last.text
    await user.press("Xong")
    await user.press("Không")
    await user.press("Không")
    assert "&lt;b&gt;Số hóa&lt;/b&gt; hồ sơ &amp; thủ tục" in user.last.text
    await user.press("Gửi sáng kiến")
    assert "SK-2022-000001" in user.last.text
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
        kinds = sorted((await session.execute(select(Attachment.mime))).scalars())
        person = (await session.execute(select(Person))).scalar_one()
    assert submission.channel == "telegram" and submission.title == "<b>Số hóa</b> hồ sơ & thủ tục"
    assert kinds == ["application/pdf", "image/jpeg"]
    assert person.phone == "+84901234567"
    assert all(a.callback_query_id for a in user.sent(AnswerCallbackQuery))


async def test_foreign_contact_is_refused(app: App) -> None:
    user = TelegramUser(app.engine)
    await user.send("/start")
    await user.press("Tôi đồng ý")
    await user.share_contact("+84987654321", owner=999)
    assert "không phải số điện thoại của chính bạn" in user.last.text
    await user.send("0901 234 567")
    assert "Đăng nhập thành công" in user.last.text


async def to_attachments(user: TelegramUser) -> None:
    await login(user)
    await user.press("Nộp sáng kiến mới")
    for text in ["Trần Văn An", "1980", "Kỹ sư", "Công ty X", "Hà Nội"]:
        await user.send(text)
    await user.press("Cán bộ công đoàn")
    await user.send("Giải pháp tiết kiệm điện")
    await user.press("Giải pháp kỹ thuật")
    for text in [
        "01/10/2021",
        "01/12/2021",
        "Mô tả",
        "10 triệu",
        "không",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Giám đốc",
        "1/QĐ",
        "01/12/2021",
        "không",
    ]:
        await user.send(text)


async def test_disguised_executable_oversize_and_unsupported(app: App) -> None:
    user = TelegramUser(app.engine)
    await to_attachments(user)
    await user.send_document(b"MZ\x90\x00\x03\x00\x00\x00 PE", "bao-cao.pdf")
    assert "Loại tệp này không được nhận" in user.last.text
    downloads = len(user.sent(GetFile))
    await user.send_document(b"%PDF-", "lon.pdf", size=25 * 1024 * 1024)
    assert "vượt giới hạn 20 MB" in user.last.text
    assert len(user.sent(GetFile)) == downloads  # refused before downloading
    await user.feed(
        user.message(
            sticker={
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        )
    )
    assert "Bot chỉ đọc được" in user.last.text


async def test_album_becomes_several_attachments(app: App) -> None:
    user = TelegramUser(app.engine)
    await to_attachments(user)
    for index in range(3):
        await user.send_photo(JPEG_BYTES + bytes([index]), group="album-1")
    assert "(3/10)" in user.last.text


async def test_stale_and_forged_callbacks(app: App) -> None:
    user = TelegramUser(app.engine)
    await login(user)
    message_id, markup = user.last_keyboard()
    stale = str(markup.inline_keyboard[0][0].callback_data)
    await user.press("Nộp sáng kiến mới")
    await user.send("Lê Thị Hoa")
    sent = len(user.screens)
    for data in [stale, "forged-123", "x" * 64]:
        await user.press_data(data, message_id)
        answer = user.sent(AnswerCallbackQuery)[-1]
        assert answer.text == "Nút đã cũ, không có tác dụng."
    assert len(user.screens) == sent + 3
    assert "Nút này đã cũ" in user.last.text
    await user.send("1990")
    assert "Chức vụ" in user.last.text


async def test_long_message_is_split_with_keyboard_on_the_last_part(app: App) -> None:
    user = TelegramUser(app.engine)
    await to_attachments(user)
    await user.press("Xong")
    await user.press("Không")
    await user.press("Không")
    await user.press("Sửa một mục")
    await user.press("Mô tả")
    await user.send("Đoạn mô tả. " * 166)
    await user.press("Sửa một mục")
    await user.press("Hiệu quả")
    await user.send("200 triệu")
    await user.send("Lợi ích xã hội rất lớn. " * 83)
    await user.send("Phạm vi ứng dụng rộng. " * 21)
    card = user.sent(SendMessage)[-2:]
    assert "TÓM TẮT SÁNG KIẾN" in card[0].text and card[0].reply_markup is None
    assert card[1].reply_markup is not None
    assert all(len(part.text.encode("utf-16-le")) // 2 <= 4096 for part in card)


async def test_duplicate_update_is_processed_once(app: App) -> None:
    user = TelegramUser(app.engine)
    await user.send("/start", update_id=5000)
    await user.send("/start", update_id=5000)
    assert len(user.sent(SendMessage)) == 1


async def test_retry_after_and_server_errors_are_retried_once_each(app: App) -> None:
    user = TelegramUser(app.engine)
    user.session.fail_next(
        SendMessage,
        TelegramRetryAfter(SendMessage(chat_id=1, text="x"), "Too Many Requests", retry_after=0),
    )
    user.session.fail_next(
        SendMessage, TelegramServerError(SendMessage(chat_id=1, text="x"), "Bad Gateway")
    )
    await user.send("/start")
    assert len(user.sent(SendMessage)) == 1
    assert "Tôi đồng ý" in user.labels()


async def test_message_not_modified_is_ignored(app: App) -> None:
    user = TelegramUser(app.engine)
    await user.send("/start")
    user.session.fail_next(
        EditMessageText,
        TelegramBadRequest(EditMessageText(text="x"), "Bad Request: message is not modified"),
    )
    await user.press("Không đồng ý")
    assert len(user.sent(SendMessage)) == 1  # nothing re-sent


async def test_commands_are_registered_in_vietnamese(app: App) -> None:
    user = TelegramUser(app.engine)
    await user.channel.register_commands()
    [call] = user.sent(SetMyCommands)
    commands = {c.command: c.description for c in call.commands}
    assert {"start", "menu", "huy", "tieptuc", "hotro"} <= set(commands)
    assert commands["huy"] == "Hủy bản nháp"


async def test_officer_files_arrive_as_photo_and_documents(app: App) -> None:
    from aiogram.methods import SendDocument, SendPhoto

    from bot import admin
    from bot.clock import SystemClock

    user = TelegramUser(app.engine, user_id=888)
    await login(user)
    issued = await admin.grant(app, SystemClock(), "officer", "t24", None)
    await user.send(f"/nhanquyen {claim_code_in(issued)}")
    await user.send("/bieudo")
    assert len(user.sent(SendPhoto)) == 1
    await user.send("/xuat")
    names = [d.document.filename for d in user.sent(SendDocument)]
    assert names == ["tong-hop-sang-kien.xlsx", "tong-hop-sang-kien.csv"]
    # they list phone numbers: once Telegram has them, no copy stays on this server
    assert list(app.engine.services.files.exports.iterdir()) == []


async def test_helpers_group_reply_answers_the_ticket(app: App) -> None:
    from sqlalchemy import select as sql_select

    from bot import admin
    from bot.clock import SystemClock
    from bot.outbox import OutboxDeliverer
    from bot.store.models import Outbox

    app.engine.services.helper_groups["*"] = "-100500"
    helper = TelegramUser(app.engine, user_id=901)
    await login(helper)
    issued = await admin.grant(app, SystemClock(), "helper", "*", None)
    await helper.send(f"/nhanquyen {claim_code_in(issued)}")
    asker = TelegramUser(app.engine, user_id=902)
    await asker.send("/start")
    await asker.press("Tôi đồng ý")
    await asker.send("0987 654 321")
    await asker.send("/hotro")
    await asker.send("Tôi không tìm thấy công ty của mình trong danh sách")
    group = {"id": -100500, "type": "supergroup", "title": "Tổ hỗ trợ"}
    outbox = OutboxDeliverer(app.sessions, SystemClock(), {"telegram": helper.channel.send})
    assert await outbox.flush() == 2  # the helper, and the helpers' group of the unit
    [notice] = [m for m in helper.sent() if str(m.chat_id) == "-100500"]
    await helper.feed(
        {
            "message": {
                "message_id": 77,
                "date": 0,
                "chat": group,
                "from": helper.user,
                "text": "Bạn chọn chính đơn vị cấp tỉnh nhé.",
                "reply_to_message": {
                    "message_id": 1000 + helper.sent().index(notice),
                    "date": 0,
                    "chat": group,
                    "text": notice.text,
                },
            }
        }
    )
    async with AsyncSession(app.db) as session:
        texts = [
            row.payload["text"]
            for row in (
                await session.execute(sql_select(Outbox).where(Outbox.chat_id == "902"))
            ).scalars()
        ]
    assert any("Bạn chọn chính đơn vị cấp tỉnh" in text for text in texts)
    assert helper.sent()[-1].text == "Đã gửi câu trả lời cho phiếu HT-000001."
    before = len(helper.sent())
    await helper.feed(
        {
            "message": {
                "message_id": 78,
                "date": 0,
                "chat": group,
                "from": helper.user,
                "text": "chào cả nhóm",
            }
        }
    )
    assert len(helper.sent()) == before  # plain group chatter gets no answer


async def test_a_timed_out_send_is_not_sent_twice(app: App) -> None:
    from aiogram.exceptions import TelegramNetworkError

    user = TelegramUser(app.engine)
    user.session.fail_next(
        SendMessage,
        TelegramNetworkError(SendMessage(chat_id=1, text="x"), "Request timeout error"),
    )
    await user.send("/start")
    assert user.sent(SendMessage) == []  # not retried: Telegram may have shown it already
    await user.send("/start")
    assert "Tôi đồng ý" in user.labels()  # the next message works


async def test_zip_bomb_named_docx_is_refused(app: App) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/media/huge.bin", b"\0" * (60 * 1024 * 1024))
    user = TelegramUser(app.engine)
    await to_attachments(user)
    await user.send_document(
        buffer.getvalue(),
        "bao-cao.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    assert "giải nén quá lớn" in user.last.text


async def test_chats_are_answered_one_update_at_a_time_and_their_locks_let_go(
    app: App,
) -> None:
    user = TelegramUser(app.engine)
    isolation = user.channel.isolation

    async def first_message(chat_id: int) -> None:
        user.user = {**user.user, "id": chat_id}
        user.chat = {**user.chat, "id": chat_id}
        await user.feed(user.message(text="chào"))

    chats = range(9000, 9050)
    await asyncio.gather(*(first_message(chat_id) for chat_id in chats))
    await asyncio.gather(user.send("/start"), user.send("/start"))  # two at once in one chat
    assert {int(m.chat_id) for m in user.sent(SendMessage)} == set(chats)
    assert len(user.sent(SendMessage)) == 52  # every update answered, none dropped
    assert isolation.chats == 0  # no lock kept for chats that have gone quiet
    assert len(user.channel.dispatcher.storage.storage) == 0  # nor aiogram FSM records


class _SlowEngine:
    """Answers after a pause and notes how many updates of each chat it has in hand."""

    def __init__(self) -> None:
        self.busy: dict[str, int] = {}
        self.most: dict[str, int] = {}

    async def handle(self, inbound: Inbound) -> list[Reply]:
        chat = inbound.chat_id
        self.busy[chat] = self.busy.get(chat, 0) + 1
        self.most[chat] = max(self.most.get(chat, 0), self.busy[chat])
        await asyncio.sleep(0.01)
        self.busy[chat] -= 1
        return [Reply(f"xong {inbound.text}")]


async def test_one_chat_waits_for_its_previous_update_other_chats_do_not() -> None:
    engine = _SlowEngine()
    user = TelegramUser(engine)  # type: ignore[arg-type]  # only handle() is used
    other = {"id": 4242, "type": "private", "first_name": "Minh"}
    minh = {"id": 4242, "is_bot": False, "first_name": "Minh"}
    updates = [user.message(text=f"tin {i}") for i in range(3)]
    updates.append(user.message(text="tin khác", chat=other, **{"from": minh}))
    await asyncio.gather(*(user.feed(update) for update in updates))
    assert engine.most == {"777": 1, "4242": 1}
    texts = [m.text for m in user.sent(SendMessage) if str(m.chat_id) == "777"]
    assert texts == ["xong tin 0", "xong tin 1", "xong tin 2"]  # in the order they came


async def test_a_failed_callback_answer_or_edit_still_shows_the_next_screen(app: App) -> None:
    user = TelegramUser(app.engine)
    await user.send("/start")
    user.session.fail_next(
        AnswerCallbackQuery,
        TelegramBadRequest(
            AnswerCallbackQuery(callback_query_id="1"),
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        ),
    )
    for _ in range(4):  # past the retries
        user.session.fail_next(
            EditMessageText, TelegramServerError(EditMessageText(text="x"), "Bad Gateway")
        )
    await user.press("Tôi đồng ý")
    assert isinstance(user.last, SendMessage)  # the edit failed: the screen is sent anew
    assert "số điện thoại" in user.last.text
