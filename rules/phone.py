"""Vietnamese phone numbers, normalised to E.164."""

from __future__ import annotations

import re

from rules.text import clean
from rules.verdict import Ok, Rejected, Verdict

_SEPARATORS = re.compile(r"[\s.\-()]")
# Mobile prefixes in use since the 2018 renumbering, and 2x for fixed lines (10 digits).
_NATIONAL = re.compile(r"0(?:[35789]\d{8}|2\d{9})")

INVALID_PHONE = (
    "Số điện thoại chưa đúng. Vui lòng gửi số di động Việt Nam gồm 10 chữ số, "
    "ví dụ 0901 234 567 hoặc +84901234567."
)


def parse_phone(raw: str) -> Verdict[str]:
    """Accepts 0901.234.567, 0901 234 567, +84901234567, 84901234567; returns +84901234567."""
    digits = _SEPARATORS.sub("", clean(raw))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isascii() or not _NATIONAL.fullmatch(digits):
        return Rejected(INVALID_PHONE)
    return Ok("+84" + digits[1:])


def national(e164: str) -> str:
    """+84987654222 as people write it: 0987654222."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def mask_phone(e164: str) -> str:
    """For logs and screens of people who may not see the number: 0987***222."""
    written = national(e164)
    if len(written) < 8:
        return "*" * len(written)
    return f"{written[:4]}***{written[-3:]}"


def phone_origin(verified: bool) -> str:
    """How a number came to the record, in the same words to its owner and to officers."""
    return "đã xác minh qua Telegram" if verified else "tự khai, chưa xác minh"
