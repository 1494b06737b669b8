"""Unicode clean-up and the folding used to match what people type."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width, bidi and other format characters that render as nothing but break matching.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
# A run of white space becomes one space: matching a lone " " too would rebuild every word gap.
_SPACES = re.compile(r"\s{2,}|[^\S ]")
# After NFD, Vietnamese (and most Latin) text is ASCII and marks of this block, all of them Mn.
_NOT_ASCII_OR_LATIN_MARK = re.compile("[^\x00-\x7f\u0300-\u036f]")
# Unicode's control characters (category Cc) are exactly these: C0, DEL and C1.
_CONTROLS_BUT_TAB_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """NFC-normalise, drop invisible and control characters, collapse white space."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROLS_BUT_TAB_NEWLINE.sub("", _INVISIBLE.sub("", text))
    return _SPACES.sub(" ", text).strip()


def clean_multiline(text: str) -> str:
    """Like `clean` but keeps line breaks (for descriptions)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS_BUT_NEWLINE.sub("", _INVISIBLE.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fold(text: str) -> str:
    """Case-, space- and diacritics-insensitive key: 'BẮC  Giang' -> 'bac giang'."""
    decomposed = unicodedata.normalize("NFD", clean(text).replace("đ", "d").replace("Đ", "d"))
    if _NOT_ASCII_OR_LATIN_MARK.search(decomposed) is None:
        bare = decomposed.encode("ascii", "ignore").decode("ascii")  # drops just the marks
    else:  # other scripts: the general rule, letter by letter
        bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.casefold()


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


_NOT_WORD = re.compile(r"[^\w ]+")


def fold_words(text: str) -> str:
    """`fold` without symbols: '✔ Chọn chính Bắc Giang' -> 'chon chinh bac giang'."""
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", fold(text))).strip()


@lru_cache(maxsize=8192)
def match_key(text: str) -> str:
    """`fold_words` of a short text matched again and again (an option label, a title)."""
    return fold_words(text)
