"""Filing for members (`/nopho`): the author's details go on the submission, never on the
collector's own profile; participants are counted by author; the collector follows them."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import admin
from bot.app import App
from bot.clock import FixedClock
from bot.stats.views import Period, stats
from bot.store.models import Outbox, Person, Submission
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, fill_profile, grant_role, login, submit_new
from tests.records import export_of_the_country

MEMBERS = [  # name, birth year, unit (typed: one unit matches), title
    ("Đỗ Văn Nam", "1979", "hiep hoa", "Cải tiến máy cắt vải"),
    ("Lò Thị Xuân", "1992", "hiep hoa", "Sổ tay an toàn điện tử"),
    ("Đỗ Văn Nam", "1979", "hiep hoa", "Khuôn gá hàn mới"),
]


async def file_for(collector: FakeChat, name: str, year: str, unit: str, title: str) -> None:
    await collector.send("/nopho")
    assert "Họ và tên của tác giả" in collector.text, collector.text
    for answer in (name, year, "Công nhân", "Công ty May Hiệp Hòa", unit):
        await collector.send(answer)
    assert "Đơn vị: " in collector.text, collector.text
    await fill_initiative(collector, title)
    assert "(bạn nộp hộ)" in collector.text
    await collector.click("Gửi sáng kiến")
    assert f"của tác giả {name}" in collector.text and "Mã hồ sơ" in collector.text


async def test_a_collector_files_for_members_without_becoming_them(
    app: App, clock: FixedClock
) -> None:
    collector = FakeChat(app.engine, user_id="cdcs", channel="zalo")
    await login(collector, "0987 000 321")
    await submit_new(collector, "Sáng kiến của chính người thu thập")
    await collector.send("/nopho")
    assert "dành cho người được giao nộp hộ" in collector.text  # not yet a collector
    await grant_role(app, clock, collector, "collector", "t24.hiep_hoa")

    for member in MEMBERS:
        await file_for(collector, *member)

    await collector.send("/dulieu")
    assert "Phạm Thị Hoa" in collector.text and "Đỗ Văn Nam" not in collector.text
    await collector.send("/cuatoi")
    assert "Cải tiến máy cắt vải (nộp hộ Đỗ Văn Nam)" in collector.text
    assert "Sáng kiến của chính người thu thập ·" in collector.text

    async with AsyncSession(app.db) as session:
        filed = list((await session.execute(select(Submission).order_by(Submission.id))).scalars())
        people = {p.id: p for p in (await session.execute(select(Person))).scalars()}
        figures = await stats(
            session, app.engine.services.campaign, app.engine.services.catalog, "t24", Period()
        )
    authors = [(people[s.person_id].full_name, s.author_name, s.filed_by) for s in filed]
    own = filed[0].person_id
    assert authors == [
        ("Phạm Thị Hoa", "Phạm Thị Hoa", None),
        ("Đỗ Văn Nam", "Đỗ Văn Nam", own),
        ("Lò Thị Xuân", "Lò Thị Xuân", own),
        ("Đỗ Văn Nam", "Đỗ Văn Nam", own),
    ]
    assert filed[1].person_id == filed[3].person_id  # the same member, counted once
    assert figures.total == 4 and figures.participants == 3

    # Outside the units they collect for: refused at the unit step, nothing filed.
    await collector.send("/nopho")
    for answer in ("Hà Thị Lan", "1990", "Giáo viên", "Trường Tiểu học A", "thai binh"):
        await collector.send(answer)
    await collector.click("✔ Chọn chính Thái Bình")
    assert "nằm ngoài phạm vi bạn được nộp hộ" in collector.text


async def test_the_collector_hears_of_decisions_and_may_complete_a_return(
    app: App, clock: FixedClock
) -> None:
    collector = FakeChat(app.engine, user_id="cdcs", channel="zalo")
    await login(collector, "0987 000 321")
    await grant_role(app, clock, collector, "collector", "t24")
    await file_for(collector, *MEMBERS[0])
    officer = FakeChat(app.engine, user_id="officer", channel="telegram")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "t24")
    await officer.send("/duyet")
    await officer.click("Yêu cầu bổ sung")
    await officer.send("Thiếu số liệu làm lợi.")
    async with AsyncSession(app.db) as session:
        told = [
            r.payload["text"]
            for r in (await session.execute(select(Outbox))).scalars()
            if r.chat_id == "cdcs"
        ]
    assert any("cần bổ sung: Thiếu số liệu làm lợi" in text for text in told)
    await collector.send("/cuatoi")
    await collector.click("SK-2022-000001")
    await collector.click("Bổ sung và gửi lại")
    await collector.click("Gửi sáng kiến")
    assert "Đã gửi lại sáng kiến SK-2022-000001" in collector.text


async def test_co_authors_and_their_shares_decide_whom_the_record_credits(
    app: App, clock: FixedClock
) -> None:
    author = FakeChat(app.engine, user_id="w-co", channel="zalo")
    await login(author)
    await author.click("Nộp sáng kiến mới")
    await fill_profile(author)
    await fill_initiative(author, "Máy cắt vải tự động")
    assert "• Đồng tác giả: không có" in author.text
    await author.click("Đồng tác giả")
    await author.send("Lê Văn Ba 1980 30%")  # no commas: asked again, with an example
    assert "ví dụ: Lê Văn Ba, 1980, 30%" in author.text
    await author.send("lê văn ba, 1980, 30%")
    assert "Đã ghi: Lê Văn Ba (1980, 30%)" in author.text
    await author.send("Trần Thị Cúc, 1991, 45")
    await author.click("Xong")
    assert "Các đồng tác giả đã chiếm 75%" in author.text
    await author.send("30")
    assert "Tổng tỷ lệ đóng góp đang là 105%, cần đủ 100%" in author.text
    await author.send("25%")
    assert "Đồng tác giả: Lê Văn Ba (1980, 30%); Trần Thị Cúc (1991, 45%)" in author.text
    assert "Công nhận cho (tỷ lệ đóng góp cao nhất, 46/HD-TLĐ): Trần Thị Cúc" in author.text
    await author.click("Gửi sáng kiến")
    assert "Mã hồ sơ" in author.text

    async with AsyncSession(app.db) as session:
        filed = (await session.execute(select(Submission))).scalar_one()
    assert filed.author_share == 25
    assert filed.co_authors == [
        {"name": "Lê Văn Ba", "birth_year": 1980, "share": 30},
        {"name": "Trần Thị Cúc", "birth_year": 1991, "share": 45},
    ]
    files = await export_of_the_country(app)
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx)).active
    cell = str(sheet.cell(6, 2).value)
    assert "Đồng tác giả: Lê Văn Ba, 1980, 30%; Trần Thị Cúc, 1991, 45%" in cell
    assert "Công nhận cho: Trần Thị Cúc" in cell


async def _file_with_co_authors(
    app: App, user: str, phone: str, title: str, co_authors: list[str], author_share: str
) -> None:
    author = FakeChat(app.engine, user_id=user, channel="zalo")
    await login(author, phone)
    await author.click("Nộp sáng kiến mới")
    await fill_profile(author)
    await fill_initiative(author, title)
    await author.click("Đồng tác giả")
    for line in co_authors:
        await author.send(line)
    await author.click("Xong")
    await author.send(author_share)
    await author.click("Gửi sáng kiến")
    assert "Mã hồ sơ" in author.text, author.text


async def test_co_authors_count_as_participants_once_each(any_app: App, clock: FixedClock) -> None:
    """46/HD-TLĐ counts who took part: the co-authors a submission names are counted once
    each per unit, also when two submissions name the same one (in other spellings)."""
    app = any_app
    await _file_with_co_authors(
        app, "w-1", "0912 000 001", "Máy cắt vải tự động", ["Lê Văn Ba, 1980, 30%"], "70"
    )
    await _file_with_co_authors(
        app,
        "w-2",
        "0912 000 002",
        "Bàn ủi hơi tiết kiệm điện",
        ["LÊ VĂN BA, 1980, 20%", "Trần Thị Cúc, 1991, 30%"],
        "50",
    )
    said = await admin.print_stats(app, "t24", None, None, recount=False)
    assert "Người tham gia: 4" in said, said  # two authors, two co-authors
    recounted = await admin.print_stats(app, "t24", None, None, recount=True)
    assert "Người tham gia: 4" in recounted
    country = await admin.print_stats(app, "*", None, None, recount=False)
    assert "Người tham gia: 4" in country
