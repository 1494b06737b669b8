"""Near-duplicate initiatives: word-pair overlap of title and description.

A text's word pairs are kept as a fingerprint: the sorted CRC-32s of its consecutive word
pairs, packed (a chance clash of two pairs moves a score by well under a percent). It is
computed once, when the initiative is filed or amended, and stored with it, so checking a new
filing against a unit's latest two hundred costs two hundred set intersections instead of two
hundred foldings of up to 2,000 characters each.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import pairwise
from zlib import crc32

from rules.text import fold_words, match_key

THRESHOLD = 0.6
_HASH_BYTES = 4
_PACKED = "I" if array("I").itemsize == _HASH_BYTES else "L"


def pair_hashes(title: str, text: str) -> set[int]:
    """Hashes of the consecutive word pairs (a lone word: itself) of title and text, folded."""
    words = fold_words(f"{title} {text}").split()
    pairs = [f"{word} " for word in words] if len(words) < 2 else map(" ".join, pairwise(words))
    return {crc32(pair.encode()) for pair in pairs}


def fingerprint(title: str, text: str) -> bytes:
    """The stored form of an initiative's word pairs (little-endian, sorted, no repeats)."""
    packed = array(_PACKED, sorted(pair_hashes(title, text)))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpacked(stored: bytes) -> array[int]:
    packed = array(_PACKED)
    packed.frombytes(stored)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed


@lru_cache(maxsize=512)
def _pairs_of(stored: bytes) -> frozenset[int]:
    """A fingerprint as a set, kept for the next filings that meet it (a unit's latest are
    the candidates of every filing in it; a file's rows are checked one after another): four
    times faster to intersect than the packed array."""
    return frozenset(_unpacked(stored))


def similarity(mine: AbstractSet[int], stored: bytes) -> float:
    """Jaccard overlap, 0..1, of a text's pair hashes and another's fingerprint."""
    theirs = len(stored) // _HASH_BYTES
    if not mine or not theirs:
        return 0.0
    common = len(mine & _pairs_of(stored))
    return common / (len(mine) + theirs - common)


def _can_reach_threshold(mine: int, theirs: int) -> bool:
    """The overlap is at most the smaller count over the larger: a cheap early no."""
    return min(mine, theirs) >= THRESHOLD * max(mine, theirs)


def most_similar(
    title: str, stored: bytes, candidates: Sequence[tuple[str, bytes]]
) -> tuple[int, float] | None:
    """Index and score of the (title, fingerprint) candidate closest to an initiative's title
    and `stored` fingerprint, at or above the threshold; a candidate with the same title
    (ignoring case, accents and symbols) scores 1."""
    best: tuple[int, float] | None = None
    key = match_key(title)
    mine = _pairs_of(stored)
    for index, (other_title, theirs) in enumerate(candidates):
        if key and key == match_key(other_title):
            score = 1.0
        elif _can_reach_threshold(len(mine), len(theirs) // _HASH_BYTES):
            score = similarity(mine, theirs)
        else:
            continue
        if score >= THRESHOLD and (best is None or score > best[1]):
            best = (index, score)
    return best
