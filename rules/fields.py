"""Checks for the free-text fields of the profile and the initiative form."""

from __future__ import annotations

import re
from decimal import Decimal
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


# A year as people write it on its own or in a sentence ("sinh năm 1988", "1988 ạ", a date)
_FOUR_DIGITS = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")


def parse_birth_year(raw: str, current_year: int) -> Verdict[int]:
    found = _FOUR_DIGITS.findall(clean(raw))
    if len(found) != 1:
        return Rejected("Năm sinh gồm 4 chữ số, ví dụ 1985.")
    year = int(found[0])
    youngest, oldest = current_year - 15, current_year - 100
    if not oldest <= year <= youngest:
        return Rejected(f"Năm sinh {year} không hợp lệ: cần trong khoảng {oldest}–{youngest}.")
    return Ok(year)


def parse_short_text(raw: str, what: str, limit: int = SHORT_TEXT_MAX) -> Verdict[str]:
    verdict = _required(raw, what)
    if isinstance(verdict, Rejected):
        return verdict
    return _bounded(verdict.value, what, limit)


# Answers that say there is no recognition yet, folded
NOT_RECOGNIZED = frozenset(
    {"chua co", "chua", "khong co", "khong", "chua duoc cong nhan", "chua cong nhan", "ko", "k"}
)


def parse_recognizer(raw: str) -> Verdict[str]:
    """Who recognised the initiative: an initiative not recognised yet cannot take part."""
    if fold(raw) in NOT_RECOGNIZED:
        return Rejected(
            "Chương trình chỉ nhận sáng kiến đã được cơ quan, đơn vị có thẩm quyền công nhận. "
            "Nếu sáng kiến đã được công nhận, hãy gửi tên nơi công nhận (ví dụ: Hội đồng sáng "
            "kiến Công ty X). Nếu chưa, bản nháp của bạn vẫn được giữ: gõ /menu và quay lại khi "
            "sáng kiến đã được công nhận."
        )
    return parse_short_text(raw, "nơi công nhận")


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


_SCALES = {
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
    "trieu": 1_000_000,
    "tr": 1_000_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "k": 1_000,
}
# A number, then maybe a scale word and a currency word, not run into other letters or digits.
_AMOUNT = re.compile(
    r"(?<![\w.,])(\d[\d.,]*\d|\d)\s*(ty|ti|trieu|tr|nghin|ngan|k)?\s*(dong|d|vnd)?(?![a-z0-9])"
)
# Only spaces between the parts of "1 tỷ 200 triệu".
_COMPOUND_GAP = re.compile(r"\s*")
MONEY_MAX = 10**15
MONEY_EXAMPLE = "ví dụ 150.000.000, 150 triệu hoặc 1,2 tỷ"
NOT_MONEY = (
    f"Giá trị làm lợi chưa đúng. Vui lòng gửi số tiền làm lợi, {MONEY_EXAMPLE}; hoặc gửi "
    "“không” nếu không quy đổi được thành tiền."
)


def parse_money_vnd(raw: str) -> Verdict[int]:
    """An amount in đồng as people write it: '150.000.000', '150 triệu', '1,2 tỷ', '120tr',
    '1 tỷ 200 triệu', 'Tiết kiệm khoảng 120 triệu đồng mỗi năm'. A sentence is read for its one
    amount; with several, or a bare small number, the person is asked what they meant."""
    found = _amounts(fold(raw))
    money = [amount for amount, is_money in found if is_money] or [a for a, _m in found]
    if not money:
        return Rejected(NOT_MONEY)
    if len(money) > 1:
        listed = " và ".join(format_money_vnd(a) if a else "?" for a in money[:3])
        return Rejected(
            f"Có nhiều số tiền trong câu trả lời ({listed}). Vui lòng gửi một số tiền: giá trị "
            f"làm lợi của sáng kiến, {MONEY_EXAMPLE}."
        )
    amount = money[0]
    if amount == 0:
        return Rejected("Giá trị làm lợi phải lớn hơn 0. Không quy đổi được thì gửi “không”.")
    if amount is None:
        return Rejected(
            f"Chưa rõ số tiền. Số thập phân cần có đơn vị, {MONEY_EXAMPLE}; số lớn ghi dấu "
            "chấm ngăn cách hàng nghìn, ví dụ 150.000.000."
        )
    if amount < 1_000 and not any(is_money for _a, is_money in found):
        return Rejected(
            f"{amount} đồng có đúng không? Nếu là {amount} triệu hay {amount} nghìn đồng, hãy "
            f"ghi rõ đơn vị, ví dụ “{amount} triệu”."
        )
    if amount <= 0 or amount > MONEY_MAX:
        return Rejected("Giá trị làm lợi phải lớn hơn 0 và hợp lý. Vui lòng kiểm tra lại số tiền.")
    return Ok(amount)


def _amounts(folded: str) -> list[tuple[int | None, bool]]:
    """(amount or None when unreadable, whether it is written as money) for each amount in
    the text; "1 tỷ 200 triệu" is one amount."""
    amounts: list[tuple[int | None, bool]] = []
    end, previous_scale = -1, 0
    for match in _AMOUNT.finditer(folded):
        digits, scale_word, currency = match.groups()
        scale = _SCALES[scale_word] if scale_word else 1
        value = _number(digits, scaled=scale_word is not None)
        amount = None if value is None else _to_dong(value * scale)
        joined = (
            amounts
            and scale_word
            and scale < previous_scale
            and _COMPOUND_GAP.fullmatch(folded[end : match.start()])
        )
        if joined:
            before, _ = amounts[-1]
            amounts[-1] = (None if before is None or amount is None else before + amount, True)
        else:
            grouped = value is not None and ("." in digits or "," in digits)
            amounts.append((amount, bool(scale_word or currency or grouped)))
        end, previous_scale = match.end(), scale if scale_word else 0
    return amounts


def _number(digits: str, *, scaled: bool) -> Decimal | None:
    """'150.000.000' and '150,000,000' group thousands; with a scale word, a last group of one
    or two digits is the decimal part ('1,2 tỷ', '1.5 triệu'). None when it reads neither way."""
    groups = re.split(r"[.,]", digits)
    if len(groups) == 1:
        return Decimal(digits)
    head, *middle, last = groups
    if not all(len(g) == 3 for g in middle) or len(head) > 3:
        return None
    if len(last) == 3:
        return Decimal("".join(groups))
    if scaled and len(last) in (1, 2):
        return Decimal("".join((head, *middle)) + "." + last)
    return None


def _to_dong(value: Decimal) -> int | None:
    return int(value.to_integral_value()) if value <= MONEY_MAX * 10 else MONEY_MAX + 1


def format_count(n: int) -> str:
    """A number as Vietnamese writes it: 2.000, 100.000."""
    return f"{n:,}".replace(",", ".")


def format_money_vnd(amount: int) -> str:
    return format_count(amount) + " đồng"


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


_DOC_PREFIX = re.compile(r"^(?:văn bản|vb|quyết định|qđ)?\s*(?:số|so)\s*[:.]?\s*", re.IGNORECASE)


def parse_doc_number(raw: str) -> Verdict[str]:
    """The number of the recognition document: '125/QĐ-CT'; a leading 'số' is dropped (the
    card writes 'văn bản số …' itself)."""
    text = _DOC_PREFIX.sub("", clean(raw), count=1)
    if not any(ch.isdigit() for ch in text):
        return Rejected("Số văn bản phải có chữ số, ví dụ: 125/QĐ-CT.")
    return _bounded(text, "số văn bản", 100)


MAX_CO_AUTHORS = 10
CO_AUTHOR_EXAMPLE = "ví dụ: Lê Văn Ba, 1980, 30%"
_SHARE = re.compile(r"(\d{1,3})\s*%?")


def parse_share(raw: str) -> Verdict[int]:
    """A share of the work in percent: '30', '30%', '30 %'."""
    match = _SHARE.fullmatch(clean(raw))
    if not match or not 1 <= int(match.group(1)) <= 100:
        return Rejected("Tỷ lệ đóng góp là một số phần trăm từ 1 đến 100, ví dụ: 30%.")
    return Ok(int(match.group(1)))


def parse_co_author(raw: str, current_year: int) -> Verdict[dict[str, object]]:
    """'Lê Văn Ba, 1980, 30%' -> {'name': 'Lê Văn Ba', 'birth_year': 1980, 'share': 30}."""
    parts = [part.strip() for part in clean(raw).split(",")]
    if len(parts) != 3:
        return Rejected(
            "Gửi mỗi đồng tác giả một tin: họ tên, năm sinh, tỷ lệ đóng góp "
            f"({CO_AUTHOR_EXAMPLE})."
        )
    name = parse_full_name(parts[0])
    year = parse_birth_year(parts[1], current_year)
    share = parse_share(parts[2])
    if isinstance(name, Rejected):
        return Rejected(f"{name.message} ({CO_AUTHOR_EXAMPLE})")
    if isinstance(year, Rejected):
        return Rejected(f"{year.message} ({CO_AUTHOR_EXAMPLE})")
    if isinstance(share, Rejected):
        return Rejected(f"{share.message} ({CO_AUTHOR_EXAMPLE})")
    return Ok({"name": name.value, "birth_year": year.value, "share": share.value})


def credited_author(
    author: str, author_share: int | None, co_authors: list[dict[str, object]]
) -> str:
    """Whom 46/HD-TLĐ I.2.4 credits: the largest share; on a tie, the author who filed it."""
    best, best_share = author, author_share or 0
    for other in co_authors:
        share = int(str(other.get("share") or 0))
        if share > best_share:
            best, best_share = str(other["name"]), share
    return best
