"""Personal-data rights: /dulieu shows what is kept, it can be corrected, /xoa erases it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.clock import FixedClock
from bot.stats.views import Period, stats
from bot.store.models import ChannelIdentity, Consent, Person, Submission
from tests.fakechat import FakeChat
from tests.flow import login, submit_new


async def test_see_correct_and_erase(app: App, clock: FixedClock) -> None:
    telegram = FakeChat(app.engine, user_id="tg-p", channel="telegram")
    await login(telegram)
    await submit_new(telegram, "Sáng kiến trước khi xóa")
    await telegram.send("/lienket")
    code = telegram.text.split("Mã liên kết của bạn: ")[1][:6]
    zalo = FakeChat(app.engine, user_id="zl-p", channel="zalo")
    await zalo.send("chào")
    await zalo.click("Tôi đồng ý")
    await zalo.send(f"/lienket {code}")
    await zalo.click("Nộp sáng kiến mới")  # a draft in progress on Zalo

    await telegram.send("/dulieu")
    for shown in (
        "0901234567 (tự khai, chưa xác minh)",
        "Phạm Thị Hoa",
        "1985",
        "Chuyên viên",
        "Bắc Giang",
        "telegram, zalo",
        "SK-2022-000001 (Đã gửi)",
        "phiên bản 2026-11",
    ):
        assert shown in telegram.text, shown
    await telegram.click("Sửa năm sinh")
    await telegram.send("1890")
    assert "không hợp lệ" in telegram.text
    await telegram.send("1986")
    assert "Đã sửa năm sinh" in telegram.text and "• Năm sinh: 1986" in telegram.text

    before = await stats_total(app)
    await telegram.send("/xoa")
    assert "không hoàn tác được" in telegram.text
    await telegram.click("Không, giữ lại")
    assert "Đã giữ nguyên" in telegram.text
    await telegram.send("/xoa")
    await telegram.click("Có, xóa dữ liệu của tôi")
    assert "Đã rút lại đồng ý" in telegram.text and "Tôi đồng ý" in telegram.labels

    async with AsyncSession(app.db) as session:
        person = (await session.execute(select(Person))).scalar_one()
        submission = (await session.execute(select(Submission))).scalar_one()
        linked = await session.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(ChannelIdentity.person_id.is_not(None))
        )
        open_consents = await session.scalar(
            select(func.count()).select_from(Consent).where(Consent.withdrawn_at.is_(None))
        )
    assert person.phone is None and person.full_name is None
    assert person.birth_year is None and person.workplace is None
    assert submission.author_name == "Đã ẩn danh" and submission.author_workplace == ""
    assert linked == 0 and open_consents == 0
    assert await stats_total(app) == before  # anonymous counts stay

    await zalo.send("/tieptuc")
    assert "Tôi đồng ý" in zalo.labels  # the Zalo account was withdrawn too, draft gone
    await telegram.send("/dulieu")
    assert "Tôi đồng ý" in telegram.labels


async def stats_total(app: App) -> int:
    services = app.engine.services
    async with AsyncSession(app.db) as session:
        figures = await stats(session, services.campaign, services.catalog, "*", Period())
    return figures.total


async def test_nothing_to_show_before_consent(app: App) -> None:
    stranger = FakeChat(app.engine, user_id="new")
    await stranger.send("/dulieu")
    assert "chưa lưu dữ liệu cá nhân" in stranger.text
    await stranger.send("/xoa")
    assert "chưa lưu dữ liệu cá nhân" in stranger.text
