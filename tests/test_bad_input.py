"""Every bad answer gets a Vietnamese reason, the step stays, and nothing given is lost."""

from __future__ import annotations

import unicodedata

import pytest

from bot.app import App
from bot.store.uow import UnitOfWork
from tests.fakechat import FakeChat
from tests.flow import fill_profile, login

pytestmark = pytest.mark.usefixtures("app")


async def draft_of(app: App, chat: FakeChat) -> dict:
    from bot.store.db import make_sessionmaker

    async with UnitOfWork(make_sessionmaker(app.db)) as uow:
        state, _version = await uow.conversations.load(chat.channel, chat.user_id)
    return state.get("draft") or {}


async def to_title(chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.click("Cán bộ công đoàn")


async def expect_refusal(chat: FakeChat, answer: str, words: str) -> None:
    await chat.send(answer)
    assert words in chat.text, f"{answer!r} -> {chat.text!r}"


async def test_bad_profile_answers(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await expect_refusal(chat, "😀😀😀", "Họ và tên phải có chữ cái")
    await expect_refusal(chat, "Nguyễn Văn 3", "không có số")
    await expect_refusal(chat, "A" * 500, "vượt")
    await chat.send(unicodedata.normalize("NFD", "Trần Văn Bắc"))
    await expect_refusal(chat, "85", "4 chữ số")
    await expect_refusal(chat, "2015", "không hợp lệ")
    await expect_refusal(chat, "1899", "không hợp lệ")
    await chat.send("1985")
    draft = await draft_of(app, chat)
    assert draft["author_name"] == "Trần Văn Bắc" and draft["birth_year"] == 1985


async def test_bad_initiative_answers_keep_the_draft(app: App, chat: FakeChat) -> None:
    await to_title(chat)
    await expect_refusal(chat, "abc", "quá ngắn")
    await expect_refusal(chat, "x" * 400, "vượt 100 ký tự")
    await chat.send("<b>Cải tiến</b> & 'quy trình' ; DROP TABLE submission;--")
    await chat.click("Giải pháp kỹ thuật")
    await expect_refusal(chat, "31/02/2022", "không có trên lịch")
    await expect_refusal(chat, "0/0/0", "định dạng")
    await expect_refusal(chat, "01/01/2122", "Năm 2122")
    await expect_refusal(chat, "15/08/2021", "ngoài thời gian")
    await expect_refusal(chat, "02/03/2022", "chưa đến (hôm nay là 01/03/2022)")
    await chat.send("1/9/2021")
    await expect_refusal(chat, "31/08/2021", "trước ngày bắt đầu")
    await chat.send("01/09/2021")
    await expect_refusal(chat, "a" * 2013, "vượt 13 ký tự")
    await expect_refusal(chat, "🙂🙂🙂", "Bạn chưa nhập phần mô tả")
    await chat.send("Mô tả ngắn gọn về giải pháp.")
    await expect_refusal(chat, "rất nhiều tiền", "Giá trị làm lợi chưa đúng")
    await chat.click("Bỏ qua")
    await chat.click("Bỏ qua")
    assert "ít nhất một lợi ích" in chat.text
    await chat.send("Giảm tai nạn lao động")
    await expect_refusal(chat, "🙂", "Bạn chưa nhập phạm vi ứng dụng")
    await chat.send("Áp dụng tại phân xưởng cơ khí")
    await chat.send("Giám đốc công ty")
    await expect_refusal(chat, "không số", "phải có chữ số")
    await chat.send("12/QĐ")
    await expect_refusal(chat, "05/03/2022", "ở tương lai")
    await chat.send("01/02/2022")
    await expect_refusal(chat, "x" * 501, "vượt 1 ký tự")
    await chat.click("Bỏ qua")
    await expect_refusal(chat, "https://evil.example.com/x", "Google Drive")
    await chat.send_file(b"MZ\x90\x00\x03 fake exe", "baocao.pdf")
    assert "Loại tệp này không được nhận" in chat.text
    await chat.send_file(b"%PDF-" + b"0" * (21 * 1024 * 1024), "lon.pdf")
    assert "vượt giới hạn 20 MB" in chat.text
    draft = await draft_of(app, chat)
    assert draft["title"] == "<b>Cải tiến</b> & 'quy trình' ; DROP TABLE submission;--"
    assert draft["started_on"] == "2021-09-01" and draft["ended_on"] == "2021-09-01"
    assert draft["benefit_vnd"] is None and draft["benefit_social"] == "Giảm tai nạn lao động"
    assert draft["attachments"] == []


async def test_empty_unknown_and_out_of_range(app: App, chat: FakeChat) -> None:
    await login(chat)
    await expect_refusal(chat, "   ", "Tin nhắn trống")
    await expect_refusal(chat, "\u200b\u200e", "Tin nhắn trống")
    await expect_refusal(chat, "/xoatatca", "Không có lệnh /xoatatca")
    await expect_refusal(chat, "9", "Số 9 không có trong danh sách")
    await expect_refusal(chat, "món phở", "Vui lòng chọn một mục")
    assert "Nộp sáng kiến mới" in chat.labels


async def test_declining_a_declaration_blocks_but_keeps_draft(app: App, chat: FakeChat) -> None:
    await to_title(chat)
    for answer in [
        "Giải pháp an toàn khi vận hành máy",
        "1",
        "01/10/2021",
        "01/11/2021",
        "Mô tả",
        "10 triệu",
        "không",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Hội đồng sáng kiến",
        "5/QĐ",
        "01/12/2021",
        "bỏ qua",
        "xong",
    ]:
        await chat.send(answer)
    await chat.click("Có")
    assert "bảo hộ quyền sở hữu trí tuệ không được tham gia" in chat.text
    assert (await draft_of(app, chat))["step"] == "declare_ip"
    await chat.click("Không")
    assert "trật tự công cộng" in chat.text
