"""/xuat and `sangkien export`: the seeds' form “TỔNG HỢP TÓM TẮT SÁNG KIẾN” as XLSX and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.review import STATUS_NAMES
from bot.stats.views import Period
from bot.store.models import Person, Submission
from rules.campaigns import TZ, Campaign
from rules.dates import format_date
from rules.fields import format_money_vnd
from rules.units import CatalogVersion

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
)


@dataclass(frozen=True, slots=True)
class ExportFiles:
    xlsx: bytes
    csv: bytes
    rows: int


async def _rows(
    session: AsyncSession,
    campaign: Campaign,
    catalog: CatalogVersion,
    units: list[str] | None,
    period: Period,
    with_phones: bool,
) -> AsyncIterator[list[str]]:
    query = (
        select(Submission, Person.phone)
        .join(Person, Person.id == Submission.person_id)
        .where(Submission.campaign == campaign.code, Submission.status != "withdrawn")
        .order_by(Submission.id)
    )
    if units is not None:
        query = query.where(Submission.unit_code.in_(units))
    if period.start:
        query = query.where(Submission.submitted_at >= datetime.combine(period.start, time(), TZ))
    if period.end:
        query = query.where(
            Submission.submitted_at
            < datetime.combine(date.fromordinal(period.end.toordinal() + 1), time(), TZ)
        )
    groups = {c.code: c.name for c in campaign.target_groups}
    types = {c.code: c.name for c in campaign.solution_types}
    result = await session.stream(query.execution_options(yield_per=2000))
    number = 0
    async for submission, phone in result:
        number += 1
        yield _row(number, submission, phone if with_phones else None, catalog, groups, types)


def _row(
    number: int,
    s: Submission,
    phone: str | None,
    catalog: CatalogVersion,
    groups: dict[str, str],
    types: dict[str, str],
) -> list[str]:
    author = f"{s.author_name}, {s.author_birth_year}, {s.author_position}, {s.author_workplace}"
    if phone:
        author += f", ĐT {phone}"
    effect = "; ".join(
        part
        for part in (
            f"Giá trị làm lợi: {format_money_vnd(s.benefit_vnd)}" if s.benefit_vnd else "",
            s.benefit_social or "",
        )
        if part
    )
    unit = catalog.describe(s.unit_code)
    return [
        str(number),
        author,
        s.title,
        f"{format_date(s.started_on)} – {format_date(s.ended_on)}",
        s.description,
        effect,
        s.awards or "",
        s.code or "",
        STATUS_NAMES.get(s.status, s.status),
        unit,
        groups.get(s.target_group, s.target_group),
        types.get(s.solution_type, s.solution_type),
        f"{s.recognized_by}, số {s.recognition_doc} ngày {format_date(s.recognized_on)}",
        format_date(s.submitted_at.astimezone(TZ).date()),
    ]


# What a spreadsheet would start a formula with (OWASP's list for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(sheet: Any, value: str) -> Any:
    """A cell that holds the text as written: openpyxl would store "=HYPERLINK(…)" typed by a
    worker as a live formula."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _inert(value: str) -> str:
    """CSV has no types: a leading apostrophe keeps a spreadsheet from evaluating the text."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def _bold(sheet: Any, value: str) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


async def export(
    session: AsyncSession,
    campaign: Campaign,
    catalog: CatalogVersion,
    units: list[str] | None,
    scope_label: str,
    period: Period,
    with_phones: bool,
) -> ExportFiles:
    workbook = Workbook(write_only=True)  # streams rows: exports of millions stay small in memory
    sheet = workbook.create_sheet("Tổng hợp")
    sheet.append([_bold(sheet, "TỔNG HỢP TÓM TẮT SÁNG KIẾN")])
    sheet.append([f"Chương trình “{campaign.short_name}” – {scope_label}"])
    sheet.append([])
    sheet.append([_bold(sheet, title) for title in HEADER])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    count = 0
    async for row in _rows(session, campaign, catalog, units, period, with_phones):
        sheet.append([_text_cell(sheet, value) for value in row])
        writer.writerow([_inert(value) for value in row])
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return ExportFiles(buffer.getvalue(), ("\ufeff" + text.getvalue()).encode("utf-8"), count)
