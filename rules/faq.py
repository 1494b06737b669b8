"""Matching a typed question to the campaign's FAQ, before a human is asked."""

from __future__ import annotations

from collections.abc import Sequence

from rules.text import match_key

# Words that carry no meaning for matching a question.
_FILLER = frozenset(
    (
        "a",
        "ah",
        "oi",
        "nhe",
        "nha",
        "voi",
        "em",
        "anh",
        "chi",
        "ban",
        "minh",
        "toi",
        "cho",
        "hoi",
        "la",
        "gi",
        "the",
        "vay",
    )
)
MIN_SHARED = 2
THRESHOLD = 0.6


def _words(text: str) -> set[str]:
    return {word for word in match_key(text).split() if word not in _FILLER}


def best_answer(question: str, faq: Sequence[tuple[str, str]]) -> int | None:
    """Index of the FAQ entry whose question holds most of the asked words, if close enough."""
    asked = _words(question)
    if len(asked) < MIN_SHARED:
        return None
    best: tuple[float, int] | None = None
    for index, (faq_question, _answer) in enumerate(faq):
        shared = asked & _words(faq_question)
        score = len(shared) / len(asked)
        if len(shared) >= MIN_SHARED and score >= THRESHOLD and (best is None or score > best[0]):
            best = (score, index)
    return best[1] if best else None
