"""The 75k campaign's own limits, through the conversation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.models import Submission
from rules.campaigns import TZ
from tests.fakechat import FakeChat
from tests.flow import fill_profile, login


async def test_75k_limits(db_url: str, make_settings: Callable[..., Settings]) -> None:
    clock = FixedClock(datetime(2021, 4, 10, 8, 0, tzinfo=TZ))
    app = build_app(make_settings(db_url, campaign="75nghin"), clock)
    chat = FakeChat(app.engine)
    await login(chat)
    assert "75 nghìn sáng kiến" in chat.text and "Đợt cao điểm" in chat.text
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    assert chat.labels == [
        "Khối doanh nghiệp",
        "Khối cơ quan hành chính, sự nghiệp",
        "❓ Giải thích các khối",
        "↩ Quay lại",
    ]
    await chat.click("Khối doanh nghiệp")
    await chat.send("Cải tiến dây chuyền đóng gói")
    assert [label for label in chat.labels if label.startswith("Giải pháp")] == [
        "Giải pháp kỹ thuật",
        "Giải pháp quản lý",
        "Giải pháp tác nghiệp",
        "Giải pháp ứng dụng tiến bộ kỹ thuật",
    ]
    await chat.click("Giải pháp kỹ thuật")
    await chat.send("15/01/2021")
    assert "ngoài thời gian" in chat.text and "01/02/2021" in chat.text
    await chat.send("01/03/2021")
    await chat.send("30/04/2021")
    assert "tối đa 1000 ký tự" in chat.text
    await chat.send("x" * 1001)
    assert "vượt 1 ký tự so với giới hạn 1000" in chat.text
    for answer in [
        "m" * 1000,
        "20 triệu",
        "không",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Giám đốc Công ty",
        "7/QĐ-CT",
        "01/04/2021",
        "không",
        "xong",
    ]:
        await chat.send(answer)
    await chat.click("Không")
    await chat.click("Không")
    assert "(1000/1000 ký tự)" in chat.text
    clock.set(datetime(2021, 4, 21, 0, 0, tzinfo=TZ))
    await chat.click("Gửi sáng kiến")
    assert "đã kết thúc nhận sáng kiến" in chat.text and "20/04/2021" in chat.text
    clock.set(datetime(2021, 4, 20, 23, 59, tzinfo=TZ))
    await chat.send("/tieptuc")
    await chat.click("Gửi sáng kiến")
    assert "SK-2021-000001" in chat.text
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
    assert (submission.campaign, submission.phase) == ("75nghin", "dot1")
    assert submission.target_group == "doanh_nghiep"
    await app.close()
