"""What the columns of a mẫu 1 table mean, and how each cell is taken apart into the answers
the chat asks for one by one.

Headings are matched by their words, without accents or case: “Họ và tên, năm sinh, chức
vụ, …” however the union typed it, the awards' column whatever years it names. The cells are
written as the bot's own export writes them (bot/stats/export.py), and as people write them
by hand: “Phạm Thị Hoa, 1985, Công nhân, Tổ may 1 – Công ty May Sông Hồng, 0912 345 678”,
“01/09/2021 – 31/12/2022”, “Tiết kiệm khoảng 120 triệu đồng mỗi năm. Áp dụng tại tổ may 1”."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rules.fields import parse_money_vnd
from rules.text import clean, fold_words
from rules.verdict import Ok

NUMBER, AUTHOR, TITLE, PERIOD, DESCRIPTION, EFFECT, AWARDS = (
    "number",
    "author",
    "title",
    "period",
    "description",
    "effect",
    "awards",
)
UNIT, GROUP, KIND, RECOGNITION, VALUE, ATTACHMENTS = (
    "unit",
    "target_group",
    "solution_type",
    "recognition",
    "value",
    "attachments",
)

# (column, folded beginnings of its heading); the first that matches wins, so that “Đơn
# vị” alone is the unit and “Giá trị làm lợi (đồng)” the amount, not the effect.
HEADINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (NUMBER, ("tt", "stt", "so tt")),
    (AUTHOR, ("ho va ten", "ho ten", "tac gia")),
    (TITLE, ("ten sang kien", "ten giai phap")),
    (PERIOD, ("thoi gian ap dung", "thoi gian trien khai", "thoi gian thuc hien")),
    (DESCRIPTION, ("tom tat noi dung", "noi dung sang kien", "mo ta")),
    (VALUE, ("gia tri lam loi",)),
    (EFFECT, ("hieu qua",)),
    (AWARDS, ("cac danh hieu", "danh hieu", "hinh thuc khen thuong")),
    (GROUP, ("nhom doi tuong", "doi tuong")),
    (KIND, ("loai giai phap", "loai sang kien")),
    (RECOGNITION, ("cong nhan",)),
    (ATTACHMENTS, ("tai lieu kem theo", "tai lieu")),
)
EXACT_HEADINGS = {"don vi": UNIT}  # “Đơn vị công tác” is part of the author's column
REQUIRED = (AUTHOR, TITLE, PERIOD, DESCRIPTION, EFFECT)
COLUMN_NAMES = {
    AUTHOR: "Họ và tên, năm sinh, chức vụ, đơn vị công tác, điện thoại liên hệ",
    TITLE: "Tên sáng kiến",
    PERIOD: "Thời gian áp dụng",
    DESCRIPTION: "Tóm tắt nội dung sáng kiến",
    EFFECT: "Hiệu quả sáng kiến, giá trị làm lợi, phạm vi ứng dụng",
    AWARDS: "Các danh hiệu thi đua, hình thức khen thưởng",
    UNIT: "Đơn vị",
    GROUP: "Nhóm đối tượng",
    KIND: "Loại giải pháp",
    RECOGNITION: "Công nhận",
    VALUE: "Giá trị làm lợi (đồng)",
    ATTACHMENTS: "Tài liệu kèm theo",
}
RECOGNITION_EXAMPLE = "Hội đồng sáng kiến Công ty May Sông Hồng, số 12/QĐ-CT ngày 15/03/2021"
AUTHOR_EXAMPLE = "Phạm Thị Hoa, 1985, Công nhân, Tổ may 1 – Công ty May Sông Hồng"


def column_of(heading: str) -> str | None:
    """The column a heading names, or None for one the intake does not read."""
    words = fold_words(heading)
    if words in EXACT_HEADINGS:
        return EXACT_HEADINGS[words]
    for column, beginnings in HEADINGS:
        if any(words == b or words.startswith(b + " ") for b in beginnings):
            return column
    return None


@dataclass(slots=True)
class Author:
    """The author's cell taken apart: the texts the form's questions would have been sent."""

    name: str = ""
    birth_year: str = ""
    position: str = ""
    workplace: str = ""
    share: str = ""  # the author's own percent, where there are co-authors
    co_authors: list[str] = field(default_factory=list)  # “Lê Văn Ba, 1980, 30%” each


_CREDITED = re.compile(r"\.?\s*công nhận cho\s*:.*$", re.IGNORECASE | re.DOTALL)
_CO_AUTHORS = re.compile(r"\.?\s*đồng tác giả\s*:\s*", re.IGNORECASE)
_SHARE = re.compile(r"\(\s*đóng góp\s*(\d{1,3})\s*%\s*\)\.?", re.IGNORECASE)
_PHONE = re.compile(r"^(?:đt|điện thoại|sđt|dt|sdt)?\s*:?\s*\+?[\d .\-()]{9,}$", re.IGNORECASE)


def author_parts(text: str) -> Author:
    """“Name, year, position, workplace[, ĐT phone][ (đóng góp N%). Đồng tác giả: …]”. A
    phone written in the cell is left out: the bot keeps only phones a person verified."""
    found = Author()
    text = _CREDITED.sub("", text.replace("\n", ", "))
    parts = _CO_AUTHORS.split(text, maxsplit=1)
    main, others = parts[0], parts[1] if len(parts) > 1 else ""
    share = _SHARE.search(main)
    if share:
        found.share = share.group(1)
        main = main[: share.start()] + main[share.end() :]
    pieces = [p.strip() for p in main.strip(" .;").split(",")]
    pieces = [p for p in pieces if p and not _PHONE.match(p)]
    for name, value in zip(("name", "birth_year", "position"), pieces, strict=False):
        setattr(found, name, value)
    found.workplace = ", ".join(pieces[3:])
    found.co_authors = [p.strip() for p in others.strip(" .").split(";") if p.strip()]
    return found


_DAY = re.compile(r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}")
_WORDED_DAY = re.compile(r"ngày\s*\d{1,2}\s*tháng\s*\d{1,2}\s*năm\s*\d{2,4}", re.IGNORECASE)


def period_parts(text: str) -> tuple[str, str]:
    """The start and the end of “01/09/2021 – 31/12/2022” (or “từ … đến …”); an end not
    written (“đến nay”) comes back as the words there, which the end date's rule answers."""
    days = [m.group(0) for m in _DAY.finditer(text)] or [
        m.group(0) for m in _WORDED_DAY.finditer(text)
    ]
    if not days:
        return text, ""
    if len(days) == 1:
        after = text[text.index(days[0]) + len(days[0]) :].strip(" –-")
        return days[0], after
    return days[0], days[1]


@dataclass(slots=True)
class Effect:
    value: str = ""
    social: str = ""
    scope: str = ""


_VALUE_LABEL = re.compile(r"^\s*giá trị làm lợi\s*:\s*([^;]*);?", re.IGNORECASE)
_SCOPE_LABEL = re.compile(r";?\s*phạm vi (?:ứng dụng|áp dụng)\s*:\s*", re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.;])\s+|\n+")
SCOPE_WORDS = ("ap dung", "nhan rong", "pham vi", "trien khai tai", "su dung tai")
MONEY_WORDS = ("dong", "trieu", "ty", "ti", "nghin", "ngan", "vnd")


def effect_parts(text: str) -> Effect:
    """The effect's cell: “Giá trị làm lợi: X; social; Phạm vi ứng dụng: Y” as the export
    writes it, or free sentences: those saying where it is applied are the scope, one with an
    amount of money gives the value, the rest is the social benefit."""
    found = Effect()
    labelled = _VALUE_LABEL.match(text)
    if labelled:
        found.value, text = labelled.group(1).strip(), text[labelled.end() :]
    parts = _SCOPE_LABEL.split(text, maxsplit=1)
    if len(parts) == 2:
        found.social, found.scope = parts[0].strip(" ;"), parts[1].strip()
        return found
    social, scope = [], []
    for sentence in (s.strip() for s in _SENTENCES.split(text) if s.strip()):
        words = f" {fold_words(sentence)} "
        if any(f" {w} " in words for w in SCOPE_WORDS):
            scope.append(sentence)
            continue
        if not found.value and _amount_in(sentence, words):
            found.value = sentence
        social.append(sentence)
    found.social, found.scope = " ".join(social), " ".join(scope)
    return found


def _amount_in(sentence: str, words: str) -> bool:
    """A sentence that names one amount of money the form's rule reads."""
    if not re.search(r"\d", sentence) or not any(f" {w} " in words for w in MONEY_WORDS):
        return False
    return isinstance(parse_money_vnd(sentence), Ok)


_RECOGNITION = re.compile(
    r"^(?P<by>.+?)[,;]?\s+(?:văn bản\s+|quyết định\s+)?(?:số|so)\s*:?\s*(?P<doc>\S+?)[,;]?\s+"
    r"(?:ngày|ngay)\s*(?P<day>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_WARNING = re.compile(r"\s*\(⚠️[^)]*\)\s*$")


@dataclass(frozen=True, slots=True)
class Recognition:
    by: str
    doc: str
    day: str


def recognition_parts(text: str) -> Recognition | None:
    """“Hội đồng sáng kiến Công ty X, số 12/QĐ-CT ngày 15/03/2021”; None if not so written.
    The export's own warning after it (a date before the campaign) is dropped: the review
    card says it again."""
    text = _WARNING.sub("", clean(text))
    found = _RECOGNITION.match(text)
    if found is None:
        return None
    return Recognition(
        found.group("by").strip(" ,;"), found.group("doc").strip(), found.group("day").strip()
    )
