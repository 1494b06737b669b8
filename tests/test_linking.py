"""One person across Telegram and Zalo, joined by a one-time code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.clock import FixedClock
from bot.store.models import ChannelIdentity, Person, Submission
from tests.fakechat import FakeChat
from tests.flow import login, submit_new


def code_in(text: str) -> str:
    return text.split("Mã liên kết của bạn: ")[1][:6]


async def test_link_telegram_to_zalo_shares_profile_and_submissions(app: App) -> None:
    telegram = FakeChat(app.engine, user_id="tg-1", channel="telegram")
    zalo = FakeChat(app.engine, user_id="zl-1", channel="zalo")
    await login(telegram)
    await submit_new(telegram, "Sáng kiến gửi từ Telegram")
    await telegram.send("/lienket")
    code = code_in(telegram.text)
    assert "hết hạn sau 10 phút" in telegram.text

    await zalo.send("chào")
    await zalo.click("Tôi đồng ý")
    await zalo.send(f"/lienket {code}")
    assert "Đã liên kết" in zalo.text
    await zalo.click("Sáng kiến đã gửi")
    assert "Sáng kiến gửi từ Telegram" in zalo.text
    await zalo.send("/menu")
    await zalo.click("Nộp sáng kiến mới")
    assert "Phạm Thị Hoa" in zalo.text  # the profile comes along
    await zalo.click("Dùng thông tin này")

    async with AsyncSession(app.db) as session:
        people = list((await session.execute(select(Person))).scalars())
        identities = list((await session.execute(select(ChannelIdentity))).scalars())
    assert len(people) == 1
    assert {(i.channel, i.person_id) for i in identities} == {
        ("telegram", people[0].id),
        ("zalo", people[0].id),
    }


async def test_codes_are_single_use_and_expire(app: App, clock: FixedClock) -> None:
    owner = FakeChat(app.engine, user_id="tg-2", channel="telegram")
    await login(owner)
    await owner.send("/lienket")
    code = code_in(owner.text)
    first = FakeChat(app.engine, user_id="zl-2", channel="zalo")
    await first.send("chào")
    await first.click("Tôi đồng ý")
    await first.send(f"/lienket {code}")
    assert "Đã liên kết" in first.text
    second = FakeChat(app.engine, user_id="zl-3", channel="zalo")
    await second.send("chào")
    await second.click("Tôi đồng ý")
    await second.send(f"/lienket {code}")
    assert "không đúng hoặc đã hết hạn" in second.text

    await owner.send("/lienket")
    late = code_in(owner.text)
    clock.set(clock.now() + timedelta(minutes=11))
    await second.send(f"/lienket {late}")
    assert "không đúng hoặc đã hết hạn" in second.text


async def test_guessing_is_limited_and_accounts_with_submissions_are_not_merged(
    app: App,
) -> None:
    owner = FakeChat(app.engine, user_id="tg-4", channel="telegram")
    await login(owner, "0987 654 321")
    await owner.send("/lienket")
    code = code_in(owner.text)
    other = FakeChat(app.engine, user_id="zl-4", channel="zalo")
    await login(other, "0901 234 567")
    await submit_new(other, "Sáng kiến riêng của Zalo")
    await other.send(f"/lienket {code}")
    assert "đã có sáng kiến gửi riêng" in other.text

    guesser = FakeChat(app.engine, user_id="zl-5", channel="zalo")
    await guesser.send("chào")
    await guesser.click("Tôi đồng ý")
    for guess in range(5):
        await guesser.send(f"/lienket {guess:06d}")
    await guesser.send(f"/lienket {code}")
    assert "sai mã quá nhiều lần" in guesser.text
    async with AsyncSession(app.db) as session:
        owners = {s.person_id for s in (await session.execute(select(Submission))).scalars()}
    assert len(owners) == 1


async def test_link_needs_consent_first(app: App) -> None:
    stranger = FakeChat(app.engine, user_id="zl-6", channel="zalo")
    await stranger.send("/lienket 123456")
    assert "Tôi đồng ý" in stranger.labels
