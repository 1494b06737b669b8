"""What a check and a filing say to the officer: a few lines in the chat (or on the command
line), and the rows that failed as a spreadsheet, with their reasons in a column of their own,
to correct and send again (the added columns are not read back)."""

from __future__ import annotations

import io

from bot.intake.apply import Applied
from bot.intake.check import Checked, Row

SHOWN_PROBLEMS = 8  # rows listed in the chat; the file has them all
ROW_HEADING, REASON_HEADING = "Dòng trong tệp gốc", "Lỗi cần sửa"
ERRORS_NAME = "dong-can-sua.xlsx"


def summary(checked: Checked, name: str, shown: int | None = SHOWN_PROBLEMS) -> str:
    """How the rows stand; the failing ones listed, the first `shown` (None: all)."""
    valid, failed, already = checked.valid, checked.failed, checked.already
    lines = [
        f"Tệp “{name}”: {len(checked.rows)} dòng sáng kiến.",
        f"• Hợp lệ, sẵn sàng nộp: {len(valid)}",
        f"• Có lỗi: {len(failed)}" + (f" (dòng {_numbers(failed)})" if failed else ""),
    ]
    if already:
        lines.append(f"• Đã nộp từ trước, sẽ bỏ qua: {len(already)} (dòng {_numbers(already)})")
    listed = failed if shown is None else failed[:shown]
    lines += [f"Dòng {row.number} – {_reasons(row)}" for row in listed]
    if len(failed) > len(listed):
        lines.append(f"… và {len(failed) - len(listed)} dòng khác (xem tệp các dòng cần sửa).")
    warned = [row for row in valid if row.warning]
    if warned:
        lines.append(
            f"Lưu ý dòng {_numbers(warned)}: {warned[0].warning} Vẫn nộp được; cán bộ duyệt "
            "sẽ xem xét."
        )
    if checked.closed:
        lines.append(f"Chưa nộp được: {checked.closed}")
    return "\n".join(lines)


def applied_text(applied: Applied) -> str:
    if not applied.filed:
        return f"Không có sáng kiến mới nào được nộp; {applied.skipped} dòng đã nộp từ trước."
    codes = applied.filed
    span = codes[0] if len(codes) == 1 else f"{codes[0]} … {codes[-1]}"
    skipped = f"; {applied.skipped} dòng đã nộp từ trước được bỏ qua" if applied.skipped else ""
    return f"Đã nộp {len(codes)} sáng kiến (mã {span}){skipped}."


def errors_xlsx(checked: Checked) -> bytes:
    """The failed rows, as they were, with their row numbers and reasons."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from bot.stats.cells import text_cell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Dòng cần sửa")
    header = [*checked.table.header, ROW_HEADING, REASON_HEADING]
    for index in range(1, len(header) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = (
            60 if index == len(header) else 24
        )
    sheet.append([text_cell(sheet, heading, bold=True, wrap=True) for heading in header])
    width = len(checked.table.header)
    for row in checked.failed:
        cells = [*row.cells[:width], *[""] * (width - len(row.cells))]
        sheet.append(
            [
                *[text_cell(sheet, value, wrap=True) for value in cells],
                row.number,
                text_cell(sheet, _reasons(row), wrap=True),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _reasons(row: Row) -> str:
    return "; ".join(str(problem) for problem in row.problems)


def _numbers(rows: list[Row]) -> str:
    shown = ", ".join(str(row.number) for row in rows[:20])
    return shown + ("…" if len(rows) > 20 else "")
