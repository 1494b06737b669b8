"""Dates as people type them: 01/09/2021, 1/9/2021, 2021-09-01."""

from __future__ import annotations

import re
from datetime import date

from rules.text import clean, fold
from rules.verdict import Ok, Rejected, Verdict

_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# "ngày 1 tháng 9 năm 2021", folded
_WORDS = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:nam\s*)?(\d{4}|\d{2})")
EXAMPLE = "ví dụ 01/09/2021"


def format_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def parse_date(raw: str) -> Verdict[date]:
    """01/09/2021, 1/9/2021, 1/9/21 (years 2000–2099), 2021-09-01, ngày 1 tháng 9 năm 2021."""
    text = clean(raw)
    if match := _YMD.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DMY.fullmatch(text) or _WORDS.fullmatch(fold(text)):
        day, month, year = (int(part) for part in match.groups())
        if len(match.group(3)) == 2:
            year += 2000
    else:
        return Rejected(
            f"Ngày chưa đúng định dạng. Vui lòng gửi theo dạng ngày/tháng/năm, {EXAMPLE}."
        )
    if not 1900 <= year <= 2100:
        return Rejected(f"Năm {year} không hợp lệ. Vui lòng kiểm tra lại ({EXAMPLE}).")
    try:
        return Ok(date(year, month, day))
    except ValueError:
        return Rejected(
            f"Ngày {day:02d}/{month:02d}/{year} không có trên lịch. "
            f"Vui lòng kiểm tra lại ngày và tháng ({EXAMPLE})."
        )


def check_not_future(value: date, today: date) -> Verdict[date]:
    if value > today:
        return Rejected(
            f"Ngày {format_date(value)} ở tương lai (hôm nay là {format_date(today)}). "
            "Vui lòng gửi một ngày đã qua."
        )
    return Ok(value)
