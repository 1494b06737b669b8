"""Intake: a union's mẫu 1 table (XLSX, CSV, DOCX) checked by the form's rules and filed for
its authors, in chat (/nhaptep) and on the command line (`sangkien intake`)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import openpyxl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.clock import FixedClock
from bot.store.models import AuditLog, Person, Submission
from tests.conftest import CliRun
from tests.fakechat import FakeChat
from tests.flow import grant_role, login
from tests.intake_files import csv_bytes, docx, member_rows, xlsx

CDCS = "t24.hiep_hoa"


async def officer_of_cdcs(app: App, clock: FixedClock, channel: str = "fake") -> FakeChat:
    officer = FakeChat(app.engine, user_id="cdcs-officer", channel=channel)
    await login(officer, "0987 000 321")
    await grant_role(app, clock, officer, "officer", CDCS)
    return officer


def thirty_rows_two_bad() -> list[list[str]]:
    rows = member_rows(30)
    rows[6][1] = rows[6][1].replace(", 1977,", ", 19777,")  # a year of five digits
    rows[18][3] = "01/10/2021 – 28/02/2021"  # ends before it starts
    return rows


async def filed(app: App) -> list[Submission]:
    async with AsyncSession(app.db) as session:
        found = await session.execute(select(Submission).order_by(Submission.id))
        return list(found.scalars())


def sheet_rows(data: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def test_an_officer_files_thirty_rows_two_come_back_and_the_same_file_files_nothing(
    app: App, clock: FixedClock
) -> None:
    officer = await officer_of_cdcs(app, clock)
    await officer.send("/nhaptep")
    assert "theo mẫu 1" in officer.text
    await officer.send_file(xlsx(thirty_rows_two_bad()), "mau1-thang3.xlsx")
    assert "Tệp không ghi nhóm đối tượng cho 15 dòng" in officer.text, officer.text
    await officer.send("công nhân")  # typed, as on a phone: part of the group's name
    said = officer.text
    assert "Tệp “mau1-thang3.xlsx”: 30 dòng sáng kiến." in said, said
    assert "Hợp lệ, sẵn sàng nộp: 28" in said and "Có lỗi: 2 (dòng 13, 25)" in said
    assert "Dòng 13 – Năm sinh:" in said and "Dòng 25 – Ngày kết thúc triển khai:" in said
    (errors,) = officer.last.files
    assert errors.name == "dong-can-sua.xlsx"
    with open(errors.path, "rb") as handle:
        back = sheet_rows(handle.read())
    assert [row[-2] for row in back[1:]] == [13, 25]
    assert "19777" in str(back[1][1]) and "Năm sinh" in str(back[1][-1])
    assert await filed(app) == []  # nothing before the officer says so

    await officer.click("Có, nộp các sáng kiến hợp lệ")
    assert "Đã nộp 28 sáng kiến" in officer.text, officer.text
    submissions = await filed(app)
    assert len(submissions) == 28
    async with AsyncSession(app.db) as session:
        me = await session.scalar(select(Person).where(Person.phone == "+84987000321"))
        assert me is not None
        first = submissions[0]
        author = await session.get(Person, first.person_id)
        assert author is not None and author.full_name == first.author_name == "Trần Thị Bình"
        assert author.phone is None and author.recorded_by == me.id  # no unverified phone
        assert {s.filed_by for s in submissions} == {me.id}
        assert {s.unit_code for s in submissions} == {CDCS}
        assert first.benefit_vnd == 25_000_000 and first.applied_scope
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "intake.applied"))
        assert audit is not None

    await officer.send("/nhaptep")
    await officer.send_file(xlsx(thirty_rows_two_bad()), "mau1-thang3.xlsx")
    await officer.send("công nhân")
    assert "Đã nộp từ trước, sẽ bỏ qua: 28" in officer.text, officer.text
    assert "Hợp lệ, sẵn sàng nộp: 0" in officer.text
    assert len(await filed(app)) == 28


NOW = {"SANGKIEN_NOW": "2022-03-01T09:00"}


async def collector_phone(app: App, clock: FixedClock) -> str:
    """A collector of the CĐCS who has signed in once (the filer `--by` names)."""
    collector = FakeChat(app.engine, user_id="collector", channel="fake")
    await login(collector, "0912 345 678")
    await grant_role(app, clock, collector, "collector", CDCS)
    return "0912345678"


async def test_the_command_line_checks_lists_every_failing_row_and_applies_once(
    app: App, clock: FixedClock, db_url: str, cli: CliRun, tmp_path: Path
) -> None:
    phone = await collector_phone(app, clock)
    table = tmp_path / "mau1.csv"
    rows = member_rows(12)
    rows[2][2] = "Cải"  # a title too short
    rows[4][9] = "Hội đồng sáng kiến, ngày 15/02/2022"  # no document number
    for row in rows:
        row[7] = ""  # no target group in the file: --nhom gives it
    table.write_bytes(csv_bytes(rows, delimiter=";"))
    errors = tmp_path / "loi.xlsx"

    checked = await asyncio.to_thread(
        cli,
        [
            "intake",
            str(table),
            "--unit",
            CDCS,
            "--db",
            db_url,
            "--nhom",
            "cong nhan",
            "--errors",
            str(errors),
        ],
        **NOW,
    )
    assert checked.returncode == 0, checked.stderr
    out = checked.stdout
    assert "12 dòng sáng kiến" in out and "Hợp lệ, sẵn sàng nộp: 10" in out, out
    assert "Dòng 4 – Tên sáng kiến:" in out and "Dòng 6 – Công nhận:" in out
    assert "Chưa ghi gì" in out and await filed(app) == []
    assert [row[-2] for row in sheet_rows(errors.read_bytes())[1:]] == [4, 6]

    no_filer = await asyncio.to_thread(
        cli, ["intake", str(table), "--unit", CDCS, "--db", db_url, "--apply"], **NOW
    )
    assert no_filer.returncode != 0 and "--by" in no_filer.stderr
    stranger = await asyncio.to_thread(
        cli,
        ["intake", str(table), "--unit", CDCS, "--db", db_url, "--apply", "--by", "0909999999"],
        **NOW,
    )
    assert stranger.returncode != 0 and "không có quyền nộp hộ" in stranger.stderr
    wrong_group = await asyncio.to_thread(
        cli, ["intake", str(table), "--unit", CDCS, "--db", db_url, "--nhom", "xyz"], **NOW
    )
    assert wrong_group.returncode != 0 and "không khớp nhóm nào" in wrong_group.stderr

    argv = [
        "intake",
        str(table),
        "--unit",
        CDCS,
        "--db",
        db_url,
        "--nhom",
        "cong nhan",
        "--apply",
        "--by",
        phone,
    ]
    applied = await asyncio.to_thread(cli, argv, **NOW)
    assert "Đã nộp 10 sáng kiến" in applied.stdout, applied.stdout + applied.stderr
    again = await asyncio.to_thread(cli, argv, **NOW)
    assert "Không có sáng kiến mới nào được nộp; 10 dòng đã nộp từ trước." in again.stdout
    submissions = await filed(app)
    assert len(submissions) == 10
    assert {s.target_group for s in submissions} == {"cnld_doanh_nghiep"}
    assert {s.channel for s in submissions} == {"cli"}


async def test_word_and_csv_tables_read_as_the_spreadsheet_does(
    app: App, clock: FixedClock
) -> None:
    officer = await officer_of_cdcs(app, clock)
    rows = member_rows(4)
    for row in rows:
        row[7] = "Công nhân lao động"
    for data, name in ((docx(rows), "mau1.docx"), (csv_bytes(rows), "mau1.csv")):
        await officer.send("/nhaptep")
        await officer.send_file(data, name)
        assert f"Tệp “{name}”: 4 dòng sáng kiến." in officer.text, officer.text
        assert "Hợp lệ, sẵn sàng nộp: 4" in officer.text or "sẽ bỏ qua: 4" in officer.text
        if "Có, nộp các sáng kiến hợp lệ" in officer.labels:
            await officer.click("Có, nộp các sáng kiến hợp lệ")
    assert len(await filed(app)) == 4  # the CSV held the same four: nothing twice
