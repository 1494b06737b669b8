"""A photo or scan of a printed initiative form read with Tesseract (Debian: `tesseract-ocr`
and `tesseract-ocr-vie`, through pytesseract) into the answers of one draft, which the person
then confirms question by question: nothing read here is filed unseen.

The form is mẫu 1's fields for one initiative, one “Label: value” per line, a long value
going on over the lines under it (FORM_LABELS; `python -m bench ocr` renders such forms and
measures what comes back). Tesseract is optional: without it, or without its Vietnamese
data, `missing()` says so in a line and the bot asks to type."""

from __future__ import annotations

import difflib
import io
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from bot.intake import columns as col
from rules.text import clean, fold_words
from rules.verdict import Ok, Rejected, Verdict

# The printed form: (field, label as printed). The author's details are the author column's
# parts; the effect's three are its labelled parts (bot.intake.columns).
FORM_LABELS: tuple[tuple[str, str], ...] = (
    ("name", "Họ và tên tác giả"),
    ("birth_year", "Năm sinh"),
    ("position", "Chức vụ"),
    ("workplace", "Đơn vị công tác"),
    ("target_group", "Nhóm đối tượng"),
    ("title", "Tên sáng kiến"),
    ("solution_type", "Loại giải pháp"),
    ("period", "Thời gian áp dụng"),
    ("description", "Tóm tắt nội dung"),
    ("value", "Giá trị làm lợi"),
    ("social", "Lợi ích xã hội"),
    ("scope", "Phạm vi ứng dụng"),
    ("recognition", "Công nhận"),
    ("awards", "Danh hiệu, khen thưởng"),
)
FORM_TITLE = "PHIẾU THÔNG TIN SÁNG KIẾN"
PHOTO_STARTS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-")  # JPEG, PNG, PDF
LANGUAGE = "vie"
TIMEOUT_SECONDS = 60
MAX_PIXELS = 40_000_000  # an A4 page at 600 dpi is 35 million
LABEL_LIKENESS = 0.8  # how close a line's first words must be to a label, after OCR's slips
OCR_CONFIG = "--psm 4"  # one column of text of varying sizes
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-vie"


@cache
def missing() -> str | None:
    """Why photos cannot be read on this machine (said to the person), or None."""
    if shutil.which("tesseract") is None:
        return "Máy chủ chưa cài chương trình đọc ảnh (Tesseract)."
    import pytesseract

    try:
        languages = pytesseract.get_languages(config="")
    except (pytesseract.TesseractError, OSError, RuntimeError):
        return "Chương trình đọc ảnh (Tesseract) trên máy chủ không chạy được."
    if LANGUAGE not in languages:
        return "Máy chủ chưa cài dữ liệu tiếng Việt cho chương trình đọc ảnh."
    return None


def read_photo(data: bytes) -> Verdict[str]:
    """The text Tesseract reads on a JPEG, PNG or (first page of a) PDF."""
    problem = missing()
    if problem is not None:
        return Rejected(problem)
    image = _image(data)
    if isinstance(image, Rejected):
        return image
    import pytesseract

    try:
        text = pytesseract.image_to_string(
            image.value, lang=LANGUAGE, config=OCR_CONFIG, timeout=TIMEOUT_SECONDS
        )
    except (RuntimeError, pytesseract.TesseractError, OSError):
        return Rejected("Không đọc được ảnh này (quá lâu hoặc lỗi). Vui lòng chụp lại rõ hơn.")
    return Ok(_tidied(str(text)))


# What Tesseract's Vietnamese model writes that Vietnamese never does: the Icelandic Ð for Đ
# (and Đ twice), a spaced hyphen where the documents set a dash.
_SLIPS = (("Ð", "Đ"), ("ĐĐ", "Đ"), (" - ", " – "))


def _tidied(text: str) -> str:
    for slip, meant in _SLIPS:
        text = text.replace(slip, meant)
    return text


def _image(data: bytes) -> Verdict[object]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if data.startswith(b"%PDF-"):
        page = _first_page(data)
        if isinstance(page, Rejected):
            return page
        data = page.value
    try:
        opened = Image.open(io.BytesIO(data))  # reads the header only
        if opened.format not in ("JPEG", "PNG"):
            return Rejected("Chỉ đọc được ảnh JPG, PNG hoặc tệp PDF quét.")
        if opened.width * opened.height > MAX_PIXELS:
            return Rejected("Ảnh quá lớn. Vui lòng chụp lại với độ phân giải thấp hơn.")
        image = ImageOps.exif_transpose(opened).convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        return Rejected("Ảnh bị hỏng hoặc quá lớn. Vui lòng chụp lại rồi gửi.")
    return Ok(_straightened(image))


SKEW_STEP, SKEW_MOST = 0.25, 4.0  # degrees tried either way
SKEW_WIDTH = 600  # pixels the angle is looked for at


def _straightened(image: Any) -> Any:
    """A page photographed a few degrees off, turned straight: Tesseract reads a tilted page
    line by line and mixes the lines up. The angle is the one whose rows of ink are sharpest
    (the variance of the row sums, on a small copy)."""
    import numpy
    from PIL import Image

    small = image.resize((SKEW_WIDTH, max(1, image.height * SKEW_WIDTH // image.width)))
    ink = Image.eval(small, lambda value: 255 - value)
    steps = int(SKEW_MOST / SKEW_STEP)
    best_angle, best_score = 0.0, -1.0
    for step in range(-steps, steps + 1):
        angle = step * SKEW_STEP
        rows = numpy.asarray(ink.rotate(angle, resample=Image.Resampling.BILINEAR)).sum(axis=1)
        score = float(numpy.var(rows))
        if score > best_score:
            best_angle, best_score = angle, score
    if best_angle == 0.0:
        return image
    return image.rotate(best_angle, resample=Image.Resampling.BICUBIC, fillcolor=255)


def _first_page(data: bytes) -> Verdict[bytes]:
    """The first page of a scanned PDF as a PNG (Debian's poppler-utils: `pdftoppm`)."""
    if shutil.which("pdftoppm") is None:
        return Rejected("Máy chủ chưa đọc được tệp PDF; vui lòng gửi ảnh chụp (JPG, PNG).")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "form.pdf"
        source.write_bytes(data)
        try:
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "300",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(source),
                    str(Path(folder) / "page"),
                ],
                check=True,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
            )
            return Ok((Path(folder) / "page.png").read_bytes())
        except (subprocess.SubprocessError, OSError):
            return Rejected("Tệp PDF bị hỏng hoặc không có trang nào. Vui lòng gửi ảnh chụp.")


def fields_of(text: str) -> dict[str, str]:
    """The printed form's values by field: a line beginning with a label (as OCR spelt it)
    starts a field, the lines under it without one go on with it. The labels come in the
    form's order, so a line of a description that reads “… Giải pháp: …” is not taken for
    “Loại giải pháp”, printed above it."""
    found: dict[str, list[str]] = {}
    current, seen = None, -1
    for line in (clean(raw) for raw in text.splitlines()):
        if not line:
            continue
        labelled = _labelled(line, seen)
        if labelled is not None:
            seen, value = labelled
            current = FORM_LABELS[seen][0]
            found[current] = [value] if value else []
        elif current is not None and fold_words(line) != fold_words(FORM_TITLE):
            found[current].append(line)
    return {field: " ".join(parts).strip() for field, parts in found.items() if parts}


_FOLDED_LABELS = [fold_words(label) for _field, label in FORM_LABELS]


def _labelled(line: str, seen: int) -> tuple[int, str] | None:
    """The position of the label a line begins with, among those after `seen`, and the
    value after its colon."""
    head, colon, rest = line.partition(":")
    if not colon or seen + 1 >= len(FORM_LABELS):
        return None
    words = fold_words(head)
    later = range(seen + 1, len(FORM_LABELS))
    best = max(
        later, key=lambda i: difflib.SequenceMatcher(None, words, _FOLDED_LABELS[i]).ratio()
    )
    likeness = difflib.SequenceMatcher(None, words, _FOLDED_LABELS[best]).ratio()
    return (best, rest.strip()) if likeness >= LABEL_LIKENESS else None


def answers_of(fields: dict[str, str]) -> dict[str, str]:
    """The form's fields as the answers to the chat's questions (bot.intake.check)."""
    start, end = col.period_parts(fields.get("period", ""))
    answers = {key: fields.get(key, "") for key in PLAIN}
    answers.update(
        started_on=start,
        ended_on=end,
        benefit_vnd=fields.get("value", ""),
        benefit_social=fields.get("social", ""),
        applied_scope=fields.get("scope", ""),
    )
    return answers


PLAIN = (
    "name",
    "birth_year",
    "position",
    "workplace",
    "target_group",
    "title",
    "solution_type",
    "description",
    "awards",
)
