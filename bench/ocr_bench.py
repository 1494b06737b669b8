"""Photos of the printed form: N forms rendered with Pillow from invented values (the form's
labels, DejaVu Sans as matplotlib ships it), clean (PNG) and noisy (turned up to ±3°, JPEG
quality 60), read back with Tesseract; how many fields come back exactly, field by field."""

from __future__ import annotations

import io
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

from bench.mau1 import GIVEN, MIDDLES, SURNAMES, THINGS
from bot.intake.ocr import FORM_LABELS, FORM_TITLE, INSTALL, fields_of, read_photo
from rules.verdict import Rejected

WIDTH, HEIGHT, MARGIN = 1240, 1754, 90  # A4 at 150 dpi
FONT_SIZE = 26
CLEAN_AIM, NOISY_AIM = 0.95, 0.85
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
GROUPS = ("Công nhân lao động trong các doanh nghiệp sản xuất, kinh doanh", "Cán bộ công đoàn")
KINDS = ("Giải pháp kỹ thuật", "Giải pháp quản lý", "Giải pháp tác nghiệp")


def form_values(number: int) -> dict[str, str]:
    """One initiative's fields, invented."""
    rng = random.Random(number)
    thing = THINGS[number % len(THINGS)]
    team = rng.randint(1, 9)
    return {
        "name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {rng.choice(GIVEN)}",
        "birth_year": str(rng.randint(1965, 2000)),
        "position": rng.choice(("Công nhân", "Tổ trưởng", "Kỹ thuật viên", "Nhân viên")),
        "workplace": f"Tổ may {team} – Công ty May Hiệp Hòa",
        "target_group": GROUPS[number % 2],
        "title": f"Cải tiến {thing} tại tổ may {team}",
        "solution_type": KINDS[number % 3],
        "period": f"{rng.randint(1, 28):02d}/{rng.randint(9, 12):02d}/2021 – 28/02/2022",
        "description": (
            f"Trước đây {thing} phải chỉnh tay, mất nhiều thời gian và dễ sai. Giải pháp: làm "
            "thêm gá định vị và bảng kiểm theo ca, công nhân tự kiểm tra trước khi chạy máy."
        ),
        "value": f"{rng.randint(2, 40) * 5}.000.000 đồng",
        "social": "Giảm thao tác thừa, công nhân đỡ mệt hơn",
        "scope": f"Tổ may {team}, có thể nhân rộng toàn công ty",
        "recognition": (
            f"Hội đồng sáng kiến Công ty May Hiệp Hòa, số {number}/QĐ-HĐSK ngày 15/02/2022"
        ),
        "awards": f"Lao động giỏi năm {rng.choice((2019, 2020))}",
    }


def render(values: dict[str, str], noisy: bool, seed: int) -> bytes:
    page = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(page)
    regular = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), FONT_SIZE)
    bold = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), FONT_SIZE + 4)
    y = MARGIN
    draw.text((WIDTH // 2, y), FORM_TITLE, font=bold, fill=0, anchor="mt")
    y += 3 * FONT_SIZE
    for key, label in FORM_LABELS:
        for line in _wrapped(draw, f"{label}: {values[key]}", regular):
            draw.text((MARGIN, y), line, font=regular, fill=0)
            y += int(FONT_SIZE * 1.6)
        y += FONT_SIZE // 3
    out = io.BytesIO()
    if noisy:
        angle = random.Random(seed).uniform(-3.0, 3.0)
        page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255).save(
            out, "JPEG", quality=60
        )
    else:
        page.save(out, "PNG")
    return out.getvalue()


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont) -> Iterator[str]:
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > WIDTH - 2 * MARGIN:
            yield line
            line = word
        else:
            line = candidate
    if line:
        yield line


@dataclass(slots=True)
class Accuracy:
    forms: int = 0
    exact: dict[str, int] = field(default_factory=dict)

    def share(self, key: str | None = None) -> float:
        if key is not None:
            return self.exact.get(key, 0) / max(self.forms, 1)
        return sum(self.exact.values()) / max(self.forms * len(FORM_LABELS), 1)


def _same(read: str, meant: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split())

    return norm(read) == norm(meant)


def measure(count: int) -> tuple[Accuracy, Accuracy, list[str]]:
    clean, noisy, misses = Accuracy(), Accuracy(), []
    for number in range(1, count + 1):
        values = form_values(number)
        for accuracy, is_noisy in ((clean, False), (noisy, True)):
            text = read_photo(render(values, is_noisy, number))
            if isinstance(text, Rejected):
                raise SystemExit(f"ocr: {text.message} ({INSTALL})")
            read = fields_of(text.value)
            accuracy.forms += 1
            for key, _label in FORM_LABELS:
                if _same(read.get(key, ""), values[key]):
                    accuracy.exact[key] = accuracy.exact.get(key, 0) + 1
                elif len(misses) < 12:
                    kind = "noisy" if is_noisy else "clean"
                    misses.append(f"{kind} #{number} {key}: {read.get(key, '')!r}")
    return clean, noisy, misses


def report(clean: Accuracy, noisy: Accuracy, misses: list[str]) -> str:
    lines = [f"{'field':14} {'clean':>6} {'noisy':>6}"]
    for key, _label in FORM_LABELS:
        lines.append(f"{key:14} {clean.share(key):6.0%} {noisy.share(key):6.0%}")
    lines += ["misses (first 12):", *misses]
    lines.append(
        f"ocr: {clean.forms} forms, fields exact: clean {clean.share():.1%} (aim "
        f"{CLEAN_AIM:.0%}), noisy {noisy.share():.1%} (aim {NOISY_AIM:.0%})"
    )
    return "\n".join(lines)
