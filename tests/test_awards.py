"""The award season as 45/HD-CĐYT runs it (the `75nghin` preset): a province officer
nominates for the Tổng Liên đoàn within four per province, naming one of the five fields,
before the deadline; complaints keep an initiative out; the secretariat does the same from
the command line."""

from __future__ import annotations

import asyncio
import html
import io
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from aiogram.methods import SendDocument
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot import admin as admin_cli
from bot.app import App
from bot.awards import season
from bot.awards.dossier import DossierRequest, dossier_files, write_files
from bot.clock import FixedClock
from bot.config import Settings
from bot.jobs import remind_of_deadlines
from bot.review import ACCEPTED, change_status, file
from bot.store.models import AuditLog, Dispute, Nomination, Outbox, Submission
from bot.store.uow import UnitOfWork
from rules.campaigns import TZ
from rules.verdict import Ok
from tests.conftest import CliRun, running_app
from tests.fakechat import FakeChat
from tests.flow import claim_code_in, grant_role, login
from tests.records import placeholder_submission
from tests.telegram_harness import TelegramUser
from tests.test_cli import run
from tests.test_telegram import login as telegram_login

SEASON = datetime(2021, 4, 1, 9, 0, tzinfo=TZ)  # 75nghin: nominations for tld due 10/4/2021
CODES = [f"SK-2021-{n:06d}" for n in range(1, 7)]


@asynccontextmanager
async def six_accepted_in_thai_binh(
    url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> AsyncIterator[App]:
    """The 75nghin campaign with six valid initiatives of Thái Bình (t34) members."""
    async with running_app(make_settings(url, campaign="75nghin"), clock) as app:
        services = app.engine.services
        await login(FakeChat(app.engine, user_id="author", channel="zalo"), "0912 000 201")
        async with UnitOfWork(app.sessions) as uow:
            [author] = await uow.people.holding("+84912000201")
            for index in range(6):
                item = placeholder_submission(
                    datetime(2021, 3, 15, 9, 0, tzinfo=TZ),
                    campaign="75nghin",
                    phase="dot1",
                    target_group="doanh_nghiep",
                    draft_id=f"award-{index}",
                    person_id=author.id,
                    channel="fake",
                    unit_code="t34",
                    title=f"Cải tiến dây chuyền số {index + 1}",
                    description="Mô tả",
                )
                await file(uow, services.catalog, [(item, [])], "SK")
                await change_status(uow, services.catalog, item, ACCEPTED, None, None, clock.now())
            await uow.commit()
        yield app


async def _province_officer(app: App, clock: FixedClock) -> FakeChat:
    officer = FakeChat(app.engine, user_id="officer-tb", channel="telegram")
    await login(officer, "0912 345 001")
    await grant_role(app, clock, officer, "officer", "t34")
    return officer


async def test_four_for_the_confederation_and_the_fifth_refused_with_the_quota(
    any_db_url: str, make_settings: Callable[..., Settings]
) -> None:
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(any_db_url, make_settings, clock) as app:
        officer = await _province_officer(app, clock)
        await officer.send(f"/khenthuong tld {CODES[0]}")
        assert "cần chọn một tiêu chí: 1. Sản xuất có giá trị làm lợi cao" in officer.text
        for code in CODES[:4]:
            await officer.send(f"/khenthuong tld {code} 2")
            assert f"Đã đề nghị {code} ở cấp “Tổng Liên đoàn khen thưởng”" in officer.text
            assert "Tiêu chí: Tạo ra sản phẩm mới." in officer.text
        await officer.send(f"/khenthuong tld {CODES[4]} 1")
        assert "Thái Bình đã đề nghị đủ 4/4 sáng kiến ở cấp “Tổng Liên đoàn khen thưởng”" in (
            officer.text
        )
        await officer.send("/khenthuong")
        assert "Thái Bình: 4/4, đang mở" in officer.text
        assert f"• {CODES[3]} Cải tiến dây chuyền số 4 [Tạo ra sản phẩm mới]" in officer.text
        await officer.send("/stats")
        assert "Đề nghị khen thưởng: Tổng Liên đoàn 4\n" in officer.text
        await officer.send(f"/khenthuong rút tld {CODES[3]}")
        assert f"Đã rút đề nghị {CODES[3]}" in officer.text
        await officer.send(f"/khenthuong tld {CODES[4]} 1")
        assert f"Đã đề nghị {CODES[4]}" in officer.text
        async with app.sessions() as session:
            standing = await session.scalars(
                select(Nomination).where(Nomination.withdrawn_at.is_(None))
            )
            assert len(standing.all()) == 4


BAD_INPUT = [  # typed, the one line that says why
    ("/khenthuong tw SK-2021-000001", "Không có cấp khen thưởng “tw”. Có: tinh"),
    ("/khenthuong tld", "Thiếu mã sáng kiến."),
    ("/khenthuong tld SK-2021-999999 1", "Không tìm thấy SK-2021-999999 trong phạm vi"),
    ("/khenthuong tld SK-2021-000001 9", "cần chọn một tiêu chí"),
    ("/khieunai SK-2021-000001", "Cần ghi nội dung khiếu nại"),
    ("/gokhieunai SK-2021-000001 đã xong", "không có khiếu nại hay tranh chấp nào đang mở"),
    ("/khenthuong rút tinh SK-2021-000001", "chưa được đề nghị ở cấp “Liên đoàn Lao động tỉnh"),
]


@pytest.mark.parametrize(("typed", "said"), BAD_INPUT)
async def test_each_bad_award_command_gets_one_clear_line(
    db_url: str, make_settings: Callable[..., Settings], typed: str, said: str
) -> None:
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        officer = await _province_officer(app, clock)
        await officer.send(typed)
        assert said in officer.text, officer.text


async def test_a_complaint_keeps_an_initiative_out_until_it_is_lifted(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        officer = await _province_officer(app, clock)
        await officer.send(f"/khenthuong tinh {CODES[0]}")
        assert "Đã đề nghị" in officer.text
        await officer.send(f"/tranhchap {CODES[0]} Hai người cùng nhận là tác giả")
        assert "tranh chấp quyền tác giả; đã rút 1 đề nghị khen thưởng" in officer.text
        await officer.send(f"/khenthuong tinh {CODES[0]}")
        assert "đang có tranh chấp quyền tác giả" in officer.text
        await officer.send(f"/duyet {CODES[0]}")
        assert "⚠️ Đang có tranh chấp quyền tác giả: Hai người cùng nhận" in officer.text
        assert not [label for label in officer.labels if "Đề nghị" in label]
        await officer.send(f"/gokhieunai {CODES[0]} Đã xác minh tác giả duy nhất")
        assert "Đã gỡ đánh dấu" in officer.text
        await officer.send(f"/khenthuong tinh {CODES[0]}")
        assert "Đã đề nghị" in officer.text
        async with app.sessions() as session:
            told = (await session.scalars(select(Outbox.payload))).all()
            audited = (await session.scalars(select(AuditLog.action))).all()
        assert sum("tranh chấp quyền tác giả" in str(p).lower() for p in told) == 2
        assert {"award.dispute_marked", "award.dispute_lifted"} <= set(audited)


async def test_a_level_past_its_deadline_is_closed(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        officer = await _province_officer(app, clock)
        clock.set(datetime(2021, 4, 10, 23, 59, tzinfo=TZ))
        await officer.send(f"/khenthuong tld {CODES[0]} 3")
        assert "Đã đề nghị" in officer.text  # the deadline day itself still counts
        clock.set(datetime(2021, 4, 11, 0, 0, tzinfo=TZ))
        await officer.send(f"/khenthuong tld {CODES[1]} 3")
        assert "đã hết hạn nộp hồ sơ ngày 10/04/2021" in officer.text
        await officer.send("/khenthuong")
        assert "Thái Bình: 1/4, đã hết hạn" in officer.text
        await officer.send("/molai tld 20/4/2021 gửi bổ sung")
        assert "dành cho cán bộ công đoàn được phân quyền" in officer.text  # admins only
        admin = FakeChat(app.engine, user_id="admin-tb", channel="zalo")
        await login(admin, "0912 345 002")
        await grant_role(app, clock, admin, "admin", "t34")
        for typed, said in (
            ("/molai", "Cách dùng: /molai <cấp> [đơn vị] <đến ngày> <lý do>"),
            ("/molai tld gửi bổ sung", "Thiếu ngày mở lại đến"),
            ("/molai tld 20/4/2021", "Cần ghi lý do mở lại"),
            ("/molai tld t01 20/4/2021 gửi bổ sung", "ngoài phạm vi bạn được phân quyền"),
        ):
            await admin.send(typed)
            assert said in admin.text, (typed, admin.text)
        await admin.send("/molai tld 20/4/2021 hai đơn vị gửi bổ sung hồ sơ")
        assert (
            "Đã mở lại cấp “Tổng Liên đoàn khen thưởng” cho Thái Bình đến hết ngày 20/04/2021"
            in (admin.text)
        )
        await officer.send(f"/khenthuong tld {CODES[1]} 3")
        assert f"Đã đề nghị {CODES[1]}" in officer.text
        async with app.sessions() as session:
            reopened = await session.scalar(
                select(AuditLog).where(AuditLog.action == "award.reopened")
            )
        assert reopened is not None and reopened.detail["reason"] == "hai đơn vị gửi bổ sung hồ sơ"


async def test_the_secretariat_runs_the_season_from_the_command_line(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path, cli: CliRun
) -> None:
    """`sangkien awards …` as the operator: exit 0 and the result, or exit 2 and one line;
    the dossier's files re-open with python-docx and openpyxl and hold the four titles."""
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        # the CLI's own run of the same calls is the fourth below
        await _nominate_as_operator(app, clock, CODES[:3])
    env = {"SANGKIEN_CAMPAIGN": "75nghin"}
    at = ["--db", db_url]

    async def awards(*args: str, process: bool = False) -> tuple[int, str]:
        """In this process (the same entry point), or with `process` in a new one."""
        argv, settings = ["awards", *args, *at], {**env, "SANGKIEN_NOW": "2021-04-01T09:00"}
        done = (
            run(argv, tmp_path, **settings)
            if process
            else await asyncio.to_thread(cli, argv, **settings)
        )
        # stderr names the database first (every operator command does), then the refusal
        said = [line for line in done.stderr.splitlines() if "cơ sở dữ liệu" not in line]
        return done.returncode, "\n".join([done.stdout.strip(), *said]).strip()

    proposed = await awards(
        "propose", CODES[3], "--level", "tld", "--criterion", "1", process=True
    )
    assert proposed[0] == 0 and f"Đã đề nghị {CODES[3]}" in proposed[1], proposed
    refused = await awards("propose", CODES[4], "--level", "tld", "--criterion", "1")
    assert refused[0] == 2 and "đã đề nghị đủ 4/4 sáng kiến" in refused[1], refused
    assert len(refused[1].splitlines()) == 1
    assert (await awards("propose", "SK-2021-999999", "--level", "tld"))[1].endswith(
        "không có sáng kiến “SK-2021-999999”"
    )
    assert (
        "Không có cấp khen thưởng “tw”" in (await awards("propose", CODES[4], "--level", "tw"))[1]
    )
    status = await awards("status", "--unit", "t34")
    assert status[0] == 0 and "Thái Bình: 4/4, đang mở" in status[1]

    folder = tmp_path / "ho-so"
    written = await awards("dossier", "--unit", "t34", "--level", "tld", "--out", str(folder))
    assert written[0] == 0, written
    titles = [f"Cải tiến dây chuyền số {n}" for n in range(1, 5)]
    letter = docx.Document(str(folder / "to-trinh-tld-t34.docx"))
    text = "\n".join(p.text for p in letter.paragraphs)
    cells = "\n".join(c.text for t in letter.tables for row in t.rows for c in row.cells)
    assert "TỜ TRÌNH" in text and "Kính gửi: Đoàn Chủ tịch Tổng Liên đoàn" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert "LIÊN ĐOÀN LAO ĐỘNG TỈNH THÁI BÌNH" in cells and "Số: ......../TTr-..." in cells
    assert all(title in cells for title in titles) and titles[0] + "\n" not in text
    minutes = docx.Document(str(folder / "bien-ban-tld-t34.docx"))
    assert "BIÊN BẢN" in "\n".join(p.text for p in minutes.paragraphs)
    summary = docx.Document(str(folder / "mau-1-tld-t34.docx"))
    summary_cells = [c.text for t in summary.tables for row in t.rows for c in row.cells]
    assert any("03 năm (2018 – 2020)" in c for c in summary_cells)
    assert any("ĐT 0912000201" in c for c in summary_cells), summary_cells
    sheet = openpyxl.load_workbook(folder / "mau-1-tld-t34.xlsx").active
    assert sheet is not None
    listed = {str(v) for row in sheet.iter_rows(values_only=True) for v in row if v}
    assert all(title in listed for title in titles) and CODES[4] not in listed


async def test_officers_are_reminded_a_week_and_a_day_before_the_deadline_once(
    any_db_url: str, make_settings: Callable[..., Settings]
) -> None:
    clock = FixedClock(datetime(2021, 4, 3, 8, 0, tzinfo=TZ))  # tld: due 10/4/2021
    async with six_accepted_in_thai_binh(any_db_url, make_settings, clock) as app:
        await _province_officer(app, clock)
        assert await remind_of_deadlines(app) == 1
        assert await remind_of_deadlines(app) == 0  # the loop again, or a worker restarted
        clock.set(datetime(2021, 4, 9, 8, 0, tzinfo=TZ))
        await remind_of_deadlines(app)
        await remind_of_deadlines(app)
        clock.set(datetime(2021, 4, 5, 8, 0, tzinfo=TZ))  # neither 7 nor 1 day before
        assert await remind_of_deadlines(app) == 0
        async with app.sessions() as session:
            sent = [str(p) for p in await session.scalars(select(Outbox.payload))]
    reminders = [text for text in sent if "⏰" in text]
    assert len(reminders) == 2, reminders
    assert (
        "Còn 7 ngày đến hạn nộp hồ sơ “Tổng Liên đoàn khen thưởng” (10/04/2021)" in (reminders[0])
    )
    assert "Thái Bình đã đề nghị 0/4 sáng kiến" in reminders[0]
    assert "Còn 1 ngày" in reminders[1]


TITLES = [f"Cải tiến dây chuyền số {n}" for n in range(1, 5)]


async def test_a_province_officer_on_telegram_nominates_four_and_files_the_dossier(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    """The issue's “done when”: four for the Tổng Liên đoàn, the fifth refused with the quota
    named, then /hoso sends the four files, made in the export process, that hold them."""
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        officer = TelegramUser(app.engine, user_id=5034)
        await telegram_login(officer)
        issued = await admin_cli.grant(app, clock, "officer", "t34", None)
        await officer.send(f"/nhanquyen {claim_code_in(issued)}")
        for code in CODES[:4]:
            await officer.send(f"/khenthuong tld {code} 1")
            assert f"Đã đề nghị {code}" in officer.last.text
        await officer.send(f"/khenthuong tld {CODES[4]} 1")
        assert "đã đề nghị đủ 4/4 sáng kiến ở cấp “Tổng Liên đoàn khen thưởng”" in (
            officer.last.text
        )
        for typed, said in (
            ("/hoso", "Cách dùng: /hoso <cấp> [đơn vị]"),
            ("/hoso tw", "Không có cấp khen thưởng “tw”"),
            ("/hoso tinh", "Thái Bình chưa có đề nghị nào ở cấp “Liên đoàn Lao động tỉnh"),
            ("/hoso tld t01", "ngoài phạm vi bạn được phân quyền"),
        ):
            await officer.send(typed)
            assert said in html.unescape(officer.last.text or ""), (typed, officer.last.text)
        assert officer.sent(SendDocument) == []
        await officer.send("/hoso tld")
        assert "Hồ sơ đề nghị khen thưởng cấp “Tổng Liên đoàn khen thưởng” của Thái Bình" in (
            officer.last.text
        )
        uploads = dict(officer.session.uploads)
        # they list phone numbers: once Telegram has them, no copy stays on this server
        assert list(app.engine.services.files.exports.iterdir()) == []
        # a complaint recorded by hand, past the bot (marking one in chat ends its nomination)
        async with app.sessions() as session, session.begin():
            first = await session.scalar(select(Submission.id).where(Submission.code == CODES[0]))
            assert first is not None
            session.add(
                Dispute(
                    submission_id=first, kind="khieu_nai", note="Đơn thư", marked_at=clock.now()
                )
            )
        await officer.send("/hoso tld")
        assert f"Chưa lập được hồ sơ: {CODES[0]} đang có khiếu nại" in officer.last.text
        assert len(officer.sent(SendDocument)) == 4
    assert sorted(uploads) == [
        "bien-ban-tld-t34.docx",
        "mau-1-tld-t34.docx",
        "mau-1-tld-t34.xlsx",
        "to-trinh-tld-t34.docx",
    ]
    letter = docx.Document(io.BytesIO(uploads["to-trinh-tld-t34.docx"]))
    cells = "\n".join(c.text for t in letter.tables for row in t.rows for c in row.cells)
    assert all(title in cells for title in TITLES) and "dây chuyền số 5" not in cells
    sheet = openpyxl.load_workbook(io.BytesIO(uploads["mau-1-tld-t34.xlsx"])).active
    assert sheet is not None
    listed = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
    assert all(title in listed for title in TITLES) and "Tổng Liên đoàn" in listed


async def test_the_dossier_reopens_in_libreoffice(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The files as an office would open them: LibreOffice headless turns each into text that
    holds the titles. .ci/run installs it; elsewhere the test says it is missing."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing: .ci/run installs it")
        pytest.skip("LibreOffice (soffice) is not installed: see docs/operations.md")
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(db_url, make_settings, clock) as app:
        services = app.engine.services
        await _nominate_as_operator(app, clock, CODES[:4])
        async with app.sessions() as session:
            request = DossierRequest(
                services.campaign,
                services.catalog,
                services.campaign.award_levels[1],
                "t34",
                clock.now(),
            )
            made = await dossier_files(session, request)
    assert isinstance(made, Ok)
    written = write_files(made.value, tmp_path / "ho-so")
    converted = tmp_path / "converted"
    profile = (tmp_path / "lo-profile").as_uri()
    for target, paths in (
        ("txt:Text", [p for p in written if p.suffix == ".docx"]),
        ("csv:Text - txt - csv (StarCalc):44,34,76", [p for p in written if p.suffix == ".xlsx"]),
    ):
        done = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                target,
                "--outdir",
                str(converted),
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    for path in written:
        out = converted / f"{path.stem}.{'txt' if path.suffix == '.docx' else 'csv'}"
        text = out.read_text(encoding="utf-8-sig", errors="replace")
        assert all(title in text for title in TITLES), (path.name, text[:500])


WAITING_ON_LOCKS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.mark.postgres
async def test_two_processes_at_once_cannot_make_five_of_four(
    clean_postgres_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Three nominated; two secretaries propose the fourth and a fifth at the same moment
    from two processes. The test holds the level's lock until both are queued on it (so
    they are inside their transactions together), then lets them go: one gets the last
    place, the other is told the quota."""
    url = clean_postgres_url
    clock = FixedClock(SEASON)
    async with six_accepted_in_thai_binh(url, make_settings, clock) as app:
        await _nominate_as_operator(app, clock, CODES[:3])
    environment = {
        **os.environ,
        "SANGKIEN_CAMPAIGN": "75nghin",
        "SANGKIEN_NOW": "2021-04-01T09:00",
        "SANGKIEN_FILES_DIR": str(tmp_path / "files"),
    }
    holder_engine = create_async_engine(url)
    try:
        async with holder_engine.connect() as holder:
            lock = season.quota_lock("75nghin", "tld", "t34")
            await holder.execute(select(func.pg_advisory_lock(lock)))
            processes = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "bot.cli", "awards", "propose", code, "--level", "tld"),
                    *("--criterion", "1", "--db", url),
                    env=environment,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                for code in CODES[3:5]
            ]
            waiting = 0
            for _ in range(1200):  # up to a minute for two interpreters to start
                waiting = int(await holder.scalar(WAITING_ON_LOCKS) or 0)
                if waiting == 2 or any(p.returncode is not None for p in processes):
                    break
                await asyncio.sleep(0.05)
            await holder.execute(select(func.pg_advisory_unlock(lock)))
        said = [await asyncio.wait_for(p.communicate(), 60) for p in processes]
    finally:
        await holder_engine.dispose()
    assert waiting == 2, "both processes should queue on the level's lock"
    outcomes = sorted(
        (p.returncode, (out + err).decode()) for p, (out, err) in zip(processes, said, strict=True)
    )
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "đã đề nghị đủ 4/4 sáng kiến" in outcomes[1][1]
    async with (
        running_app(make_settings(url, campaign="75nghin"), clock) as app,
        app.sessions() as session,
    ):
        standing = await session.scalars(
            select(Nomination).where(Nomination.withdrawn_at.is_(None))
        )
        assert len(standing.all()) == 4


async def _nominate_as_operator(app: App, clock: FixedClock, codes: list[str]) -> None:
    services = app.engine.services
    level = services.campaign.award_levels[1]  # tld
    async with UnitOfWork(app.sessions) as uow:
        for code in codes:
            item = await uow.submissions.by_code(code)
            assert item is not None
            operator = season.Actor(None, None, "cli")
            asked = season.Request(
                services.campaign, services.catalog, level, item, operator, clock.now()
            )
            assert isinstance(await season.nominate(uow, asked, 1), Ok)
        await uow.commit()
