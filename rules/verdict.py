"""The result type every check in `rules/` returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refusal with the Vietnamese message shown to the user."""

    message: str


Verdict = Ok[T] | Rejected
