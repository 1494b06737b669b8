"""The injected clock. Everything asks it for 'now'; nothing calls datetime.now directly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol

from rules.campaigns import TZ


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(TZ)


class FixedClock:
    """A clock that stands still until moved; for `--now`, trials and tests."""

    def __init__(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=TZ)

    def now(self) -> datetime:
        return self._at.astimezone(TZ)

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=TZ)


class RunningClock:
    """A clock that starts at a given moment and runs on: a trial in a campaign's past whose
    retries and reminders still come due."""

    def __init__(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=TZ)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return (self._at + timedelta(seconds=time.monotonic() - self._started)).astimezone(TZ)


def parse_now(text: str) -> datetime:
    """'2022-03-01', '2022-03-01T08:30' or '2022-03-01 08:30', read as Vietnam time."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=TZ)
