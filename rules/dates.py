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


# "tháng 3/2022", "quý 1/2022", "năm 2022" (folded), anywhere in a command's words
_NAMED_PERIOD = re.compile(r"\b(thang|quy|nam)\s*(?:(\d{1,2})\s*[/.\-]\s*)?(\d{4})\b")


def named_period(folded: str) -> tuple[date, date, str] | Rejected | None:
    """A month, a quarter or a year named in folded text: its first and last day and what is
    left of the text; a Rejected when it names one that does not exist; None when none."""
    match = _NAMED_PERIOD.search(folded)
    if match is None:
        return None
    kind, number, year_text = match.group(1), match.group(2), int(match.group(3))
    rest = (folded[: match.start()] + folded[match.end() :]).strip()
    if kind == "nam" and number is None:
        return date(year_text, 1, 1), date(year_text, 12, 31), rest
    count = int(number or 0)
    months = {"thang": (count, count), "quy": (3 * count - 2, 3 * count)}.get(kind)
    limit = 12 if kind == "thang" else 4
    if months is None or not 1 <= count <= limit:
        return Rejected(
            "Kỳ báo cáo chưa đúng. Gửi ví dụ: “tháng 3/2022”, “quý 1/2022” hoặc “năm 2022”."
        )
    first = date(year_text, months[0], 1)
    after = date(year_text + months[1] // 12, months[1] % 12 + 1, 1)
    return first, date.fromordinal(after.toordinal() - 1), rest
