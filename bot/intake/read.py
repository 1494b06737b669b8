"""A spreadsheet or Word file to a table of texts: XLSX (openpyxl, cached values only), CSV
(UTF-8 or the Windows Vietnamese code page) and DOCX (the first table, python-docx). Judged by
its bytes, never by its name; any file it cannot take gets one Vietnamese line and nothing
else happens."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.intake.columns import COLUMN_NAMES, NUMBER, REQUIRED, column_of
from bot.stats.export import FORMULA_START, TOTAL_LABEL
from rules.dates import format_date
from rules.fields import format_count
from rules.files import zip_names
from rules.text import fold
from rules.verdict import Ok, Rejected, Verdict

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 2000
MAX_UNZIPPED = 60 * 1024 * 1024  # 2,000 rows of the longest answers fit in a tenth of it
HEADER_SEARCH = 40  # rows at the top where the heading row may stand (the union's lines above)
ACCEPTED = "Excel (.xlsx), CSV hoặc Word (.docx)"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
END_WORDS = (fold(TOTAL_LABEL), "xac nhan cua", "tm. ban chap hanh", "tm ban chap hanh")
_SIGNED = re.compile(r"ngay\s*\.{2,}|\.{3,}\s*,\s*ngay")  # “Thái Bình, ngày..... tháng…”


@dataclass(frozen=True, slots=True)
class Table:
    """The rows under the heading row, as texts, each with its number in the file (as the
    spreadsheet numbers its rows, or counted from 1 under a Word table's heading)."""

    kind: str  # xlsx, csv, docx
    heading_row: int  # where the heading row stands, counted as `rows` are
    header: tuple[str, ...]
    columns: tuple[str | None, ...]  # what each column is (bot.intake.columns), by position
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def has(self, column: str) -> bool:
        return column in self.columns

    def cell(self, cells: Sequence[str], column: str) -> str:
        if column not in self.columns:
            return ""
        index = self.columns.index(column)
        return cells[index] if index < len(cells) else ""


def read_in_process(database_url: str, path: str) -> Verdict[Table]:
    """`read_table` of a stored file, as a job of the export process (its signature)."""
    with open(path, "rb") as handle:
        return read_table(handle.read(MAX_BYTES + 1))


def read_table(data: bytes) -> Verdict[Table]:
    if not data:
        return Rejected("Tệp rỗng. Vui lòng gửi lại tệp có nội dung.")
    if len(data) > MAX_BYTES:
        return Rejected(
            f"Tệp nặng hơn {MAX_BYTES // 1048576} MB. Vui lòng chia thành nhiều tệp nhỏ hơn."
        )
    if data.startswith(b"PK\x03\x04"):
        return _zipped(data)
    if data.startswith(_OLE):
        return Rejected(
            "Đây là tệp Excel hoặc Word đời cũ (.xls, .doc). Vui lòng mở tệp và lưu lại thành "
            ".xlsx hoặc .docx rồi gửi lại."
        )
    return _csv(data)


def _zipped(data: bytes) -> Verdict[Table]:
    names = zip_names(data, "Excel hoặc Word", MAX_UNZIPPED)
    if isinstance(names, Rejected):
        return names
    inside = names.value
    if any(name.lower().endswith("vbaproject.bin") for name in inside):
        return Rejected(
            "Tệp có chứa macro nên không được nhận. Vui lòng lưu lại thành .xlsx (Excel "
            "Workbook) hoặc .docx (Word Document) rồi gửi lại."
        )
    if "xl/workbook.xml" in inside:
        return _xlsx(data)
    if "word/document.xml" in inside:
        return _docx(data)
    return Rejected(f"Tệp nén này không phải bảng tính hay tài liệu Word. Chỉ nhận {ACCEPTED}.")


def _xlsx(data: bytes) -> Verdict[Table]:
    from openpyxl import load_workbook  # here: the bot's other processes never load it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of styles and extensions it skips
            # data_only: a formula's value as last saved; openpyxl never evaluates one
            book = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        return Rejected(_broken("Excel"))
    try:
        problem: Rejected | None = None
        for sheet in [book.active, *book.worksheets]:
            if sheet is None:
                continue
            grid = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            merged = {
                row
                for cells in sheet.merged_cells.ranges
                if cells.max_col > cells.min_col
                for row in range(cells.min_row, cells.max_row + 1)
            }
            found = _table("xlsx", grid, first_row=1, merged=merged)
            if isinstance(found, Ok):
                return found
            problem = problem or found
        return problem or Rejected(_no_heading())
    finally:
        book.close()


def _docx(data: bytes) -> Verdict[Table]:
    from docx import Document

    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return Rejected(_broken("Word"))
    problem: Rejected | None = None
    for table in document.tables:
        grid = [[_text(cell.text) for cell in row.cells] for row in table.rows]
        found = _table("docx", grid, first_row=0)
        if isinstance(found, Ok):
            return found
        problem = problem or found
    return problem or Rejected(
        "Không thấy bảng mẫu 1 trong tài liệu Word. Vui lòng gửi tài liệu có bảng tổng hợp "
        "tóm tắt sáng kiến theo mẫu 1."
    )


def _csv(data: bytes) -> Verdict[Table]:
    # Excel saves “CSV UTF-8”, “CSV” in the Windows code page (Vietnamese: 1258), and
    # “Unicode Text”: UTF-16 with its byte-order mark, by tabs.
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return Rejected(f"Không đọc được tệp này. Chỉ nhận {ACCEPTED}.")
    if "\x00" in text or not text.strip():
        return Rejected(f"Loại tệp này không được nhận. Chỉ nhận {ACCEPTED}.")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        grid = [
            [_text(_unguarded(v)) for v in row] for row in csv.reader(io.StringIO(text), dialect)
        ]
    except csv.Error:
        return Rejected("Tệp CSV bị lỗi định dạng. Vui lòng lưu lại từ Excel rồi gửi lại.")
    return _table("csv", grid, first_row=1)


def _unguarded(value: str) -> str:
    """The bot's CSV keeps a spreadsheet from evaluating “=…” with an apostrophe before it."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def _table(
    kind: str,
    grid: list[list[str]],
    first_row: int,
    merged: frozenset[int] | set[int] = frozenset(),
) -> Verdict[Table]:
    """The table under the first row that heads at least three of mẫu 1's columns; `merged`:
    the rows (numbered from `first_row`) holding cells merged across columns."""
    for index, cells in enumerate(grid[:HEADER_SEARCH]):
        columns = tuple(column_of(c) for c in cells)
        if sum(1 for c in set(columns) if c in REQUIRED) < 3:
            continue
        if first_row + index in merged:
            return Rejected(
                "Dòng tiêu đề của bảng có ô gộp. Vui lòng bỏ gộp ô để mỗi cột có một tiêu đề "
                "riêng (như bảng tải từ /xuat) rồi gửi lại."
            )
        missing = [COLUMN_NAMES[c] for c in REQUIRED if c not in columns]
        if missing:
            return Rejected(
                "Bảng thiếu cột: " + "; ".join(f"“{m}”" for m in missing) + ". Vui lòng dùng "
                "đủ các cột của mẫu 1 (như bảng tải từ /xuat) rồi gửi lại."
            )
        rows = list(_rows(grid[index + 1 :], columns, first_row + index + 1))
        if len(rows) > MAX_ROWS:
            return Rejected(
                f"Bảng có {format_count(len(rows))} dòng; mỗi lần nhận tối đa "
                f"{format_count(MAX_ROWS)} dòng. Vui lòng chia thành nhiều tệp."
            )
        return Ok(Table(kind, first_row + index, tuple(cells), columns, tuple(rows)))
    return Rejected(_no_heading())


def _rows(
    grid: Iterable[list[str]], columns: tuple[str | None, ...], number: int
) -> Iterable[tuple[int, tuple[str, ...]]]:
    """The rows with something in them, up to the total or the signatures under the table;
    a row that only numbers the columns (“(1) (2) (3)…”) is left out."""
    for offset, cells in enumerate(grid):
        filled = [
            c for i, c in enumerate(cells) if c and i < len(columns) and columns[i] != NUMBER
        ]
        if not filled:
            continue
        if any(fold(c).startswith(END_WORDS) or _SIGNED.search(fold(c)) for c in cells[:2] if c):
            return
        if all(c.strip("()").isdigit() for c in filled):
            continue
        yield number + offset, tuple(cells)


def _text(value: Any) -> str:
    """A cell as the text a person would have typed in the chat."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _no_heading() -> str:
    return (
        "Không thấy dòng tiêu đề của mẫu 1 (“Họ và tên, năm sinh…”, “Tên sáng kiến”, “Thời gian "
        "áp dụng”, “Tóm tắt nội dung sáng kiến”, “Hiệu quả sáng kiến…”). Vui lòng dùng bảng "
        "theo mẫu 1 hoặc bảng tải từ /xuat."
    )


def _broken(what: str) -> str:
    return f"Tệp {what} bị hỏng, không mở được. Vui lòng mở tệp, lưu lại rồi gửi lại."
