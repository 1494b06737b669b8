"""Near-duplicate initiatives: word-pair overlap of title and description."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

from rules.text import match_key

THRESHOLD = 0.6


@lru_cache(maxsize=2048)  # each new initiative is compared with the same recent ones
def _shingles(text: str) -> frozenset[tuple[str, str]]:
    words = match_key(text).split()
    if len(words) < 2:
        return frozenset((word, "") for word in words)
    return frozenset(pairwise(words))


def similarity(first: str, second: str) -> float:
    """Jaccard overlap of consecutive word pairs, 0..1, ignoring case, accents and symbols."""
    a, b = _shingles(first), _shingles(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def most_similar(
    title: str, text: str, candidates: Sequence[tuple[str, str]]
) -> tuple[int, float] | None:
    """Index and score of the closest (title, text) candidate at or above the threshold."""
    best: tuple[int, float] | None = None
    key = match_key(title)
    for index, (other_title, other_text) in enumerate(candidates):
        score = (
            1.0
            if key and key == match_key(other_title)
            else similarity(f"{title} {text}", f"{other_title} {other_text}")
        )
        if score >= THRESHOLD and (best is None or score > best[1]):
            best = (index, score)
    return best
