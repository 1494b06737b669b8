"""Officers and results: scopes, review decisions pushed to authors, stats, chart, exports."""

from __future__ import annotations

import asyncio
import csv
import io
import struct
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import admin
from bot.app import App
from bot.clock import FixedClock
from bot.dialogs.types import Reply
from bot.outbox import OutboxDeliverer
from bot.review import ACCEPTED, NEEDS_INFO, REJECTED, change_status, file
from bot.stats.chart import render_pngs
from bot.stats.export import TOTAL_LABEL, header_for
from bot.stats.views import Period, stats
from bot.store.counters import rebuild
from bot.store.models import AuditLog, Outbox, StatCounter, Submission
from bot.store.uow import UnitOfWork
from rules.campaigns import TZ
from rules.similar import fingerprint
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, grant_role, login, submit_new
from tests.records import export_of_the_country, placeholder_submission


def data_rows(sheet: Any) -> list[tuple[Any, ...]]:
    """The submissions' rows of an export: from under the header to the total."""
    found: list[tuple[Any, ...]] | None = None
    for row in sheet.iter_rows(values_only=True):
        if row[0] == TOTAL_LABEL and found is not None:
            return found
        if found is not None:
            found.append(row)
        elif row[0] == "TT":  # the header
            found = []
    raise AssertionError("no header or no total row")


async def rows(app: App, model: type) -> list:
    async with AsyncSession(app.db) as session:
        return list((await session.execute(select(model))).scalars())


async def worker_submits(
    app: App, user: str, phone: str, unit_query: str, unit_label: str, title: str
) -> FakeChat:
    chat = FakeChat(app.engine, user_id=user, channel="telegram")
    await login(chat, phone)
    await chat.click("Nộp sáng kiến mới")
    for answer in ["Trần Thị Thu", "1988", "Điều dưỡng", "Bệnh viện tỉnh"]:
        await chat.send(answer)
    await chat.send(unit_query)
    if unit_label:
        await chat.send(unit_label)
    await fill_initiative(chat, title)
    await chat.click("Gửi sáng kiến")
    assert "Mã hồ sơ" in chat.text, chat.text
    return chat


async def officer(
    app: App, clock: FixedClock, unit: str, phone: str = "0987 000 111", user: str = "officer-1"
) -> FakeChat:
    chat = FakeChat(app.engine, user_id=user, channel="zalo")
    await login(chat, phone)
    await grant_role(app, clock, chat, "officer", unit)
    return chat


async def pushes_to(app: App, chat_id: str) -> list[str]:
    return [row.payload["text"] for row in await rows(app, Outbox) if row.chat_id == chat_id]


async def test_officer_sees_only_their_subtree_and_authors_are_told(
    app: App, clock: FixedClock
) -> None:
    await worker_submits(
        app,
        "w-bg",
        "0912 000 001",
        "bac giang",
        "chon chinh bac giang",
        "Sáng kiến Bắc Giang về hồ sơ",
    )
    await worker_submits(
        app,
        "w-tb",
        "0912 000 002",
        "thai binh",
        "cong doan nganh y te tinh thai binh",
        "Sáng kiến Thái Bình về y tế",
    )
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    assert "Sáng kiến SK-2022-000001 (Đã gửi)" in boss.text and "Bắc Giang" in boss.text
    assert await pushes_to(app, "w-bg") == []  # looking tells nobody anything
    await boss.click("Nhận xem xét")
    assert "Điện thoại tác giả: 0912000001 (tự khai, chưa xác minh)" in boss.text
    assert "đang được cán bộ công đoàn xem xét" in (await pushes_to(app, "w-bg"))[-1]
    await boss.click("✅ Hợp lệ")
    assert "Không còn sáng kiến nào chờ duyệt" in boss.text  # Thái Bình's is not offered
    assert "đã được công nhận hợp lệ" in (await pushes_to(app, "w-bg"))[-1]
    assert await pushes_to(app, "w-tb") == []

    await boss.send("/stats thai binh")
    assert "ngoài phạm vi" in boss.text
    await boss.send("/xuat t34")
    assert "ngoài phạm vi" in boss.text
    worker = FakeChat(app.engine, user_id="w-tb", channel="telegram")
    await worker.send("/duyet")
    assert "chưa có quyền" in worker.text
    denied = [a for a in await rows(app, AuditLog) if a.action == "access.denied"]
    assert {a.subject for a in denied} == {"/stats", "/xuat", "/duyet"}
    statuses = {s.unit_code: s.status for s in await rows(app, Submission)}
    assert statuses == {"t24": ACCEPTED, "t34.nganh_y_te": "submitted"}


async def test_return_with_note_then_author_completes(app: App, clock: FixedClock) -> None:
    author = await worker_submits(
        app, "w-1", "0912 000 011", "bac giang", "chon chinh bac giang", "Cải tiến sổ theo dõi"
    )
    boss = await officer(app, clock, "*")
    await boss.send("/duyet")
    await boss.click("Yêu cầu bổ sung")
    assert "cần bổ sung gì" in boss.text
    await boss.send("Thiếu quyết định công nhận, vui lòng đính kèm.")
    assert "Cần bổ sung" in boss.text
    assert "Thiếu quyết định công nhận" in (await pushes_to(app, "w-1"))[-1]

    await author.send("/cuatoi")
    await author.click("SK-2022-000001")
    assert "Trạng thái: Cần bổ sung" in author.text and "Thiếu quyết định" in author.text
    await author.click("Bổ sung và gửi lại")
    assert "TÓM TẮT SÁNG KIẾN" in author.text
    await author.click("Sửa một mục")
    await author.click("Tên sáng kiến")
    await author.send("Cải tiến sổ theo dõi điện tử")
    await author.click("Gửi sáng kiến")
    assert "Đã gửi lại sáng kiến SK-2022-000001" in author.text
    officer_chat = (await rows(app, Outbox))[-1]
    assert officer_chat.chat_id == "officer-1"  # the officer who asked is told
    assert "đã được tác giả gửi lại. Gõ /duyet SK-2022-000001" in officer_chat.payload["text"]
    [submission] = await rows(app, Submission)
    assert (submission.status, submission.title) == ("submitted", "Cải tiến sổ theo dõi điện tử")
    assert submission.fingerprint == fingerprint(submission.title, submission.description)
    await boss.send("/duyet")
    await boss.click("Không hợp lệ")
    await boss.send("Sáng kiến áp dụng ngoài thời gian quy định.")
    assert "Lý do: Sáng kiến áp dụng ngoài" in (await pushes_to(app, "w-1"))[-1]
    await author.send("/cuatoi")
    await author.click("SK-2022-000001")
    assert author.labels == ["↩ Quay lại"]  # nothing left to do on a rejected one


async def test_withdraw_only_before_review(app: App, clock: FixedClock) -> None:
    author = FakeChat(app.engine, user_id="w-2")
    await login(author)
    await submit_new(author, "Sáng kiến thứ nhất về an toàn điện")
    await submit_new(author, "Sáng kiến thứ hai về môi trường nhà xưởng")
    await author.send("/cuatoi")
    await author.click("SK-2022-000001")
    await author.click("Rút sáng kiến")
    assert "Đã rút sáng kiến SK-2022-000001" in author.text
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    assert "SK-2022-000002" in boss.text
    await author.send("/cuatoi")
    await author.click("SK-2022-000002")
    assert "Rút sáng kiến" in author.labels  # an officer looking changes nothing
    await boss.click("Nhận xem xét")
    await author.send("/cuatoi")
    await author.click("SK-2022-000002")
    assert "Đang xem xét" in author.text and "Rút sáng kiến" not in author.labels


async def test_near_duplicate_is_flagged(app: App, clock: FixedClock) -> None:
    author = FakeChat(app.engine, user_id="w-3")
    await login(author)
    first = await submit_new(author, "Số hóa quy trình tiếp nhận hồ sơ")
    assert "tương tự" not in first
    second = await submit_new(author, "Số hóa quy trình tiếp nhận hồ sơ bệnh nhân")
    assert "đã gửi sáng kiến tương tự: SK-2022-000001" in second
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    await boss.click("Mục tiếp theo")
    assert "Gần giống sáng kiến đã gửi: SK-2022-000001" in boss.text


async def test_near_duplicate_of_the_unit_not_of_a_withdrawn_one(any_app: App) -> None:
    first, second, third = (FakeChat(any_app.engine, user_id=f"u-{n}") for n in range(3))
    for chat, phone in ((first, "0912000001"), (second, "0912000002"), (third, "0912000003")):
        await login(chat, phone)
    await submit_new(first, "Số hóa quy trình tiếp nhận hồ sơ")
    flagged = await submit_new(second, "Số hóa quy trình tiếp nhận hồ sơ bệnh nhân")
    assert "tương tự: SK-2022-000001" in flagged  # another person of the same unit
    await first.send("/cuatoi")
    await first.click("SK-2022-000001")
    await first.click("Rút sáng kiến")
    third_text = await submit_new(third, "Số hóa quy trình tiếp nhận hồ sơ")
    assert "tương tự: SK-2022-000002" in third_text  # the withdrawn first one is not offered


async def test_near_duplicates_by_fingerprint_and_of_older_rows(any_app: App) -> None:
    first, second, third = (FakeChat(any_app.engine, user_id=f"f-{n}") for n in range(3))
    for chat, phone in ((first, "0912000011"), (second, "0912000012"), (third, "0912000013")):
        await login(chat, phone)
    await submit_new(first, "Số hóa quy trình tiếp nhận hồ sơ")
    [filed] = await rows(any_app, Submission)
    assert filed.fingerprint  # kept with the filing
    other = await submit_new(
        second,
        "Lắp cảm biến nhiệt cho tủ điện phân xưởng",
        "Tủ điện hay quá nhiệt vào mùa hè. Gắn cảm biến báo về điện thoại tổ trưởng ca.",
    )
    assert "tương tự" not in other  # same unit, another initiative
    async with AsyncSession(any_app.db) as session, session.begin():
        # as rows filed before fingerprints were kept (revision 0006) have them
        await session.execute(update(Submission).values(fingerprint=None))
    flagged = await submit_new(third, "Số hóa quy trình tiếp nhận hồ sơ bệnh nhân")
    assert "tương tự: SK-2022-000001" in flagged
    assert all(row.fingerprint for row in await rows(any_app, Submission))  # stored on the way


async def test_near_duplicates_of_the_person_however_busy_the_unit(app: App) -> None:
    """The unit's 200 latest filings and the person's own are checked: a person's earlier
    filing still counts after 200 newer ones in the unit, another person's does not."""
    mine, theirs = FakeChat(app.engine, user_id="own-1"), FakeChat(app.engine, user_id="own-2")
    await login(mine, "0912000021")
    await login(theirs, "0912000022")
    await submit_new(mine, "Số hóa quy trình tiếp nhận hồ sơ")
    [first] = await rows(app, Submission)
    sensor = "Lắp cảm biến nhiệt cho tủ điện phân xưởng"
    when = app.engine.services.clock.now()
    async with UnitOfWork(app.sessions) as uow:
        other = await uow.people.add_person("+84912000023", when, verified=False)
        for index in range(201):  # the first is the unit's 201st latest, once all are in
            title = sensor if index == 0 else f"Sáng kiến số {index}"
            busy = placeholder_submission(
                when,
                draft_id=f"busy-{index}",
                person_id=other.id,
                channel="fake",
                unit_code=first.unit_code,
                title=title,
                description=f"Mô tả riêng {index}",
            )
            await uow.submissions.add([(busy, [])], "SK")
        await uow.commit()

    again = await submit_new(mine, "Số hóa quy trình tiếp nhận hồ sơ")
    assert f"tương tự: {first.code}" in again
    late = await submit_new(theirs, sensor, "Mô tả riêng 0")
    assert "tương tự" not in late, late
    # a file's authors are read together: the same candidates as one at a time
    async with UnitOfWork(app.sessions) as uow:
        newcomer = await uow.people.add_person("+84912000024", when, verified=False)
        people = [other.id, first.person_id, newcomer.id]
        together = await uow.submissions.candidates_of_people(people)
        for person in people:
            alone, _ = await uow.submissions.similar_candidates(person, first.unit_code)
            assert together[person] == alone
        assert [len(together[person]) for person in people] == [200, 2, 0]


SEED = [  # unit, group, type, days after 2022-03-01, final status
    ("t24", "can_bo_cong_doan", "quan_ly", 0, "submitted"),
    ("t24", "can_bo_cong_doan", "ky_thuat", 1, ACCEPTED),
    ("t24.hiep_hoa", "cnld_doanh_nghiep", "ky_thuat", 2, ACCEPTED),
    ("t24.hiep_hoa", "cnld_doanh_nghiep", "ky_thuat", 8, REJECTED),
    ("t24.nganh_y_te", "vc_su_nghiep", "covid", 9, NEEDS_INFO),
    ("t34", "vc_su_nghiep", "quan_ly", 9, ACCEPTED),
    ("ng.giao_duc", "vc_su_nghiep", "tac_nghiep", 15, "submitted"),
]


async def seed(app: App) -> None:
    services = app.engine.services
    async with UnitOfWork(app.sessions) as uow:
        people = [
            await uow.people.add_person(f"+8491200010{i}", services.clock.now(), verified=False)
            for i in range(3)
        ]
        for index, (unit, group, kind, days, status) in enumerate(SEED):
            when = datetime(2022, 3, 1, 9, tzinfo=TZ) + timedelta(days=days)
            submission = placeholder_submission(
                when,
                draft_id=f"seed-{index}",
                person_id=people[index % 3].id,
                channel="fake",
                unit_code=unit,
                target_group=group,
                solution_type=kind,
                title=f"Sáng kiến {index}",
                description="Mô tả",
            )
            await file(uow, services.catalog, [(submission, [])], "SK")
            if status != "submitted":
                assert await change_status(
                    uow,
                    services.catalog,
                    submission,
                    status,
                    "lý do" if status != ACCEPTED else None,
                    None,
                    when,
                )
        await uow.commit()


async def figures(app: App, scope: str, period: Period | None = None):  # type: ignore[no-untyped-def]
    services = app.engine.services
    async with AsyncSession(app.db) as session:
        return await stats(session, services.campaign, services.catalog, scope, period or Period())


async def test_stats_match_hand_counts_and_a_rebuild(app: App) -> None:
    await seed(app)
    country = await figures(app, "*")
    assert country.total == 7 and country.participants == 3
    assert country.by_status == {"submitted": 2, ACCEPTED: 3, REJECTED: 1, NEEDS_INFO: 1}
    assert country.valid_rate == 3 / 4
    assert country.by_group == {"can_bo_cong_doan": 2, "cnld_doanh_nghiep": 2, "vc_su_nghiep": 3}
    assert country.by_type["ky_thuat"] == 3
    assert [(c.code, c.total, c.accepted) for c in country.children if c.total] == [
        ("t24", 5, 2),
        ("ng.giao_duc", 1, 0),
        ("t34", 1, 1),
    ]
    assert len(country.children) > 80  # every top unit, those with none too
    assert [n for _week, n in country.by_week] == [3, 3, 1]  # weeks of 28/2, 7/3, 14/3
    assert country.target == 1_000_000
    bac_giang = await figures(app, "t24")
    assert bac_giang.total == 5 and bac_giang.participants == 3
    assert [(c.name, c.total) for c in bac_giang.children if c.total] == [
        ("LĐLĐ huyện Hiệp Hòa", 2),
        ("Nộp trực tiếp tại đơn vị", 2),  # filed at Bắc Giang itself
        ("Công đoàn ngành Y tế tỉnh Bắc Giang", 1),
    ]
    march_7_to_13 = await figures(app, "*", Period(date(2022, 3, 7), date(2022, 3, 13)))
    assert march_7_to_13.total == 3

    async with AsyncSession(app.db) as session:
        before = {
            (r.scope, r.day, r.dim, r.value): r.n
            for r in (await session.execute(select(StatCounter))).scalars()
            if r.n
        }
        await rebuild(session, app.engine.services.catalog, "1trieu")
        await session.commit()
        after = {
            (r.scope, r.day, r.dim, r.value): r.n
            for r in (await session.execute(select(StatCounter))).scalars()
            if r.n
        }
    assert after == before


async def test_stats_command_chart_and_export_in_chat(app: App, clock: FixedClock) -> None:
    await seed(app)
    boss = await officer(app, clock, "t24")
    await boss.send("/stats")
    assert "Phạm vi: Bắc Giang" in boss.text and "Tổng số sáng kiến: 5" in boss.text
    assert "1. LĐLĐ huyện Hiệp Hòa: 2 (hợp lệ 1)" in boss.text
    await boss.send("/stats hiep hoa 01/03/2022 06/03/2022")
    assert "Tổng số sáng kiến: 1" in boss.text and "từ 01/03/2022 đến 06/03/2022" in boss.text
    await boss.send("/stats")
    idle = len(app.engine.services.catalog.unit("t24").children) - 2
    assert f"Chưa có sáng kiến ({idle} đơn vị): " in boss.text  # the sub-units to chase
    await boss.send("/bieudo")
    [chart] = boss.last.files
    png = Path(chart.path).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, _height = struct.unpack(">II", png[16:24])
    assert width == 900 and chart.photo
    await boss.send("/bieudo toàn quốc")
    assert "ngoài phạm vi" in boss.text
    await boss.send("/xuat")
    assert "Bảng tổng hợp: Bắc Giang, 2 sáng kiến hợp lệ." in boss.text  # the award file
    await boss.send("/xuat tất cả")
    assert "Bảng tổng hợp: Bắc Giang, 5 sáng kiến." in boss.text
    xlsx, csv_file = boss.last.files
    book = openpyxl.load_workbook(xlsx.path)
    sheet = book.active
    # mẫu 1 as the seed prints it: the issuing union's lines, the title, the form's columns
    # with the award years, phones as people write them
    assert sheet.cell(1, 1).value == "TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM"
    assert sheet.cell(2, 1).value == "LIÊN ĐOÀN LAO ĐỘNG TỈNH BẮC GIANG"
    assert sheet.cell(3, 1).value == "TỔNG HỢP TÓM TẮT SÁNG KIẾN"
    assert sheet.cell(4, 1).value.startswith("(Kèm theo Tờ trình số")
    header = tuple(c.value for c in sheet[6])
    assert header == header_for(app.engine.services.campaign)
    assert header[6] == (
        "Các danh hiệu thi đua, hình thức khen thưởng cá nhân trong 03 năm (2019 – 2021)"
    )
    data = data_rows(sheet)
    assert len(data) == 5 and all(", ĐT 09120001" in row[1] for row in data)
    assert not any("+84" in str(cell) for row in data for cell in row)
    table = list(csv.reader(io.StringIO(Path(csv_file.path).read_text(encoding="utf-8-sig"))))
    assert table[0] == list(header) and len(table) == 7 and table[-1][0] == "Tổng cộng"


async def test_export_without_phones_for_other_roles(app: App) -> None:
    await seed(app)
    files = await export_of_the_country(app)
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx)).active
    authors = [row[1] for row in data_rows(sheet)]
    assert len(authors) == 7 and not any("+84" in a for a in authors)


async def test_outbox_delivery_marks_sent_and_counts_failures(
    any_app: App, clock: FixedClock
) -> None:
    app = any_app
    author = FakeChat(app.engine, user_id="w-9", channel="telegram")
    await login(author)
    await submit_new(author)
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    await boss.click("Nhận xem xét")
    delivered: list[tuple[str, str]] = []

    async def telegram(chat_id: str, reply: Reply) -> None:
        delivered.append((chat_id, reply.text))

    async def broken(chat_id: str, reply: Reply) -> None:
        raise ConnectionError("down")

    assert await OutboxDeliverer(app.sessions, clock, {"telegram": broken}).flush() == 0
    [row] = await rows(app, Outbox)
    assert row.attempts == 1 and row.not_before is not None and row.dead_at is None
    # tried again once its back-off (2 s at most after a first failure) has passed
    assert await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush() == 0
    clock.set(clock.now() + timedelta(seconds=2))
    assert await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush() == 1
    assert delivered == [("w-9", (await pushes_to(app, "w-9"))[0])]
    assert await OutboxDeliverer(app.sessions, clock, {"telegram": telegram}).flush() == 0


async def test_messages_being_sent_hold_up_no_answer(app: App, clock: FixedClock) -> None:
    """SQLite has one writer: the outbox sends with no transaction open, so people go on
    answering while a slow platform takes its time."""
    author = FakeChat(app.engine, user_id="w-10", channel="telegram")
    await login(author)
    await submit_new(author)
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    await boss.click("Nhận xem xét")
    release = asyncio.Event()

    async def slow(chat_id: str, reply: Reply) -> None:
        await release.wait()

    sending = asyncio.create_task(OutboxDeliverer(app.sessions, clock, {"telegram": slow}).flush())
    await asyncio.sleep(0.1)  # the message to the author is on its way
    newcomer = FakeChat(app.engine, user_id="w-11")
    await newcomer.send("chào")
    assert "Tôi đồng ý" in newcomer.labels, newcomer.text
    assert not sending.done()
    release.set()
    assert await sending == 1
    assert [row.sent_at is not None for row in await rows(app, Outbox)] == [True]


def test_chart_renders_without_data(app: App) -> None:
    from bot.stats.views import Stats

    empty = Stats(app.engine.services.campaign, "*", "Toàn quốc", Period())
    [page] = render_pngs(empty)
    assert page[:4] == b"\x89PNG"


async def test_goals_give_progress_and_participation(
    db_url: str,
    make_settings,
    clock: FixedClock,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from bot.app import build_app
    from bot.config import ROOT

    text = (
        (ROOT / "campaigns.yaml")
        .read_text(encoding="utf-8")
        .replace("    goals: {}", "    goals: {t24: {target: 10, members: 100}}", 1)
    )
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text(text, encoding="utf-8")
    app = build_app(make_settings(db_url, campaigns_file=campaigns), clock)
    await seed(app)
    bac_giang = await figures(app, "t24")
    assert (bac_giang.target, bac_giang.members) == (10, 100)
    from bot.stats.report import format_stats

    report = format_stats(bac_giang)
    # 5 filed, 1 found invalid: 4 count toward the target
    assert "Chỉ tiêu: 10 – đạt 40,0% (4, không tính sáng kiến không hợp lệ)" in report
    assert "Tỷ lệ tham gia: 3,0% của 100 đoàn viên" in report
    country = format_stats(await figures(app, "*"))
    assert "  • Giai đoạn 1: 6 / 300.000 (0,0%)" in country  # 7 filed, 1 invalid
    assert "  • Giai đoạn 2: 0 / 700.000 (0,0%)" in country
    await app.close()


async def test_files_travel_as_signed_links_on_zalo(
    db_url: str,
    make_settings,
    clock: FixedClock,  # type: ignore[no-untyped-def]
) -> None:
    from urllib.parse import urlsplit

    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_app
    from bot.channels.zalo import render
    from bot.server import build_web_app

    app = build_app(
        make_settings(
            db_url,
            public_url="https://bot.example.vn",
            link_secret="s" * 32,
            zalo_token="1:zalo",
            zalo_webhook_secret="z" * 16,
        ),
        clock,
    )
    await seed(app)
    boss = await officer(app, clock, "t24")
    await boss.send("/xuat")
    xlsx, _csv = boss.last.files
    assert xlsx.url and xlsx.url.startswith("https://bot.example.vn/files/")
    assert xlsx.url in "\n".join(render(boss.last))
    link = urlsplit(xlsx.url)
    client = TestClient(TestServer(build_web_app(app)))
    await client.start_server()
    try:
        ok = await client.get(f"{link.path}?{link.query}")
        assert ok.status == 200 and await ok.read() == Path(xlsx.path).read_bytes()
        assert "tong-hop-sang-kien.xlsx" in ok.headers["Content-Disposition"]
        forged = await client.get(f"{link.path}?{link.query.replace('sig=', 'sig=0')}")
        assert forged.status == 403
        clock.set(clock.now() + timedelta(days=2))
        expired = await client.get(f"{link.path}?{link.query}")
        assert expired.status == 403
        escape = await client.get("/files/..%2F..%2Fetc%2Fpasswd?name=x&exp=9999999999&sig=0")
        assert escape.status in (403, 404)
    finally:
        await client.close()


async def test_console_user_sees_status_changes(app: App, clock: FixedClock) -> None:
    from bot.channels.console import NAME, ConsoleChannel

    author = FakeChat(app.engine, user_id="console-user", channel=NAME)
    await login(author)
    await submit_new(author)
    boss = await officer(app, clock, "t24")
    await boss.send("/duyet")
    await boss.click("Nhận xem xét")
    await boss.click("✅ Hợp lệ")
    screen = io.StringIO()
    console = ConsoleChannel(app.engine, "console-user", io.StringIO(""), screen)
    outbox = OutboxDeliverer(app.sessions, clock, {NAME: console.deliver}, chat_id="console-user")
    assert await outbox.flush() == 2  # under review, then accepted
    assert "🔔 Sáng kiến SK-2022-000001" in screen.getvalue()
    assert "đã được công nhận hợp lệ" in screen.getvalue()


async def test_the_desk_opens_codes_filters_and_undoes_but_never_self_reviews(
    app: App, clock: FixedClock
) -> None:
    first = await worker_submits(
        app, "w-20", "0912 000 020", "bac giang", "chon chinh bac giang", "Sáng kiến một"
    )
    await worker_submits(
        app, "w-21", "0912 000 021", "bac giang", "chon chinh bac giang", "Sáng kiến hai"
    )
    boss = await officer(app, clock, "t24", user="officer-20")
    await boss.send("/duyet SK-2022-000002")
    assert boss.text.startswith("Sáng kiến SK-2022-000002 (Đã gửi)")
    await boss.send("/duyet sk 2022 000099")
    assert "Không tìm thấy SK-2022-000099 trong phạm vi" in boss.text
    await boss.send("/duyet SK-2022-000001")
    await boss.click("✅ Hợp lệ")
    await boss.send("/duyet hợp lệ")  # the accepted ones
    assert boss.text.startswith("Sáng kiến SK-2022-000001 (Hợp lệ)")
    await boss.click("Hoàn tác quyết định")
    assert "Đã hoàn tác: SK-2022-000001 trở lại “Đã gửi”" in boss.text
    assert "đã được hủy" in (await pushes_to(app, "w-20"))[-1]
    await boss.click("✅ Hợp lệ")
    clock.set(clock.now() + timedelta(days=1))
    await boss.send("/duyet SK-2022-000001")
    assert "Hoàn tác quyết định" not in boss.labels  # the next day, only an admin may
    admin_chat = await officer(app, clock, "*", phone="0987 000 999", user="admin-1")
    issued = await admin.grant(app, clock, "admin", "*", None)
    await admin_chat.send(f"/nhanquyen {issued.split(': ', 1)[1].split()[0]}")
    await admin_chat.send("/duyet SK-2022-000001")
    await admin_chat.click("Hoàn tác quyết định")
    assert "trở lại “Đã gửi”" in admin_chat.text

    # An officer who files an initiative of their own never gets it on their desk.
    await submit_new(boss, "Sáng kiến của chính cán bộ")
    await boss.send("/duyet SK-2022-000003")
    assert "bạn không tự duyệt được" in boss.text and "✅ Hợp lệ" not in boss.labels
    await boss.send("/duyet")
    assert "SK-2022-000003" not in boss.text
    statuses = {s.code: s.status for s in await rows(app, Submission)}
    assert statuses["SK-2022-000003"] == "submitted"
    assert first is not None
