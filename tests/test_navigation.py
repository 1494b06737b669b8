"""Moving around a conversation: resume, edit, back, paging, search, help, cancel, tokens."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.models import Submission
from tests.fakechat import FakeChat
from tests.flow import draft_at_review, fill_initiative, fill_profile, login


async def count_submissions(app: App) -> int:
    async with AsyncSession(app.db) as session:
        return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)


async def test_resume_after_restart_days_later(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    first = build_app(make_settings(db_url), clock)
    chat = FakeChat(first.engine)
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.click("Công nhân lao động")
    await chat.send("Cải tiến khuôn dập giảm phế phẩm")
    await first.close()

    clock.set(clock.now() + timedelta(days=5))
    second = build_app(make_settings(db_url), clock)
    chat = FakeChat(second.engine)
    await chat.send("/start")
    assert chat.labels[0].startswith("Tiếp tục bản nháp: Cải tiến khuôn dập")
    await chat.click("Tiếp tục bản nháp")
    assert "loại giải pháp" in chat.text
    await chat.send("/menu")
    await chat.send("/tieptuc")
    assert "loại giải pháp" in chat.text
    await chat.click("Giải pháp kỹ thuật")
    assert "Ngày bắt đầu" in chat.text
    await second.close()


async def test_edit_from_review_returns_to_card(app: App, chat: FakeChat) -> None:
    await draft_at_review(chat)
    await chat.click("Sửa một mục")
    await chat.click("Thời gian triển khai")
    assert "Đang lưu: 01/10/2021" in chat.text
    await chat.send("15/11/2021")
    await chat.send("20/01/2022")
    assert "TÓM TẮT SÁNG KIẾN" in chat.text
    assert "15/11/2021 – 20/01/2022" in chat.text
    await chat.click("Sửa một mục")
    await chat.click("Tên sáng kiến")
    await chat.send("Tên mới của sáng kiến")
    assert "• Tên sáng kiến: Tên mới của sáng kiến" in chat.text
    await chat.click("Sửa một mục")
    await chat.click("Thông tin cá nhân")
    for answer in ["Lê Văn Tám", "1990", "Kỹ sư", "Công ty Điện lực"]:
        await chat.send(answer)
    await chat.send("thai binh")
    await chat.send("cong doan nganh y te tinh thai binh")  # a label on the next page
    assert "• Tác giả: Lê Văn Tám, sinh năm 1990" in chat.text
    assert "Thái Bình › Công đoàn ngành Y tế tỉnh Thái Bình" in chat.text
    await chat.click("Gửi sáng kiến")
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
    assert submission.title == "Tên mới của sáng kiến"
    assert submission.unit_code == "t34.nganh_y_te"
    assert submission.author_name == "Lê Văn Tám"


KEEPING = [  # how a worker leaves an answer as it is while editing the card
    ("click", "Giữ nguyên"),
    ("send", "giữ nguyên"),
    ("send", "Giu nguyen"),
    ("send", "bỏ qua"),
    ("send", "1"),
]


@pytest.mark.parametrize(("how", "what"), KEEPING)
async def test_editing_one_field_keeps_its_neighbours(
    app: App, chat: FakeChat, how: str, what: str
) -> None:
    await draft_at_review(chat)
    await chat.click("Sửa một mục")
    await chat.click("Hiệu quả")
    assert "Đang lưu: 150.000.000 đồng" in chat.text
    await chat.send("50 triệu")
    assert "Đang lưu: Giảm thời gian chờ của người bệnh" in chat.text
    await (chat.click(what) if how == "click" else chat.send(what))
    assert "Đang lưu: Áp dụng tại đơn vị" in chat.text
    await (chat.click(what) if how == "click" else chat.send(what))
    assert "TÓM TẮT SÁNG KIẾN" in chat.text
    assert "50.000.000 đồng" in chat.text
    assert "Giảm thời gian chờ của người bệnh" in chat.text
    assert "không nêu" not in chat.text
    await chat.click("Gửi sáng kiến")
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
    assert submission.benefit_vnd == 50_000_000
    assert submission.benefit_social == "Giảm thời gian chờ của người bệnh"
    assert submission.applied_scope == "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành"


async def test_keeping_an_empty_answer_while_editing_stores_no_words(
    app: App, chat: FakeChat
) -> None:
    """Found trying it on Zalo: “giữ nguyên” at a social benefit skipped before was saved
    as the benefit itself."""
    await draft_at_review(chat)
    await chat.click("Sửa một mục")
    await chat.click("Hiệu quả")
    await chat.click("Giữ nguyên")
    await chat.click("Xóa nội dung này")  # the social benefit is now empty
    await chat.click("Giữ nguyên")
    await chat.click("Sửa một mục")
    await chat.click("Hiệu quả")
    await chat.send("giữ nguyên")
    assert "Lợi ích xã hội" in chat.text and "Đang lưu" not in chat.text
    await chat.send("giữ nguyên")
    await chat.send("giữ nguyên")
    assert "Lợi ích xã hội: không nêu" in chat.text and "giữ nguyên" not in chat.text
    await chat.click("Gửi sáng kiến")
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
    assert submission.benefit_social is None


async def test_an_optional_answer_can_still_be_removed_while_editing(
    app: App, chat: FakeChat
) -> None:
    await draft_at_review(chat)
    await chat.click("Sửa một mục")
    await chat.click("Hiệu quả")
    await chat.click("Giữ nguyên")
    await chat.click("Xóa nội dung này")
    await chat.click("Giữ nguyên")
    assert "TÓM TẮT SÁNG KIẾN" in chat.text and "150.000.000 đồng" in chat.text
    assert "Lợi ích xã hội: không nêu" in chat.text


async def test_stale_and_forged_buttons_change_nothing(app: App, chat: FakeChat) -> None:
    await login(chat)
    stale = chat.button("Nộp sáng kiến mới").token
    await chat.click("Nộp sáng kiến mới")
    await chat.send("Phạm Thị Hoa")
    before = chat.text
    await chat.press(stale)
    assert "Nút này đã cũ" in chat.text
    await chat.press("deadbeef0000")
    assert "Nút này đã cũ" in chat.text
    await chat.press("' OR 1=1 --")
    assert "Nút này đã cũ" in chat.text
    await chat.send("1985")
    assert "Chức vụ" in chat.text and "Năm sinh" in before


async def test_double_tap_on_submit_files_once(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await fill_initiative(chat)
    token = chat.button("Gửi sáng kiến").token
    await chat.press(token)
    assert "Mã hồ sơ: SK-2022-000001" in chat.text
    await chat.press(token)
    assert "Nút này đã cũ" in chat.text
    assert await count_submissions(app) == 1


async def test_duplicate_update_is_a_no_op(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.send("/menu", update_id="same-1")
    replies = len(chat.replies)
    await chat.click("Nộp sáng kiến mới")
    await chat.send("Phạm Thị Hoa", update_id="same-2")
    await chat.send("Phạm Thị Hoa", update_id="same-2")
    assert len(chat.replies) == replies + 2
    assert "Năm sinh" in chat.text


async def test_unit_menu_paging_back_and_search(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    for answer in ["Đỗ Văn Nam", "1979", "Công nhân", "Nhà máy A"]:
        await chat.send(answer)
    assert chat.labels == [
        "Tỉnh, thành phố",
        "Công đoàn ngành Trung ương và tương đương",
        "Công đoàn tổng công ty trực thuộc",
        "↩ Quay lại",
    ]
    await chat.click("Tỉnh, thành phố")
    assert len(chat.labels) == 10 and "(Trang 1/8)" in chat.text
    assert "Bắc Giang" not in chat.labels
    assert "« Trang trước" not in chat.labels  # page 1 has nothing before it
    await chat.send("Trang trước")  # typed anyway: stays on page 1, no wrapping round
    assert "(Trang 1/8)" in chat.text
    for _ in range(7):
        await chat.click("Trang sau")
    await chat.send("Trang sau")
    assert "(Trang 8/8)" in chat.text and "Cà Mau" in chat.labels
    assert "Trang sau »" not in chat.labels
    for _ in range(6):
        await chat.click("Trang trước")
    assert "(Trang 2/8)" in chat.text and "Bắc Giang" in chat.labels
    await chat.click("Bắc Giang")
    assert chat.labels[0] == "✔ Chọn chính Bắc Giang" and "LĐLĐ huyện Hiệp Hòa" in chat.labels
    await chat.click("Quay lại")
    assert "(Trang 1/8)" in chat.text
    await chat.click("Quay lại")
    await chat.click("Quay lại")
    assert "Nơi công tác" in chat.text
    await chat.send("Nhà máy A")
    await chat.send(unicodedata.normalize("NFD", "Hiệp Hòa"))
    assert "Đơn vị: Bắc Giang › LĐLĐ huyện Hiệp Hòa" in chat.text


@pytest.mark.parametrize("query", ["bac giang", "BẮC GIANG", "Bắc Giang"])
async def test_unit_search_forms(app: App, chat: FakeChat, query: str) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    for answer in ["Đỗ Văn Nam", "1979", "Công nhân", "Nhà máy A"]:
        await chat.send(answer)
    await chat.send(unicodedata.normalize("NFD", query))
    assert chat.labels[0] == "✔ Chọn chính Bắc Giang"
    await chat.send("xyz không có")
    assert "Không tìm thấy đơn vị" in chat.text
    await chat.send("giao duc")
    assert "Tìm “giao duc”: 3 đơn vị" in chat.text
    await chat.click("Công đoàn Giáo dục Việt Nam")
    assert "Đơn vị: Công đoàn Giáo dục Việt Nam" in chat.text


async def test_help_in_the_middle_returns_to_the_same_step(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await chat.send("Phạm Thị Hoa")
    await chat.send("/hotro")
    assert "Hỗ trợ" in chat.text and "Giai đoạn 1" in chat.text
    await chat.click("Sáng kiến nào không được tham gia?")
    assert "bảo hộ quyền sở hữu trí tuệ" in chat.text
    await chat.click("Quay lại")
    assert "Năm sinh" in chat.text
    await chat.send("1985")
    assert "Chức vụ" in chat.text


async def test_cancel_asks_first(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await chat.send("Phạm Thị Hoa")
    await chat.send("/huy")
    assert "Hủy bản nháp" in chat.text
    await chat.click("Không, giữ lại")
    assert "Năm sinh" in chat.text
    await chat.send("/huy")
    await chat.click("Có, hủy bản nháp")
    assert chat.labels[0] == "Nộp sáng kiến mới"
    await chat.send("/tieptuc")
    assert "chưa có bản nháp" in chat.text
    await chat.send("/huy")
    assert "không có bản nháp nào để hủy" in chat.text


async def test_outside_the_window(app: App, chat: FakeChat, clock: FixedClock) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await fill_initiative(chat)
    clock.set(datetime.fromisoformat("2022-06-01T03:00:00+07:00"))
    await chat.click("Gửi sáng kiến")
    assert "Giai đoạn 1 của Chương trình “01 triệu sáng kiến” đã kết thúc" in chat.text
    assert "Giai đoạn 2 bắt đầu nhận từ 07h00 ngày 01/06/2022" in chat.text
    assert await count_submissions(app) == 0
    clock.set(datetime.fromisoformat("2023-09-02T00:00:00+07:00"))
    await chat.send("/menu")
    assert "đã kết thúc nhận sáng kiến" in chat.text
    assert "Sáng kiến đã gửi" in chat.labels and "Hỗ trợ, hỏi đáp" in chat.labels
    await chat.send("/huy")
    await chat.click("Có, hủy bản nháp")
    await chat.click("Nộp sáng kiến mới")
    assert "đã kết thúc nhận sáng kiến" in chat.text
    await chat.click("Sáng kiến đã gửi")
    assert "chưa gửi sáng kiến nào" in chat.text
    clock.set(datetime.fromisoformat("2022-06-01T07:00:00+07:00"))
    await chat.send("/menu")
    await chat.click("Nộp sáng kiến mới")
    assert "Dùng thông tin này" in chat.labels
