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
    "ví dụ 0912 820 510 hoặc +84912820510."
)


def parse_phone(raw: str) -> Verdict[str]:
    """Accepts 0912.820.510, 0912 820 510, +84912820510, 84912820510; returns +84912820510."""
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


def mask_phone(e164: str) -> str:
    """For logs and screens of people who may not see the number: +8491*****10."""
    if len(e164) < 6:
        return "*" * len(e164)
    return e164[:5] + "*" * (len(e164) - 7) + e164[-2:]
