"""The dossier a unit files for an award level (45/HD-CĐYT 4.1): the Tờ trình, the Biên bản
họp xét and the summary table mẫu 1 (DOCX and XLSX), laid out as Decree 30/2020/NĐ-CP sets
administrative documents: the issuing union under its parent body at the left, the quốc hiệu
and tiêu ngữ at the right, the number and date left to fill, the title, “Kính gửi”, the body,
the signature and “Nơi nhận”. Made with python-docx and openpyxl, in the export process for
/hoso (never in the chats' loop) and in its own process for `sangkien awards dossier`.
Mẫu 2 and mẫu 03 are not in the documents we have, so none is made."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from docx.table import _Cell
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.stats.export import (
    XLSX_MIME,
    ExportRequest,
    export_rows,
    files_from_rows,
    header_for,
    reading,
)
from bot.stats.views import Period
from bot.store.models import Dispute, Nomination, Submission
from rules.awards import TOP, AwardLevel
from rules.campaigns import TZ, Campaign
from rules.units import CatalogVersion
from rules.verdict import Ok, Rejected, Verdict

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
FONT = "Times New Roman"
MAU1_COLUMNS = 7  # TT … khen thưởng trong 03 năm: the form's own columns
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, slots=True)
class DossierRequest:
    campaign: Campaign
    catalog: CatalogVersion
    level: AwardLevel
    top: str  # the province or central union whose nominations it holds
    now: datetime
    with_phones: bool = True  # mẫu 1 asks for a phone to reach each author


@dataclass(frozen=True, slots=True)
class DossierFile:
    name: str
    data: bytes
    mime: str


@dataclass(frozen=True, slots=True)
class Nominee:
    code: str
    title: str
    author: str
    unit: str
    field: str


def _addressee(request: DossierRequest) -> str:
    if request.level.decided_by == TOP:
        return f"Ban Thường vụ {request.catalog.union_name(request.top)}"
    return "Đoàn Chủ tịch Tổng Liên đoàn Lao động Việt Nam"


def _place(request: DossierRequest) -> str:
    unit = request.catalog.units.get(request.top)
    name = unit.name.removeprefix("Thành phố ") if unit and unit.kind == "tinh" else "Hà Nội"
    return f"{name}, ngày ..... tháng ..... năm {request.now.astimezone(TZ).year}"


async def nominees(session: AsyncSession, request: DossierRequest) -> list[Nominee]:
    rows = await session.execute(
        select(Submission, Nomination.criterion)
        .join(Nomination, Nomination.submission_id == Submission.id)
        .where(
            Nomination.campaign == request.campaign.code,
            Nomination.level == request.level.code,
            Nomination.top_unit == request.top,
            Nomination.withdrawn_at.is_(None),
        )
        .order_by(Nomination.id)
    )
    groups = {c.code: c.name for c in request.campaign.target_groups}
    return [
        Nominee(
            item.code or "",
            item.title,
            f"{item.author_name} ({item.author_birth_year}), {item.author_position}",
            request.catalog.describe(item.unit_code),
            request.level.criterion(criterion) or groups.get(item.target_group, ""),
        )
        for item, criterion in rows
    ]


async def _disputed(session: AsyncSession, codes: list[str]) -> list[str]:
    """The codes among those listed under an open complaint or dispute. Marking one ends its
    nominations, so this finds none unless the record was changed by hand; a dossier holding
    one would be invalid (45/HD-CĐYT 4.1), so it is refused rather than filed."""
    found = await session.scalars(
        select(Submission.code)
        .join(Dispute, Dispute.submission_id == Submission.id)
        .where(Submission.code.in_(codes), Dispute.lifted_at.is_(None))
        .distinct()
    )
    return sorted(code for code in found if code)


def _new_document(landscape: bool = False) -> DocumentType:
    document = Document()
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    return document


def _line(cell: _Cell, text: str, *, bold: bool = False, italic: bool = False) -> None:
    paragraph = cell.add_paragraph() if cell.paragraphs[0].text else cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic


def _heading(document: DocumentType, request: DossierRequest, number: str) -> None:
    """Decree 30/2020, Phụ lục I: the issuer and its number at the left, the quốc hiệu and
    tiêu ngữ at the right, then the place and date."""
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    issuer = request.catalog.issuer_lines(request.top)
    for index, text in enumerate(issuer):
        _line(left, text, bold=index == len(issuer) - 1)
    _line(left, "———")
    _line(left, f"Số: ......../{number}")
    _line(right, NATION, bold=True)
    _line(right, MOTTO, bold=True)
    _line(right, "———")
    _line(right, _place(request), italic=True)


def _title(document: DocumentType, *lines: str) -> None:
    for text in lines:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run(text).bold = True


def _list(document: DocumentType, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _line(cell, text, bold=True)
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def _signature(document: DocumentType, signer: str, receivers: tuple[str, ...]) -> None:
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    received = left.paragraphs[0].add_run("Nơi nhận:")
    received.bold, received.italic = True, True
    for receiver in receivers:
        left.add_paragraph(receiver).runs[0].font.size = Pt(11)
    for text in signer.split("\n"):
        _line(right, text, bold=True)
    _line(right, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True)


def submission_letter(request: DossierRequest, listed: list[Nominee]) -> DocumentType:
    """The Tờ trình: the unit asks the deciding level to honour the initiatives listed."""
    document = _new_document()
    _heading(document, request, "TTr-...")
    campaign, level = request.campaign, request.level
    _title(
        document,
        "TỜ TRÌNH",
        f"Về việc đề nghị khen thưởng sáng kiến tham gia Chương trình “{campaign.short_name}”",
    )
    addressed = document.add_paragraph()
    addressed.alignment = WD_ALIGN_PARAGRAPH.CENTER
    addressed.add_run(f"Kính gửi: {_addressee(request)}")
    union = request.catalog.union_name(request.top)
    document.add_paragraph(
        f"Căn cứ {campaign.guidance} về việc triển khai Chương trình “{campaign.name}”;"
    )
    document.add_paragraph(
        f"Trên cơ sở kết quả họp xét, {union} kính đề nghị {_addressee(request)} xem xét "
        f"khen thưởng ({level.name}) {len(listed)} sáng kiến sau:"
    )
    _list(
        document,
        ("TT", "Tên sáng kiến", "Tác giả", "Đơn vị", "Lĩnh vực"),
        [(str(n), x.title, x.author, x.unit, x.field) for n, x in enumerate(listed, 1)],
    )
    document.add_paragraph(
        "(Kèm theo Biên bản họp xét và Bảng tổng hợp tóm tắt sáng kiến theo mẫu 1.)"
    )
    document.add_paragraph(f"{union} kính trình./.")
    _signature(document, "TM. BAN THƯỜNG VỤ\nCHỦ TỊCH", ("- Như trên;", "- Lưu: VT."))
    return document


def meeting_minutes(request: DossierRequest, listed: list[Nominee]) -> DocumentType:
    """The Biên bản họp xét: time, place, attendance and each initiative's vote left to fill."""
    document = _new_document()
    _heading(document, request, "BB-...")
    union = request.catalog.union_name(request.top)
    _title(
        document,
        "BIÊN BẢN",
        f"Họp xét đề nghị khen thưởng sáng kiến ({request.level.name})",
    )
    for line in (
        "Thời gian: ..... giờ ..... ngày ..... tháng ..... năm .....",
        "Địa điểm: ...........................................................",
        f"Thành phần: Ban Thường vụ {union}; có mặt ...../..... đồng chí, vắng ..... "
        "đồng chí (lý do: .....................).",
        "Chủ trì: ..............................  Thư ký: ..............................",
        f"Nội dung: xét chọn sáng kiến đề nghị khen thưởng; có {len(listed)} sáng kiến đưa ra "
        "xét, kết quả biểu quyết từng sáng kiến như sau:",
    ):
        document.add_paragraph(line)
    _list(
        document,
        ("TT", "Tên sáng kiến", "Tác giả", "Đơn vị", "Đồng ý / có mặt", "Kết quả"),
        [(str(n), x.title, x.author, x.unit, "...../.....", "") for n, x in enumerate(listed, 1)],
    )
    document.add_paragraph("Cuộc họp kết thúc vào hồi ..... giờ ..... cùng ngày./.")
    table = document.add_table(rows=1, cols=2)
    for cell, who in zip(table.rows[0].cells, ("THƯ KÝ", "CHỦ TRÌ"), strict=True):
        _line(cell, who, bold=True)
        _line(cell, "(Ký, ghi rõ họ tên)", italic=True)
    return document


def summary_table(request: DossierRequest, rows: list[list[object]]) -> DocumentType:
    """Mẫu 1 as a document: the form's own columns, one row per initiative."""
    document = _new_document(landscape=True)
    _heading(document, request, "...")
    _title(document, "TỔNG HỢP TÓM TẮT SÁNG KIẾN", f"({request.level.name})")
    header = header_for(request.campaign)[:MAU1_COLUMNS]
    _list(document, header, [tuple(str(v or "") for v in row[:MAU1_COLUMNS]) for row in rows])
    _signature(
        document,
        "TM. BAN CHẤP HÀNH\nCHỦ TỊCH",
        ("- Như trên;", "- Lưu: VT."),
    )
    return document


def _export_request(request: DossierRequest) -> ExportRequest:
    return ExportRequest(
        request.campaign,
        request.catalog,
        request.top,
        Period(),
        with_phones=request.with_phones,
        levels=(request.level.code,),
    )


async def dossier_files(
    session: AsyncSession, request: DossierRequest
) -> Verdict[list[DossierFile]]:
    """The four files, or why there is no dossier to make."""
    listed = await nominees(session, request)
    if not listed:
        return Rejected(
            f"{request.catalog.describe(request.top)} chưa có đề nghị nào ở cấp "
            f"“{request.level.name}”."
        )
    if disputed := await _disputed(session, [x.code for x in listed]):
        return Rejected(
            f"Chưa lập được hồ sơ: {', '.join(disputed)} đang có khiếu nại hoặc tranh chấp. "
            "Rút đề nghị hoặc gỡ đánh dấu trước."
        )
    table = _export_request(request)
    rows = [row async for chunk in export_rows(session, table) for row in chunk]
    stem = f"{request.level.code}-{request.top}"
    documents = {
        f"to-trinh-{stem}.docx": submission_letter(request, listed),
        f"bien-ban-{stem}.docx": meeting_minutes(request, listed),
        f"mau-1-{stem}.docx": summary_table(request, rows),
    }
    made = [DossierFile(name, _docx_bytes(document), DOCX) for name, document in documents.items()]
    spreadsheet = files_from_rows(table, rows).xlsx
    return Ok([*made, DossierFile(f"mau-1-{stem}.xlsx", spreadsheet, XLSX_MIME)])


def _docx_bytes(document: DocumentType) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def dossier_in_process(database_url: str, request: DossierRequest) -> Verdict[list[DossierFile]]:
    """What /hoso sends to the export process."""
    return asyncio.run(reading(database_url, dossier_files, request))


def write_files(files: list[DossierFile], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for made in files:
        path = folder / made.name
        path.write_bytes(made.data)
        written.append(path)
    return written
