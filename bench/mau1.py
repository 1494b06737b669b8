"""Mẫu 1 tables as unions make them, for `python -m bench intake` and the intake tests: the
seed's seven columns under the union's lines, with the columns the form also needs, in XLSX,
CSV or DOCX. Names and numbers are invented."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import openpyxl
from docx import Document

ISSUER = ("CÔNG ĐOÀN NGÀNH Y TẾ", "CĐCS CÔNG TY MAY HIỆP HÒA")
HEADER = (
    "TT",
    "Họ và tên, năm sinh, chức vụ, đơn vị công tác, điện thoại liên hệ",
    "Tên sáng kiến",
    "Thời gian áp dụng",
    "Tóm tắt nội dung sáng kiến",
    "Hiệu quả sáng kiến, giá trị làm lợi, phạm vi ứng dụng",
    "Các danh hiệu thi đua, hình thức khen thưởng cá nhân trong 03 năm (2018 – 2020)",
    "Nhóm đối tượng",
    "Loại giải pháp",
    "Công nhận",
)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
MIDDLES = ("Văn", "Thị", "Minh", "Thu", "Quốc", "Ngọc")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hạnh", "Khánh", "Lan", "Mai", "Nam", "Oanh")
THINGS = ("máy cắt vải", "dây chuyền may", "kho nguyên liệu", "quy trình kiểm hàng", "bàn là hơi")
DESCRIPTION = (
    "Trước đây {thing} phải chỉnh tay, mất nhiều thời gian và dễ sai. Giải pháp: làm thêm gá "
    "định vị và bảng kiểm theo ca, công nhân tự kiểm tra trước khi chạy máy."
)
Row = list[str]


def member_row(number: int) -> Row:
    """One initiative, all of it as the form accepts it."""
    name = (
        f"{SURNAMES[number % len(SURNAMES)]} {MIDDLES[number % len(MIDDLES)]} "
        f"{GIVEN[number % len(GIVEN)]}"
    )
    thing = THINGS[number % len(THINGS)]
    return [
        str(number),
        f"{name}, {1970 + number % 30}, Công nhân, Tổ may {number % 9 + 1} – Công ty May "
        f"Hiệp Hòa, 0912 000 {number:03d}",
        f"Cải tiến {thing} số {number}",
        "01/10/2021 – 28/02/2022",
        DESCRIPTION.format(thing=thing) + f" Mã cải tiến nội bộ {number}.",
        f"Tiết kiệm khoảng {number * 5 + 20} triệu đồng mỗi năm. Giảm thao tác thừa cho công "
        f"nhân. Áp dụng tại tổ may {number % 9 + 1}, có thể nhân rộng toàn công ty.",
        "Lao động giỏi năm 2020" if number % 3 else "",
        "Công nhân lao động" if number % 2 else "",
        "Giải pháp kỹ thuật",
        f"Hội đồng sáng kiến Công ty May Hiệp Hòa, số {number}/QĐ-HĐSK ngày 15/02/2022",
    ]


def member_rows(count: int) -> list[Row]:
    return [member_row(n) for n in range(1, count + 1)]


def xlsx(rows: Sequence[Row], header: Sequence[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for line in (*ISSUER, "TỔNG HỢP TÓM TẮT SÁNG KIẾN", ""):
        sheet.append([line])
    sheet.append(list(header))
    sheet.append([f"({n})" for n in range(1, len(header) + 1)])
    for row in rows:
        sheet.append(row)
    sheet.append([])
    sheet.append(["", "Hiệp Hòa, ngày..... tháng..... năm 2022"])
    sheet.append(["", "XÁC NHẬN CỦA LÃNH ĐẠO CƠ QUAN, ĐƠN VỊ, DOANH NGHIỆP"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Row], header: Sequence[str] = HEADER, delimiter: str = ",") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def docx(rows: Sequence[Row], header: Sequence[str] = HEADER) -> bytes:
    document = Document()
    for line in (*ISSUER, "TỔNG HỢP TÓM TẮT SÁNG KIẾN"):
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=len(header))
    for cell, heading in zip(table.rows[0].cells, header, strict=True):
        cell.text = heading
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
