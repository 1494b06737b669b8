"""Nobody becomes someone else: typed and verified phones, roles by claim code, attempt limits
that survive erasure, leftovers after linking, scope on every screen, decisions that race,
erasure of every copy, and secrets kept out of the logs."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import admin
from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.engine import SLOW_DOWN
from bot.review import ACCEPTED
from bot.store.counters import TOTAL
from bot.store.models import (
    AuditLog,
    Outbox,
    Person,
    RoleGrant,
    StatCounter,
    StatusChange,
    Submission,
    SupportTicket,
)
from tests.conftest import running_app
from tests.fakechat import FakeChat
from tests.flow import (
    PDF_BYTES,
    claim_code_in,
    fill_profile,
    fill_until_attachments,
    grant_role,
    login,
    submit_new,
)
from tests.test_linking import code_in


async def rows(app: App, model: type) -> list:  # type: ignore[type-arg]
    async with AsyncSession(app.db) as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


async def texts_to(app: App, chat_id: str) -> list[str]:
    return [r.payload["text"] for r in await rows(app, Outbox) if r.chat_id == chat_id]


async def agreed(app: App, user: str, channel: str = "zalo") -> FakeChat:
    chat = FakeChat(app.engine, user_id=user, channel=channel)
    await chat.send("chào")
    await chat.click("Tôi đồng ý")
    return chat


# --- 1. typed numbers are claims; a verified owner always gets in ---------------------


@pytest.mark.parametrize("typed", ["0901 234 567", "+84901234567", "84901234567"])
async def test_a_typed_number_reveals_nothing_and_logs_into_nobody_else(
    app: App, typed: str
) -> None:
    owner = await agreed(app, "owner")
    await owner.send("0901.234.567")
    await owner.click("Nộp sáng kiến mới")
    await fill_profile(owner, "Lê Thị Mai")
    fresh = await agreed(app, "fresh")
    await fresh.send("0987 654 321")  # a number nobody has
    stranger = await agreed(app, "stranger")
    await stranger.send(typed)
    # the same answer as for a number nobody holds: no hint that it is registered
    assert stranger.text.replace("0901***567", "0987***321") == fresh.text
    await stranger.send("/dulieu")
    assert "Lê Thị Mai" not in stranger.text and "Họ và tên: —" in stranger.text
    people = await rows(app, Person)
    assert len(people) == 3 and all(p.phone_verified_at is None for p in people)


async def test_a_verified_owner_takes_the_number_and_the_role_meant_for_it(
    app: App, clock: FixedClock
) -> None:
    claimer = await agreed(app, "zl-claimer")
    await claimer.send("0901 234 567")
    await submit_new(claimer, "Sáng kiến của người nhập số trước")
    issued = await admin.grant(app, clock, "officer", "t24", "0901234567")
    code = claim_code_in(issued)
    await claimer.send(f"/nhanquyen {code}")
    assert "đã xác minh qua Telegram" in claimer.text  # a typed number is not enough
    await claimer.send("/duyet")
    assert "chưa có quyền" in claimer.text

    owner = await agreed(app, "tg-owner", channel="telegram")
    assert "“📱 Gửi số điện thoại của tôi”" in owner.text
    await owner.share_contact("+84901234567")
    assert "Đăng nhập thành công với số 0901***567 (đã xác minh qua Telegram)" in owner.text
    assert "từ nay số thuộc về tài khoản này" in owner.text
    [told] = [t for t in await texts_to(app, "zl-claimer") if "xác minh" in t]
    assert "Bản nháp và sáng kiến của bạn vẫn giữ nguyên" in told
    await owner.send(f"/nhanquyen {code}")
    assert "Bạn đã nhận quyền cán bộ duyệt và thống kê tại Bắc Giang" in owner.text

    claimer_person, owner_person = await rows(app, Person)
    assert claimer_person.phone is None and owner_person.phone == "+84901234567"
    assert owner_person.phone_verified_at is not None
    [submission] = await rows(app, Submission)
    assert submission.person_id == claimer_person.id  # nothing moved, nothing deleted
    await claimer.send("/cuatoi")
    assert "Sáng kiến của người nhập số trước" in claimer.text
    roles = await rows(app, RoleGrant)
    assert [(g.person_id, g.role) for g in roles] == [(owner_person.id, "officer")]
    actions = [a.action for a in await rows(app, AuditLog)]
    assert "phone.reassigned" in actions and "role.claimed" in actions


async def test_claim_codes_are_single_use_expire_and_burn_after_wrong_secrets(
    app: App, clock: FixedClock
) -> None:
    first = await agreed(app, "first")
    await first.send("0901 234 567")
    code = await grant_role(app, clock, first, "helper", "t24")
    second = await agreed(app, "second")
    await second.send("0987 654 321")
    await second.send(f"/nhanquyen {code}")
    assert "không đúng, đã dùng hoặc đã hết hạn" in second.text

    late = claim_code_in(await admin.grant(app, clock, "officer", "t24", None, timedelta(hours=1)))
    clock.set(clock.now() + timedelta(hours=2))
    await second.send(f"/nhanquyen {late}")
    assert "không đúng, đã dùng hoặc đã hết hạn" in second.text

    target = claim_code_in(await admin.grant(app, clock, "admin", "*", None))
    number = target.split("-")[0]
    for index in range(5):
        guesser = await agreed(app, f"guesser-{index}")
        await guesser.send(f"0912 000 00{index}")
        await guesser.send(f"/nhanquyen {number}-AAAAAAAAAAA{index}")
    assert "đã khóa vì nhập sai nhiều lần" in await admin.list_claims(app, clock, True)
    await second.send(f"/nhanquyen {target}")  # the right secret, too late
    assert "không đúng, đã dùng hoặc đã hết hạn" in second.text


# --- 2. attempt limits survive erasure, new logins and new accounts --------------------


async def test_link_guessing_limit_survives_erasure_and_a_new_account(app: App) -> None:
    owner = FakeChat(app.engine, user_id="tg-owner", channel="telegram")
    await login(owner, "0987 654 321")
    await owner.send("/lienket")
    code = code_in(owner.text)

    guesser = await agreed(app, "zl-guesser")
    await guesser.send("0912 000 111")
    for guess in range(5):
        await guesser.send(f"/lienket {guess:06d}")
    await guesser.send(f"/lienket {code}")
    assert "sai mã quá nhiều lần" in guesser.text
    await guesser.send("/xoa")
    await guesser.click("Có, xóa dữ liệu của tôi")
    await guesser.click("Tôi đồng ý")
    await guesser.send(f"/lienket {code}")
    assert "sai mã quá nhiều lần" in guesser.text  # the account's count stayed
    other_account = await agreed(app, "zl-guesser-2")
    await other_account.send("0912 000 111")
    await other_account.send(f"/lienket {code}")
    assert "sai mã quá nhiều lần" in other_account.text  # so did the number's

    # Every wrong guess counts against each live code: the owner's is burnt and they are told.
    assert "bị hủy vì có người nhập sai mã nhiều lần" in (await texts_to(app, "tg-owner"))[-1]
    newcomer = await agreed(app, "zl-newcomer")
    await newcomer.send(f"/lienket {code}")
    assert "không đúng hoặc đã hết hạn" in newcomer.text


async def test_flood_limit_survives_erasure(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with running_app(make_settings(db_url, rate_limit_per_minute=5), clock) as app:
        chat = FakeChat(app.engine, user_id="flood")
        await chat.send("chào")
        await chat.click("Tôi đồng ý")
        await chat.send("0901 234 567")
        await chat.send("/xoa")
        await chat.click("Có, xóa dữ liệu của tôi")
        await chat.send("chào")
        assert chat.text == SLOW_DOWN


# --- 3. the person left behind by /lienket ---------------------------------------------


async def test_the_person_left_by_a_link_is_emptied_and_cannot_be_logged_into(
    app: App,
) -> None:
    telegram = FakeChat(app.engine, user_id="tg-1", channel="telegram")
    await login(telegram, "0987 654 321")
    await telegram.send("/lienket")
    code = code_in(telegram.text)
    zalo = FakeChat(app.engine, user_id="zl-1", channel="zalo")
    await login(zalo, "0912 345 678")
    await zalo.send("/dulieu")
    await zalo.click("Sửa họ và tên")
    await zalo.send("Lê Văn Tám")
    await zalo.send(f"/lienket {code}")
    assert "Đã liên kết" in zalo.text

    left = (await rows(app, Person))[1]
    assert (left.phone, left.full_name) == (None, None)
    newcomer = FakeChat(app.engine, user_id="zl-2", channel="zalo")
    await login(newcomer, "0912 345 678")
    await newcomer.send("/dulieu")
    assert "Lê Văn Tám" not in newcomer.text
    await telegram.send("/dulieu")
    assert "telegram, zalo" in telegram.text


# --- 4. a revoked officer sees nothing more ---------------------------------------------


async def test_scope_is_checked_on_every_screen_and_files_come_once(
    app: App, clock: FixedClock
) -> None:
    author = FakeChat(app.engine, user_id="author", channel="telegram")
    await login(author, "0912 000 001")
    await submit_new(author, "Sáng kiến có tệp đính kèm")
    officer = FakeChat(app.engine, user_id="officer", channel="zalo")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "t24")
    await officer.send("/duyet")
    assert "Sáng kiến có tệp đính kèm" in officer.text
    assert [f.name for f in officer.last.files] == ["quyet-dinh.pdf"]
    await officer.send("xin chào")
    assert "✅ Hợp lệ" in officer.labels and officer.last.files == ()  # not sent again

    assert "Đã thu hồi" in await admin.revoke(app, clock, "officer", "0987000111", "t24")
    await officer.send("xin chào")
    assert "Sáng kiến có tệp đính kèm" not in officer.text
    assert "chưa có quyền" in officer.text and officer.labels == ["Về menu"]
    assert officer.last.files == ()
    await officer.click("Về menu")
    assert "Bạn muốn làm gì?" in officer.text


# --- 5. two officers decide the same submission at once --------------------------------


async def test_two_officers_deciding_at_once_record_one_decision(
    any_app: App, clock: FixedClock
) -> None:
    app = any_app
    author = FakeChat(app.engine, user_id="author", channel="telegram")
    await login(author, "0912 000 001")
    await submit_new(author)
    officers = []
    for index in range(2):
        officer = FakeChat(app.engine, user_id=f"officer-{index}", channel="zalo")
        await login(officer, f"0987 000 11{index}")
        await grant_role(app, clock, officer, "officer", "t24")
        await officer.send("/duyet")
        assert "Sáng kiến SK-2022-000001 (Đã gửi)" in officer.text
        officers.append(officer)

    await asyncio.gather(*(o.click("✅ Hợp lệ") for o in officers))
    answers = sorted(o.text.split("\n")[0] for o in officers)
    assert answers == [
        "Sáng kiến SK-2022-000001 đã có người xử lý: Hợp lệ.",
        "Đã ghi: SK-2022-000001 – Hợp lệ. Tác giả đã được báo.",
    ]
    accepted = [c for c in await rows(app, StatusChange) if c.new_status == ACCEPTED]
    assert len(accepted) == 1
    counters = await rows_of_counters(app)
    assert all(n >= 0 for n in counters.values())
    assert counters[("*", "status", ACCEPTED)] == 1
    await officers[0].send("/stats")
    assert "Hợp lệ: 1" in officers[0].text and ": -" not in officers[0].text


async def rows_of_counters(app: App) -> dict[tuple[str, str, str], int]:
    """The whole-campaign counts (scope, dimension, value); weekly rows are checked >= 0 too."""
    async with AsyncSession(app.db) as session:
        counters = list((await session.execute(select(StatCounter))).scalars())
    assert all(row.n >= 0 for row in counters)
    return {(r.scope, r.dim, r.value): r.n for r in counters if r.day == TOTAL}


# --- 6. erasure leaves no copy ----------------------------------------------------------


async def test_erasure_removes_exports_draft_uploads_and_support_copies(
    app: App, clock: FixedClock, tmp_path: Path
) -> None:
    files = app.engine.services.files
    author = FakeChat(app.engine, user_id="author", channel="zalo")
    await login(author, "0912 000 001")
    await submit_new(author)
    officer = FakeChat(app.engine, user_id="officer", channel="telegram")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "t24")
    await officer.send("/xuat")
    assert len(list(files.exports.iterdir())) == 2  # with the author's phone and name
    helper = FakeChat(app.engine, user_id="helper", channel="telegram")
    await login(helper, "0987 000 222")
    await grant_role(app, clock, helper, "helper", "t24")

    await author.click("Nộp sáng kiến mới")
    await author.click("Dùng thông tin này")
    await fill_until_attachments(author, "Sáng kiến chưa gửi")
    draft_only = b"%PDF-1.4\n% only in the draft\n%%EOF\n"
    await author.send_file(draft_only, "nhap.pdf")
    await author.send("/hotro")
    await author.click("Hỏi tư vấn viên")
    await author.send("Số CCCD của tôi là 001234567890, có cần ghi vào không?")
    assert any("001234567890" in t for t in await texts_to(app, "helper"))

    stored = sorted(p.name for p in files.root.glob("??/*"))
    assert len(stored) == 2  # the filed PDF and the draft-only one
    await author.send("/xoa")
    await author.click("Có, xóa dữ liệu của tôi")

    assert list(files.exports.iterdir()) == []
    left = sorted(p.name for p in files.root.glob("??/*"))
    assert len(left) == 1 and left[0] in stored  # the filed submission's PDF stays
    assert files.path_for(hashlib.sha256(PDF_BYTES).hexdigest(), "pdf").is_file()
    for text in await texts_to(app, "helper"):
        assert "001234567890" not in text
    assert await texts_to(app, "author") == []
    [ticket] = await rows(app, SupportTicket)
    assert ticket.context is None


# --- 7. secrets stay out of the logs ----------------------------------------------------


async def test_httpx_logs_no_photo_urls(caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    from bot.channels.zalo_client import ZaloClient

    caplog.set_level(logging.DEBUG)
    secret_url = "https://photo-stal-22.zdn.vn/no/jpg/5bff10c65d12874cde03/2aOb.jpg"

    def cdn(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if "missing" in request.url.path else 200, content=b"x")

    client = ZaloClient("123:secret-token", transport=httpx.MockTransport(cdn))
    assert await client.download(secret_url, 1000) == b"x"
    with pytest.raises(Exception, match="download"):
        await client.download(secret_url.replace("2aOb", "missing"), 1000)
    await client.close()
    assert "5bff10c65d12874cde03" not in caplog.text and "2aOb" not in caplog.text
    assert "https://photo-stal-22.zdn.vn/…" in caplog.text
