"""Checks for the free-text fields of the profile and the initiative form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rules.text import clean, clean_multiline, fold, has_letter
from rules.verdict import Ok, Rejected, Verdict

NAME_MAX = 80
TITLE_MIN, TITLE_MAX = 5, 300
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 2000
# Words meaning "none / skip" for optional fields.
SKIP_WORDS = frozenset({"khong", "k", "ko", "bo qua", "khong co", "-", "skip"})
_NAME_CHARS = re.compile(r"[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?")


def is_skip(raw: str) -> bool:
    return fold(raw) in SKIP_WORDS


def _required(raw: str, what: str) -> Verdict[str]:
    text = clean(raw)
    if not text:
        return Rejected(f"Bạn chưa nhập {what}. Vui lòng gửi {what} bằng chữ.")
    if not has_letter(text):
        return Rejected(f"{what.capitalize()} phải có chữ cái. Vui lòng gửi lại {what}.")
    return Ok(text)


def _bounded(text: str, what: str, limit: int) -> Verdict[str]:
    if len(text) > limit:
        over = len(text) - limit
        return Rejected(
            f"{what.capitalize()} dài {len(text)} ký tự, vượt {over} ký tự so với giới hạn "
            f"{limit} ký tự. Vui lòng rút gọn rồi gửi lại."
        )
    return Ok(text)


def parse_full_name(raw: str) -> Verdict[str]:
    verdict = _required(raw, "họ và tên")
    if isinstance(verdict, Rejected):
        return verdict
    name = verdict.value
    if not _NAME_CHARS.fullmatch(name):
        return Rejected(
            "Họ và tên chỉ gồm chữ cái và khoảng trắng, không có số hay ký hiệu. "
            "Ví dụ: Phạm Thị Hoa."
        )
    return _bounded(
        " ".join(part[:1].upper() + part[1:] for part in name.split(" ")), "họ và tên", NAME_MAX
    )


def parse_birth_year(raw: str, current_year: int) -> Verdict[int]:
    text = clean(raw)
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        return Rejected("Năm sinh gồm 4 chữ số, ví dụ 1985.")
    year = int(text)
    youngest, oldest = current_year - 15, current_year - 100
    if not oldest <= year <= youngest:
        return Rejected(f"Năm sinh {year} không hợp lệ: cần trong khoảng {oldest}–{youngest}.")
    return Ok(year)


def parse_short_text(raw: str, what: str, limit: int = SHORT_TEXT_MAX) -> Verdict[str]:
    verdict = _required(raw, what)
    if isinstance(verdict, Rejected):
        return verdict
    return _bounded(verdict.value, what, limit)


def parse_title(raw: str) -> Verdict[str]:
    verdict = parse_short_text(raw, "tên sáng kiến", TITLE_MAX)
    if isinstance(verdict, Ok) and len(verdict.value) < TITLE_MIN:
        return Rejected(
            f"Tên sáng kiến quá ngắn (dưới {TITLE_MIN} ký tự). "
            "Vui lòng ghi rõ tên sáng kiến, ví dụ: Cải tiến quy trình tiếp nhận hồ sơ."
        )
    return verdict


def parse_long_text(raw: str, what: str, limit: int = LONG_TEXT_MAX) -> Verdict[str]:
    text = clean_multiline(raw)
    if not text or not has_letter(text):
        return Rejected(f"Bạn chưa nhập {what}. Vui lòng gửi {what} bằng chữ.")
    return _bounded(text, what, limit)


_MONEY_UNITS = {
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
    "trieu": 1_000_000,
    "tr": 1_000_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "k": 1_000,
}
_MONEY = re.compile(r"(\d[\d., ]*)\s*(ty|ti|trieu|tr|nghin|ngan|k)?\s*(dong|d|vnd)?")
MONEY_MAX = 10**15


def parse_money_vnd(raw: str) -> Verdict[int]:
    """'150.000.000', '150 triệu', '1,5 tỷ đồng' -> amount in VND."""
    match = _MONEY.fullmatch(fold(raw))
    if not match:
        return Rejected(
            "Giá trị làm lợi chưa đúng. Vui lòng gửi số tiền bằng đồng, ví dụ 150.000.000 "
            "hoặc 150 triệu, hoặc gửi “không” nếu không quy đổi được thành tiền."
        )
    number, unit = match.group(1).replace(" ", ""), match.group(2)
    if sum(ch.isdigit() for ch in number) > 19:
        return Rejected("Số tiền quá lớn. Vui lòng kiểm tra lại giá trị làm lợi.")
    if unit:
        # With a unit, one separator is a decimal mark: "1,5 tỷ" or "1.5 tỷ".
        number = number.replace(",", ".")
        if number.count(".") > 1:
            number = number.replace(".", "")
        value = float(number) * _MONEY_UNITS[unit]
        amount = round(value) if value < MONEY_MAX else MONEY_MAX + 1
    else:
        amount = int(number.replace(".", "").replace(",", ""))
    if amount <= 0 or amount > MONEY_MAX:
        return Rejected("Giá trị làm lợi phải lớn hơn 0 và hợp lý. Vui lòng kiểm tra lại số tiền.")
    return Ok(amount)


def format_money_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


_DRIVE_HOSTS = {"drive.google.com", "docs.google.com"}
_DRIVE_PATH = re.compile(
    r"/(?:file/d/[\w-]{10,}(?:/.*)?|drive/(?:u/\d+/)?folders/[\w-]{10,}.*|open|uc"
    r"|(?:document|spreadsheets|presentation|forms)/d/[\w-]{10,}(?:/.*)?)"
)


def parse_drive_link(raw: str) -> Verdict[str]:
    text = clean(raw)
    if " " in text:
        return Rejected("Mỗi lần chỉ gửi một đường dẫn Google Drive, không kèm chữ khác.")
    try:
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = parts.hostname or ""
    except ValueError:
        host = ""
    if not host or parts.scheme != "https" or host not in _DRIVE_HOSTS:
        return Rejected(
            "Đường dẫn chưa đúng. Chỉ nhận đường dẫn Google Drive bắt đầu bằng "
            "https://drive.google.com/ hoặc https://docs.google.com/, ở chế độ chia sẻ."
        )
    if not _DRIVE_PATH.fullmatch(parts.path) or (
        parts.path in ("/open", "/uc") and "id=" not in parts.query
    ):
        return Rejected(
            "Đường dẫn Google Drive chưa trỏ tới tệp hay thư mục nào. Hãy mở tệp trên Drive, "
            "chọn “Chia sẻ” → “Sao chép đường liên kết” rồi gửi lại."
        )
    return Ok(parts.geturl())
