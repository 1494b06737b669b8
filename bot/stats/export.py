"""/xuat and `sangkien export`: mẫu 1 of the guidance, “TỔNG HỢP TÓM TẮT SÁNG KIẾN”, as XLSX
and CSV: the form's header and signature blocks, its seven columns, then the record's own
(code, status, unit, …, the value as a number with a total, the filing date as a date, the
attachments).

The rows are read from the database and handed in chunks to a worker thread that builds both
files. In the bot, /xuat runs all of it in a process of its own (ExportProcess): building a
hundred thousand rows in Python holds the interpreter's lock for tens of seconds, which a
thread would share with every other chat."""

from __future__ import annotations

import asyncio
import csv
import ctypes
import io
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime, time
from time import sleep
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.review import ACCEPTED, STATUS_NAMES, WITHDRAWN
from bot.stats.views import Period
from bot.store.db import make_reader, make_sessionmaker
from bot.store.models import Attachment, Nomination, Person, Submission
from rules.campaigns import TZ, Campaign, recognition_warning
from rules.dates import format_date
from rules.fields import credited_author, format_money_vnd
from rules.files import attachment_name
from rules.phone import national
from rules.units import WHOLE_COUNTRY, CatalogVersion

TITLE = "TỔNG HỢP TÓM TẮT SÁNG KIẾN"
ATTACHED_TO = "(Kèm theo Tờ trình số ....../TTr-...... ngày ....../....../20...... của ......)"
HEADER = (
    "TT",
    "Họ và tên, năm sinh, chức vụ, đơn vị công tác, điện thoại liên hệ",
    "Tên sáng kiến",
    "Thời gian áp dụng",
    "Tóm tắt nội dung sáng kiến",
    "Hiệu quả sáng kiến, giá trị làm lợi, phạm vi ứng dụng",
    "Các danh hiệu thi đua, hình thức khen thưởng cá nhân trong 03 năm",
    "Mã hồ sơ",
    "Trạng thái",
    "Đơn vị",
    "Nhóm đối tượng",
    "Loại giải pháp",
    "Công nhận",
    "Ngày gửi",
    "Giá trị làm lợi (đồng)",
    "Tài liệu kèm theo",
    "Đề nghị khen thưởng",
)
WIDTHS = (5, 34, 30, 14, 60, 40, 30, 16, 13, 30, 24, 22, 30, 11, 16, 40, 26)
MONEY_COLUMN, DATE_COLUMN = 14, 13  # 0-based positions in HEADER
TOTAL_LABEL = "Tổng cộng"
SIGNATURES = (
    "XÁC NHẬN CỦA LÃNH ĐẠO CƠ QUAN, ĐƠN VỊ, DOANH NGHIỆP",
    "TM. BAN CHẤP HÀNH - CHỦ TỊCH",
)
VALID = (ACCEPTED,)  # what the award file lists unless asked otherwise
EVERY = tuple(s for s in STATUS_NAMES if s != WITHDRAWN)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 500
# What a spreadsheet would start a formula with (OWASP's list for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = list[Any]
Asked = TypeVar("Asked")
Made = TypeVar("Made")


@dataclass(frozen=True, slots=True)
class ExportFiles:
    xlsx: bytes
    csv: bytes
    rows: int


@dataclass(frozen=True, slots=True)
class Heading:
    scope_label: str
    issuer: tuple[str, ...]  # the issuing union's lines, as mẫu 1 heads them
    lines: tuple[str, ...]
    header: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Which award file: what `export` reads and writes, sent to the export process."""

    campaign: Campaign
    catalog: CatalogVersion
    scope_code: str  # the unit whose subtree the file lists, and whose union heads it; * all
    period: Period
    with_phones: bool
    statuses: tuple[str, ...] = VALID
    levels: tuple[str, ...] = ()  # only those nominated at one of these award levels

    @property
    def units(self) -> list[str] | None:
        """The units listed; None for the whole country."""
        if self.scope_code == WHOLE_COUNTRY:
            return None
        return sorted(self.catalog.within(self.scope_code))

    @property
    def scope_label(self) -> str:
        return self.catalog.scope_label(self.scope_code)


class ExportProcess:
    """Makes award files in a process of its own, a fresh one for each export; exports asked
    for at once are made one after the other. On this 2-core machine, while an
    export of 100,000 rows ran in a thread, another chat's answers waited p50 49 ms, max
    217 ms (`python -m bench export`); bench/README.md has the figures with a process."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, request: ExportRequest) -> ExportFiles:
        return await self.call(export_in_process, request)

    async def call(self, job: Callable[[str, Asked], Made], asked: Asked) -> Made:
        """`job(database_url, asked)` in the export process: a module-level function, so
        that it can be sent there (the dossier's is one)."""
        if self._pool is None:
            # spawn, not fork: the bot's process has threads and an event loop running
            context = multiprocessing.get_context("spawn")
            # a fresh process per export gives its memory back to the system when done
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                max_tasks_per_child=1,
                initializer=end_with_parent,
                initargs=(os.getpid(),),
            )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, job, self._url, asked)
        except BrokenProcessPool:
            self.close()  # the process died (killed, out of memory): the next export starts one
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


PARENT_CHECK_SECONDS = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_parent(parent: int) -> None:
    """In the export process: end when the bot's process ends, even by kill -9 (then nobody
    is left to read the file, and the process would sit on its pipe holding memory). Linux
    sends SIGKILL at once (PR_SET_PDEATHSIG); elsewhere, and as a second guard, a thread
    sees the parent gone within PARENT_CHECK_SECONDS."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def export_in_process(database_url: str, request: ExportRequest) -> ExportFiles:
    return asyncio.run(reading(database_url, export, request))


async def reading(
    database_url: str,
    job: Callable[[AsyncSession, Asked], Awaitable[Made]],
    asked: Asked,
) -> Made:
    """`job(session, asked)` on a read-only connection of its own (in the export process)."""
    reader = make_reader(database_url)
    try:
        async with make_sessionmaker(reader)() as session:
            return await job(session, asked)
    finally:
        await reader.dispose()


def _heading(request: ExportRequest) -> Heading:
    return Heading(
        request.scope_label,
        request.catalog.issuer_lines(request.scope_code),
        _heading_lines(request),
        header_for(request.campaign),
    )


def files_from_rows(request: ExportRequest, rows: list[Row]) -> ExportFiles:
    """Both files from rows already read (the dossier reads them once for all its files)."""
    chunks: queue.Queue[list[Row] | None] = queue.Queue()
    chunks.put(rows)
    chunks.put(None)
    return _build(_heading(request), chunks)


async def export(session: AsyncSession, request: ExportRequest) -> ExportFiles:
    heading = _heading(request)
    chunks: queue.Queue[list[Row] | None] = queue.Queue(maxsize=4)
    building = asyncio.get_running_loop().run_in_executor(None, _build, heading, chunks)
    try:
        async for chunk in export_rows(session, request):
            await asyncio.to_thread(chunks.put, chunk)  # waits while the builder is behind
    finally:
        await asyncio.to_thread(chunks.put, None)
    return await building


AWARDS_COLUMN = 6


def header_for(campaign: Campaign) -> tuple[str, ...]:
    """The columns, the awards' one titled with its years as the form does: the three years
    before the campaign opened (“trong 03 năm (2018 – 2020)” for a campaign of 2021)."""
    opened = min(phase.opens for phase in campaign.phases).year
    header = list(HEADER)
    header[AWARDS_COLUMN] = f"{HEADER[AWARDS_COLUMN]} ({opened - 3} – {opened - 1})"
    return tuple(header)


def _heading_lines(request: ExportRequest) -> tuple[str, ...]:
    when = request.period.span_text()
    which = (
        "tất cả (trừ đã rút)"
        if request.statuses == EVERY
        else ", ".join(STATUS_NAMES[s] for s in request.statuses)
    )
    if request.levels:
        named = [request.campaign.award_level(code) for code in request.levels]
        which += ", đề nghị khen thưởng " + ", ".join(lv.short_name for lv in named if lv)
    return (
        TITLE,
        ATTACHED_TO,
        f"Chương trình “{request.campaign.short_name}” – {request.scope_label} – {when} – "
        f"trạng thái: {which}",
    )


async def export_rows(session: AsyncSession, request: ExportRequest) -> AsyncIterator[list[Row]]:
    campaign, units, period = request.campaign, request.units, request.period
    query = (
        select(Submission, Person.phone)
        .join(Person, Person.id == Submission.person_id)
        .where(Submission.campaign == campaign.code, Submission.status.in_(request.statuses))
        .order_by(Submission.id)
    )
    if units is not None:
        query = query.where(Submission.unit_code.in_(units))
    if request.levels:
        nominated = select(Nomination.submission_id).where(
            Nomination.campaign == campaign.code,
            Nomination.level.in_(request.levels),
            Nomination.withdrawn_at.is_(None),
        )
        query = query.where(Submission.id.in_(nominated))
    if period.start:
        query = query.where(Submission.submitted_at >= datetime.combine(period.start, time(), TZ))
    if period.end:
        query = query.where(
            Submission.submitted_at
            < datetime.combine(date.fromordinal(period.end.toordinal() + 1), time(), TZ)
        )
    names = _Names(campaign, request.catalog)
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    number = 0
    async for part in result.partitions(CHUNK):
        ids = [submission.id for submission, _ in part]
        found = await _attachments(session, ids)
        levels = await _nominated(session, campaign, ids)
        rows = []
        for submission, phone in part:
            number += 1
            shown_phone = phone if request.with_phones else None
            rows.append(
                [
                    *names.row(number, submission, shown_phone, found[submission.id]),
                    ", ".join(levels[submission.id]),
                ]
            )
        yield rows


async def _attachments(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(
            Attachment.submission_id,
            Attachment.kind,
            Attachment.url,
            Attachment.filename,
            Attachment.mime,
        )
        .where(Attachment.submission_id.in_(ids))
        .order_by(Attachment.id)
    )
    for submission_id, kind, url, filename, mime in rows:
        name = url if kind == "link" else attachment_name(filename, mime)
        found[submission_id].append(str(name))
    return found


async def _nominated(
    session: AsyncSession, campaign: Campaign, ids: list[int]
) -> dict[int, list[str]]:
    """The award levels each submission stands nominated at, by their short names."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(Nomination.submission_id, Nomination.level)
        .where(
            Nomination.campaign == campaign.code,
            Nomination.submission_id.in_(ids),
            Nomination.withdrawn_at.is_(None),
        )
        .order_by(Nomination.id)
    )
    for submission_id, code in rows:
        level = campaign.award_level(code)
        found[submission_id].append(level.short_name if level else code)
    return found


class _Names:
    """Codes to the names people read, for one export."""

    def __init__(self, campaign: Campaign, catalog: CatalogVersion) -> None:
        self.campaign = campaign
        self.catalog = catalog
        self.groups = {c.code: c.name for c in campaign.target_groups}
        self.types = {c.code: c.name for c in campaign.solution_types}

    def row(self, number: int, s: Submission, phone: str | None, attachments: list[str]) -> Row:
        author = (
            f"{s.author_name}, {s.author_birth_year}, {s.author_position}, {s.author_workplace}"
        )
        if phone:
            author += f", ĐT {national(phone)}"
        if s.co_authors:
            credited = credited_author(s.author_name, s.author_share, s.co_authors)
            others = "; ".join(
                f"{a['name']}, {a['birth_year']}, {a['share']}%" for a in s.co_authors
            )
            author += (
                f" (đóng góp {s.author_share}%). Đồng tác giả: {others}. Công nhận cho: {credited}"
            )
        return [
            number,
            author,
            s.title,
            f"{format_date(s.started_on)} – {format_date(s.ended_on)}",
            s.description,
            "; ".join(
                part
                for part in (
                    f"Giá trị làm lợi: {format_money_vnd(s.benefit_vnd)}" if s.benefit_vnd else "",
                    s.benefit_social or "",
                    f"Phạm vi ứng dụng: {s.applied_scope}" if s.applied_scope else "",
                )
                if part
            ),
            s.awards or "",
            s.code or "",
            STATUS_NAMES.get(s.status, s.status),
            self.catalog.describe(s.unit_code),
            self.groups.get(s.target_group, s.target_group),
            self.types.get(s.solution_type, s.solution_type),
            self._recognition(s),
            s.submitted_at.astimezone(TZ).date(),
            s.benefit_vnd,
            "\n".join(attachments),
        ]

    def _recognition(self, s: Submission) -> str:
        """As the review card: a recognition before the campaign's first day is flagged."""
        said = f"{s.recognized_by}, số {s.recognition_doc} ngày {format_date(s.recognized_on)}"
        first = self.campaign.recognized_from
        if recognition_warning(self.campaign, s.recognized_on) and first is not None:
            said += f" (⚠️ trước ngày {format_date(first)}, ngày chương trình bắt đầu nhận)"
        return said


def _build(heading: Heading, chunks: queue.Queue[list[Row] | None]) -> ExportFiles:
    """In a worker thread: both files from the chunks, until None."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from bot.stats.cells import text_cell

    workbook = Workbook(write_only=True)  # streams rows: exports of millions stay small
    sheet = workbook.create_sheet("Tổng hợp")
    for index, width in enumerate(WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for number, line in enumerate(heading.issuer, 1):
        sheet.append([text_cell(sheet, line, bold=number == len(heading.issuer))])
    for line in heading.lines:
        sheet.append([text_cell(sheet, line, bold=line == heading.lines[0])])
    sheet.append([text_cell(sheet, title, bold=True, wrap=True) for title in heading.header])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(heading.header)
    count, money = 0, 0
    while (chunk := chunks.get()) is not None:
        for row in chunk:
            sheet.append(_cells(sheet, row))
            writer.writerow([_csv_value(value) for value in row])
            money += row[MONEY_COLUMN] or 0
        count += len(chunk)
    total: Row = [TOTAL_LABEL, f"{count} sáng kiến", *[""] * (len(HEADER) - 2)]
    total[MONEY_COLUMN] = money
    sheet.append(_cells(sheet, total))
    writer.writerow([_csv_value(value) for value in total])
    _signatures(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return ExportFiles(buffer.getvalue(), ("\ufeff" + text.getvalue()).encode("utf-8"), count)


def _signatures(sheet: Any) -> None:
    from bot.stats.cells import text_cell

    sheet.append([])
    sheet.append(["", "......, ngày ...... tháng ...... năm 20......"])
    sheet.append(["", text_cell(sheet, SIGNATURES[0], bold=True), "", "", ""])
    sheet.append(["", "(Ký tên, đóng dấu)", "", "", text_cell(sheet, SIGNATURES[1], bold=True)])
    sheet.append(["", "", "", "", "(Ký tên, đóng dấu)"])


def _cells(sheet: Any, row: Row) -> list[Any]:
    from bot.stats.cells import typed_cell

    return [
        typed_cell(sheet, value, _number_format(index, value)) for index, value in enumerate(row)
    ]


def _number_format(index: int, value: Any) -> str | None:
    if index == MONEY_COLUMN and isinstance(value, int):
        return "#,##0"
    if index == DATE_COLUMN and isinstance(value, date):
        return "DD/MM/YYYY"
    return None


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return format_date(value)
    text = str(value)
    # CSV has no types: a leading apostrophe keeps a spreadsheet from evaluating the text.
    return f"'{text}" if text.startswith(FORMULA_START) else text
