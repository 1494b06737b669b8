"""Intake: a union's mẫu 1 table (XLSX, CSV, DOCX) checked by the form's rules and filed for
its authors, in chat (/nhaptep) and on the command line (`sangkien intake`)."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.mau1 import HEADER, csv_bytes, docx, member_rows, xlsx
from bench.ocr_bench import form_values, render
from bot import admin
from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.intake import ocr
from bot.server import telegram_channel
from bot.stats.export import TOTAL_LABEL, XLSX_MIME
from bot.store.counters import TOTAL, rebuild
from bot.store.models import AuditLog, Person, StatCounter, Submission
from tests.conftest import CliRun, running_app
from tests.fake_telegram import FakePerson, FakeTelegram
from tests.fakechat import FakeChat
from tests.flow import claim_code_in, grant_role, login, submit_new
from tests.records import export_of_the_country

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


async def counters(session: AsyncSession) -> dict[tuple[object, ...], int]:
    rows = (await session.execute(select(StatCounter))).scalars()
    return {(r.scope, r.day, r.dim, r.value): r.n for r in rows if r.n}


def sheet_rows(data: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def test_an_officer_files_thirty_rows_two_come_back_and_the_same_file_files_nothing(
    any_app: App, clock: FixedClock
) -> None:
    app = any_app
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

    given = ["intake", str(table), "--unit", CDCS, "--db", db_url]
    checked = await asyncio.to_thread(
        cli, [*given, "--nhom", "cong nhan", "--errors", str(errors)], **NOW
    )
    assert checked.returncode == 0, checked.stderr
    out = checked.stdout
    assert "12 dòng sáng kiến" in out and "Hợp lệ, sẵn sàng nộp: 10" in out, out
    assert "Dòng 4 – Tên sáng kiến:" in out and "Dòng 6 – Công nhận:" in out
    assert "Chưa ghi gì" in out and await filed(app) == []
    assert "dòng không ghi nhóm đối tượng" not in out  # --nhom gave it
    bare = await asyncio.to_thread(cli, given, **NOW)
    assert "12 dòng không ghi nhóm đối tượng: --nhom cho các dòng đó." in bare.stdout
    assert [row[-2] for row in sheet_rows(errors.read_bytes())[1:]] == [4, 6]

    no_filer = await asyncio.to_thread(cli, [*given, "--apply"], **NOW)
    assert no_filer.returncode != 0 and "--by" in no_filer.stderr
    stranger = await asyncio.to_thread(cli, [*given, "--apply", "--by", "0909999999"], **NOW)
    assert stranger.returncode != 0 and "không có quyền nộp hộ" in stranger.stderr
    wrong_group = await asyncio.to_thread(cli, [*given, "--nhom", "xyz"], **NOW)
    assert wrong_group.returncode != 0 and "không khớp nhóm nào" in wrong_group.stderr
    folder = await asyncio.to_thread(cli, ["intake", str(tmp_path), *given[2:]], **NOW)
    assert folder.returncode == 2 and "là một thư mục, không phải tệp" in folder.stderr
    assert "Traceback" not in folder.stderr

    argv = [*given, "--nhom", "cong nhan", "--apply", "--by", phone]
    applied = await asyncio.to_thread(cli, argv, **NOW)
    assert "Đã nộp 10 sáng kiến" in applied.stdout, applied.stdout + applied.stderr
    again = await asyncio.to_thread(cli, argv, **NOW)
    assert "Không có sáng kiến mới nào được nộp; 10 dòng đã nộp từ trước." in again.stdout
    submissions = await filed(app)
    assert len(submissions) == 10
    assert {s.target_group for s in submissions} == {"cnld_doanh_nghiep"}
    assert {s.channel for s in submissions} == {"cli"}
    # filed 25 to a transaction, the rows are still checked against each other: row 6 tells
    # of the same thing as row 1 in nearly the same words; the first row has nothing before it
    titled = {s.title.rsplit(" số ", 1)[1]: s for s in submissions}
    assert titled["6"].similar_to == titled["1"].code
    assert titled["1"].similar_to is None
    # and the counters, moved once per batch, are what a recount from the rows gives
    async with AsyncSession(app.db) as session:
        kept = await counters(session)
        await rebuild(session, app.engine.services.catalog, "1trieu")
        await session.commit()
        assert await counters(session) == kept
        assert kept[(CDCS, TOTAL, "people", "")] == 10  # ten authors, one each


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


async def officer_of(app: App, clock: FixedClock, unit: str) -> FakeChat:
    officer = FakeChat(app.engine, user_id=f"officer-{unit}")
    await login(officer, "0977 111 222")
    await grant_role(app, clock, officer, "officer", unit)
    return officer


async def take_in(officer: FakeChat, data: bytes, name: str) -> str:
    """/nhaptep with a file, confirmed when anything is there to file; what was said."""
    await officer.send("/nhaptep")
    await officer.send_file(data, name)
    said = officer.text
    if "Có, nộp các sáng kiến hợp lệ" in officer.labels:
        await officer.click("Có, nộp các sáng kiến hợp lệ")
        said += "\n" + officer.text
    return said


SAME_COLUMNS = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 14)  # what a row says, not how it stands


async def test_a_file_from_xuat_comes_back_in_unchanged(
    app: App,
    clock: FixedClock,
    sqlite_template: Path,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    worker = FakeChat(app.engine, user_id="worker")
    await login(worker)
    await submit_new(worker)  # with a PDF and a Drive link, in Bắc Giang
    rows = member_rows(3)
    rows[1][7] = "cnld"  # a target group by one of its short names
    rows[1][1] = (
        "Hồ Thị Oanh, 1988, Kỹ thuật viên, Phòng Kỹ thuật – Công ty May Hiệp Hòa (đóng góp "
        "60%). Đồng tác giả: Lê Văn Ba, 1980, 25%; Vũ Thu Hà, 1990, 15%"
    )
    officer = await officer_of(app, clock, "t24")
    said = await take_in(officer, xlsx(rows), "mau1.xlsx")
    assert "Đã nộp 3 sáng kiến" in said, said
    exported = await export_of_the_country(app)

    said = await take_in(officer, exported.xlsx, "tong-hop-sang-kien.xlsx")
    assert "4 dòng sáng kiến" in said and "Có lỗi: 0" in said, said
    assert "Đã nộp từ trước, sẽ bỏ qua: 4" in said

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(sqlite_template, other / "sangkien.db")
    settings = make_settings(f"sqlite+aiosqlite:///{other / 'sangkien.db'}")
    async with running_app(settings, clock) as elsewhere:
        officer_there = await officer_of(elsewhere, clock, "t24")
        said = await take_in(officer_there, exported.xlsx, "tong-hop-sang-kien.xlsx")
        assert "Đã nộp 4 sáng kiến" in said, said
        said = await take_in(officer_there, exported.csv, "tong-hop-sang-kien.csv")
        assert "Đã nộp từ trước, sẽ bỏ qua: 4" in said and "Có lỗi: 0" in said, said
        again = await export_of_the_country(elsewhere)
    before, after = export_rows(exported.xlsx), export_rows(again.xlsx)
    assert [[r[i] for i in SAME_COLUMNS] for r in after] == [
        [r[i] for i in SAME_COLUMNS] for r in before
    ]
    links = [r[15] for r in after]
    assert links[0] == "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUv/view?usp=sharing"
    assert "Công nhận cho: Hồ Thị Oanh" in str(after[2][1])


def export_rows(data: bytes) -> list[list[object]]:
    rows = sheet_rows(data)
    start = next(i for i, row in enumerate(rows) if row[0] == "TT") + 1
    end = next(i for i, row in enumerate(rows) if row[0] == TOTAL_LABEL)
    return rows[start:end]


def macro_workbook() -> bytes:
    data = io.BytesIO(xlsx(member_rows(1)))
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    return data.getvalue()


def zip_bomb() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", b"\x00" * (80 << 20))
    return data.getvalue()


def merged_heading() -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(xlsx(member_rows(2))))
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("C5:D5")  # “Tên sáng kiến” over two columns
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_formula() -> bytes:
    rows = member_rows(2)
    rows[0][2] = "=B7&B8"  # a formula openpyxl saves without a value: never evaluated
    rows[1][7] = "Công nhân lao động"
    return xlsx(rows)


BAD_FILES = [
    (b"", "Tệp rỗng"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "lưu lại thành .xlsx hoặc .docx"),
    (macro_workbook(), "Tệp có chứa macro nên không được nhận"),
    (zip_bomb(), "giải nén quá lớn"),
    (merged_heading(), "Dòng tiêu đề của bảng có ô gộp"),
    (xlsx(member_rows(2), HEADER[:3] + HEADER[4:]), "Bảng thiếu cột: “Thời gian áp dụng”"),
    (b"PK\x03\x04" + b"\x01" * 300, "bị hỏng, không mở được"),
    (csv_bytes(member_rows(1) * 2001), "mỗi lần nhận tối đa 2.000 dòng"),
    (b"ten,tuoi\nAn,30\n", "Không thấy dòng tiêu đề của mẫu 1"),
    (b"\x00\x01\x02" * 400, "Loại tệp này không được nhận"),
    ("Họ và tên;Tên sáng kiến\nAn;Một".encode("utf-16"), "Không thấy dòng tiêu đề"),
]


async def test_bad_files_get_one_line_and_the_next_file_is_still_taken(
    app: App, clock: FixedClock
) -> None:
    officer = await officer_of_cdcs(app, clock)
    await officer.send("/nhaptep")
    for data, said in BAD_FILES:
        await officer.send_file(data, "bang.xlsx")
        assert said in officer.text, (said, officer.text)
        assert "Gửi tệp khác, hoặc gõ /huy." in officer.text
        assert officer.last.files == ()
    await officer.send_file(b"\x00" * (10 * 1024 * 1024 + 1), "lon.xlsx")
    assert "vượt giới hạn 10 MB" in officer.text, officer.text
    await officer.send("đây là chữ, không phải tệp")
    assert "Vui lòng gửi tệp" in officer.text
    await officer.send_file(with_formula(), "cong-thuc.xlsx")
    assert "Dòng 7 – Tên sáng kiến: chưa có." in officer.text, officer.text
    await officer.click("Có, nộp các sáng kiến hợp lệ")
    assert "Đã nộp 1 sáng kiến" in officer.text
    (only,) = await filed(app)
    assert only.title == "Cải tiến kho nguyên liệu số 2"


async def test_answers_as_people_write_them_in_the_cells(app: App, clock: FixedClock) -> None:
    """Cells typed by hand: NFD accents, a phone in the author's cell, a period “đến nay”,
    an effect in sentences, a recognition written with “Quyết định số”, an amount column."""
    rows = member_rows(4)
    rows[0][1] = unicodedata.normalize("NFD", "Đặng Thu Hương, 1991, Điều dưỡng, Khoa Nội")
    rows[1][3] = "Từ 01/10/2021 đến nay"
    rows[2][5] = "Giảm thời gian chờ của người bệnh; phạm vi ứng dụng: toàn bệnh viện"
    rows[3][9] = "Giám đốc Công ty; Quyết định số 45/QĐ-CT, ngày 10/02/2022"
    officer = await officer_of_cdcs(app, clock)
    await officer.send("/nhaptep")
    await officer.send_file(csv_bytes(rows), "tay.csv")
    await officer.send("Công nhân lao động")
    said = officer.text
    assert "Hợp lệ, sẵn sàng nộp: 3" in said and "Có lỗi: 1 (dòng 3)" in said, said
    assert "Dòng 3 – Ngày kết thúc triển khai: Nếu sáng kiến vẫn đang áp dụng" in said
    await officer.click("Có")
    by_title = {s.title: s for s in await filed(app)}
    first = by_title["Cải tiến dây chuyền may số 1"]
    assert first.author_name == "Đặng Thu Hương" and first.author_workplace == "Khoa Nội"
    third = by_title["Cải tiến quy trình kiểm hàng số 3"]
    assert third.benefit_vnd is None and third.applied_scope == "toàn bệnh viện"
    assert third.benefit_social == "Giảm thời gian chờ của người bệnh"
    fourth = by_title["Cải tiến bàn là hơi số 4"]
    assert (fourth.recognized_by, fourth.recognition_doc) == ("Giám đốc Công ty", "45/QĐ-CT")


async def test_on_telegram_the_file_goes_in_and_the_failing_rows_come_back(
    db_url: str,
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    telegram: FakeTelegram,
) -> None:
    """Through aiogram and the fake Bot API over HTTP: the document downloaded with getFile,
    the rows to correct uploaded back, the confirmation pressed."""
    settings = make_settings(
        db_url, telegram_token=telegram.token, telegram_api_base=telegram.base_url
    )
    async with running_app(settings, clock) as app:
        channel = telegram_channel(app)
        polling = asyncio.create_task(
            channel.dispatcher.start_polling(
                channel.bot, polling_timeout=1, handle_signals=False, handle_as_tasks=False
            )
        )
        try:
            officer = FakePerson(telegram, 4242, "Hương")
            await officer.say("/start")
            await officer.press("Tôi đồng ý")
            await officer.share_contact("+84987000321")
            code = claim_code_in(await admin.grant(app, clock, "officer", CDCS, None))
            assert "Bạn đã nhận quyền" in (await officer.say(f"/nhanquyen {code}")).text
            await officer.say("/nhaptep")
            await officer.send_document(xlsx(thirty_rows_two_bad()), "mau1.xlsx", XLSX_MIME)
            await officer.press("Công nhân lao động")
            said = "\n".join(a.text or "" for a in telegram.actions if a.chat_id == 4242)
            assert "Có lỗi: 2 (dòng 13, 25)" in said, said
            back = sheet_rows(telegram.uploaded("dong-can-sua.xlsx"))
            assert [row[-2] for row in back[1:]] == [13, 25]
            done = await officer.press("Có, nộp các sáng kiến hợp lệ")
            assert "Đã nộp 28 sáng kiến" in (done.text or ""), done
        finally:
            await channel.dispatcher.stop_polling()
            await polling
            await channel.bot.session.close()
        assert len(await filed(app)) == 28
        assert {s.channel for s in await filed(app)} == {"telegram"}


async def test_zalo_says_where_files_can_be_sent(app: App, clock: FixedClock) -> None:
    officer = await officer_of_cdcs(app, clock, channel="zalo")
    await officer.send("/nhaptep")
    assert "Zalo chỉ cho gửi ảnh" in officer.text and "Telegram" in officer.text
    worker = FakeChat(app.engine, user_id="worker")
    await login(worker, "0903 333 444")
    await worker.send("/nhaptep")
    assert "Có, nộp" not in worker.text and "theo mẫu 1" not in worker.text


def need_tesseract() -> None:
    problem = ocr.missing()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem} .ci/run installs tesseract-ocr and tesseract-ocr-vie")
    pytest.skip(f"{problem} ({ocr.INSTALL})")


async def test_a_photo_of_a_printed_form_fills_a_draft_confirmed_field_by_field(
    app: App, clock: FixedClock
) -> None:
    need_tesseract()
    values = form_values(3)
    officer = await officer_of_cdcs(app, clock, channel="zalo")
    await officer.send("/nhaptep")
    assert "Gửi ảnh chụp" in officer.text and "bấm" not in officer.text
    await officer.send_file(render(values, noisy=True, seed=3), "phieu.jpg")
    assert "Đã đọc ảnh phiếu: 14/14 mục." in officer.text, officer.text
    assert f"Đang lưu: {values['name']}" in officer.text
    assert await filed(app) == []  # nothing saved unseen
    kept = []
    for _ in range(40):
        if "TÓM TẮT SÁNG KIẾN" in officer.text:
            break
        text = officer.text
        if "Đang lưu:" in text:
            kept.append(text.split("Đang lưu: ", 1)[1].split("\n", 1)[0])
            await officer.send("giữ nguyên")
        elif "sinh hoạt công đoàn ở đơn vị nào" in text or "Tìm “" in text:
            await officer.send("hiep hoa")
        elif "nhóm đối tượng" in text.lower() or "Nhóm đối tượng" in text:
            await officer.send("công nhân lao động")
        elif "loại giải pháp" in text:
            await officer.send(values["solution_type"])
        elif "tài liệu kèm theo" in text:
            assert "phieu.jpg" in text  # the photo goes with it
            await officer.send("xong")
        elif "có đang được bảo hộ" in text or "trái với trật tự" in text:
            await officer.send("không")
        else:
            raise AssertionError(text)
    assert values["title"] in officer.text and "(bạn nộp hộ)" in officer.text, officer.text
    assert values["description"] in kept
    await officer.send("gửi sáng kiến")
    assert "Mã hồ sơ" in officer.text, officer.text
    (submission,) = await filed(app)
    assert submission.author_name == values["name"] and submission.title == values["title"]
    assert submission.recognition_doc == "3/QĐ-HĐSK"
    assert submission.benefit_vnd == int(values["value"].split()[0].replace(".", ""))


async def test_the_command_line_prints_what_a_photo_says(
    app: App, clock: FixedClock, db_url: str, cli: CliRun, tmp_path: Path
) -> None:
    need_tesseract()
    photo = tmp_path / "phieu.png"
    photo.write_bytes(render(form_values(5), noisy=False, seed=5))
    argv = ["intake", str(photo), "--unit", CDCS, "--db", db_url]
    shown = await asyncio.to_thread(cli, argv, **NOW)
    assert shown.returncode == 0, shown.stderr
    assert f"Tên sáng kiến: {form_values(5)['title']}" in shown.stdout
    assert "Các mục đọc được đều hợp lệ." in shown.stdout, shown.stdout
    refused = await asyncio.to_thread(cli, [*argv, "--apply", "--by", "0912345678"], **NOW)
    assert refused.returncode != 0 and "/nhaptep" in refused.stderr
    assert await filed(app) == []


async def test_without_tesseract_a_photo_gets_a_line_and_the_way_to_type(
    app: App, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # as on a server without Debian's package
    ocr.missing.cache_clear()
    try:
        officer = await officer_of_cdcs(app, clock, channel="zalo")
        await officer.send("/nhaptep")
        await officer.send_file(render(form_values(1), noisy=False, seed=1), "phieu.png")
        assert "Máy chủ chưa cài chương trình đọc ảnh (Tesseract)." in officer.text
        assert "/nopho" in officer.text
        await officer.send("/nopho")
        assert "Họ và tên của tác giả" in officer.text
    finally:
        ocr.missing.cache_clear()


def test_on_the_console_a_collector_takes_a_file_in_with_tep(cli: CliRun, tmp_path: Path) -> None:
    """`sangkien chat` as a person types it: /nhaptep, then `/tep PATH`, then the answers."""
    table = tmp_path / "mẫu 1 tháng 3.xlsx"
    table.write_bytes(xlsx(thirty_rows_two_bad()))
    db = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    assert cli(["db", "upgrade", "--db", db]).returncode == 0
    granted = cli(["grant", "collector", "--unit", CDCS, "--db", db], **NOW)
    code = claim_code_in(granted.stdout)
    chat = ["chat", "--db", db, "--user", "cdcs"]
    first = ["chào", "1", "0912 345 678", f"/nhanquyen {code}"]
    taking = ["/nhaptep", f"/tep {table}", "công nhân", "có", "/thoat"]
    done = cli(chat, "\n".join([*first, *taking]) + "\n", **NOW)
    assert done.returncode == 0, done.stderr
    assert "Có lỗi: 2 (dòng 13, 25)" in done.stdout, done.stdout[-3000:]
    assert "📎 dong-can-sua.xlsx: " in done.stdout
    assert "Đã nộp 28 sáng kiến" in done.stdout
    again = cli(chat, "\n".join(taking) + "\n", **NOW)
    assert "Đã nộp từ trước, sẽ bỏ qua: 28" in again.stdout, again.stdout[-3000:]
    with sqlite3.connect(tmp_path / "console.db") as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT filed_by) FROM submission"
        ).fetchone() == (28, 1)


async def test_a_row_naming_a_unit_outside_ones_scope_is_refused(
    app: App, clock: FixedClock
) -> None:
    """A collector of one district cannot file into another by writing its name in a row."""
    rows = [
        [*row, unit] for row, unit in zip(member_rows(3), ("", "Hà Nội", "Hiệp Hòa"), strict=True)
    ]
    for row in rows:
        row[7] = "Công nhân lao động"
    officer = await officer_of_cdcs(app, clock)
    await officer.send("/nhaptep")
    await officer.send_file(csv_bytes(rows, (*HEADER, "Đơn vị")), "don-vi.csv")
    assert "Có lỗi: 1 (dòng 3)" in officer.text, officer.text
    assert "Dòng 3 – Đơn vị: Thành phố Hà Nội nằm ngoài phạm vi bạn được nộp hộ." in officer.text
    await officer.click("Có, nộp các sáng kiến hợp lệ")
    assert {s.unit_code for s in await filed(app)} == {CDCS}
