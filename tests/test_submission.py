"""A worker's complete submission, checked in the replies and in the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.app import App
from bot.store.models import Attachment, AuditLog, ChannelIdentity, Consent, Person, Submission
from tests.fakechat import FakeChat
from tests.flow import DESCRIPTION, PDF_BYTES, fill_initiative, fill_profile, login, submit_new


async def rows(app: App, model: type) -> list:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(app.db) as session:
        return list((await session.execute(select(model))).scalars())


async def test_full_submission_lands_in_database(app: App, chat: FakeChat) -> None:
    await login(chat)
    confirmation = await submit_new(chat)

    assert "Mã hồ sơ: SK-2022-000001" in confirmation
    [submission] = await rows(app, Submission)
    assert submission.code == "SK-2022-000001"
    assert submission.title == "Số hóa quy trình tiếp nhận hồ sơ"
    assert submission.author_name == "Phạm Thị Hoa"
    assert submission.unit_code == "t24"
    assert submission.campaign == "1trieu" and submission.phase == "gd1"
    assert submission.target_group == "vc_su_nghiep"
    assert submission.solution_type == "quan_ly"
    assert (submission.started_on, submission.ended_on) == (date(2021, 10, 1), date(2022, 2, 28))
    assert submission.description == DESCRIPTION
    assert submission.benefit_vnd == 150_000_000
    assert submission.recognition_doc == "125/QĐ-BV"
    assert submission.recognized_on == date(2022, 2, 15)
    attachments = sorted(await rows(app, Attachment), key=lambda a: a.kind)
    assert [a.kind for a in attachments] == ["file", "link"]
    pdf = attachments[0]
    assert (pdf.mime, pdf.size, pdf.filename) == (
        "application/pdf",
        len(PDF_BYTES),
        "quyet-dinh.pdf",
    )
    stored = app.engine.services.files.path_for(pdf.sha256 or "", "pdf")
    assert stored.read_bytes() == PDF_BYTES
    [person] = await rows(app, Person)
    assert person.phone == "+84901234567" and person.unit_code == "t24"
    [identity] = await rows(app, ChannelIdentity)
    assert identity.person_id == person.id
    [consent] = await rows(app, Consent)
    assert consent.text_version and consent.accepted_at is not None
    actions = {a.action for a in await rows(app, AuditLog)}
    assert {"consent.accepted", "login", "submission.created"} <= actions
    assert chat.labels[0] == "Nộp sáng kiến mới"  # the draft is gone, back at the menu


async def test_no_personal_data_before_consent(app: App, chat: FakeChat) -> None:
    await chat.send("chào")
    await chat.send("0901234567")  # typed before agreeing: not taken as a login
    assert "Tôi đồng ý" in chat.labels
    await chat.click("Không đồng ý")
    assert "chưa lưu thông tin nào" in chat.text
    assert await rows(app, Person) == []
    assert await rows(app, ChannelIdentity) == []


async def test_profile_is_offered_again_next_time(app: App, chat: FakeChat) -> None:
    await login(chat)
    await submit_new(chat, "Sáng kiến thứ nhất về an toàn")
    await chat.click("Nộp sáng kiến mới")
    assert "Phạm Thị Hoa" in chat.text and "Bắc Giang" in chat.text
    await chat.click("Dùng thông tin này")
    await fill_initiative(chat, "Sáng kiến thứ hai về môi trường")
    await chat.click("Gửi sáng kiến")
    assert "SK-2022-000002" in chat.text
    await chat.click("Sáng kiến đã gửi")
    assert chat.text.index("SK-2022-000002") < chat.text.index("SK-2022-000001")
    assert "Đã gửi" in chat.text


async def test_fill_profile_then_cancel_keeps_profile(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.send("/huy")
    await chat.click("Có, hủy bản nháp")
    assert "Đã hủy bản nháp" in chat.text
    await chat.click("Nộp sáng kiến mới")
    assert "Dùng thông tin này" in chat.labels
    assert await rows(app, Submission) == []


async def test_submission_count(app: App, chat: FakeChat) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    await login(chat)
    await submit_new(chat)
    async with AsyncSession(app.db) as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 1
