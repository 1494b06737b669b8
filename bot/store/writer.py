"""One writer at a time on a SQLite file, across the bot's processes, without SQLite's sleeps.

SQLite lets one connection write at a time. One that finds the lock taken sleeps in SQLite's
busy handler and tries again after 1 ms, then 2, 5, 10, 15, 20, 25 … up to 100 ms, so it
waits well past the moment the lock is free. Between the serving process and the sender
(bot/reach/sender.py) that cost both: during a broadcast the sender's claims waited up to
~100 ms behind the chats' commits, its sends then bunched into the platform's 429s, and a
chat's commit that met a claim waited for SQLite's next try rather than for the claim's end
(bench/README.md, broadcast, 2026-12-08).

`WriterTurn` queues the tasks of one process on an asyncio lock, as before, and the processes
on the kernel's lock of a file beside the database (`<database>.writer.lock`, flock), tried
again every millisecond while another process holds it. The kernel lets that lock go with its
process, even one killed -9. SQLite's own lock stays the guard: a writer outside the bot (an
operator's `sqlite3`) still meets the busy handler, only later."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import Literal, Protocol

from bot.store.db import is_sqlite, sqlite_file

# asyncio's timers have a millisecond's grain: a shorter sleep is a millisecond anyway
RETRY_SECONDS = 0.001


class WriterLock(Protocol):
    """What a unit of work needs of a writer lock (asyncio.Lock is one)."""

    async def acquire(self) -> Literal[True]: ...

    def release(self) -> None: ...


class WriterTurn:
    """The turn to write on one SQLite database, for the tasks of this process and the
    bot's other processes on the same file (`path`; None: this process only)."""

    def __init__(self, path: Path | None) -> None:
        self._local = asyncio.Lock()
        self._path = path
        self._fd: int | None = None

    @classmethod
    def for_url(cls, url: str) -> WriterTurn | None:
        """For a SQLite URL (a file: shared with other processes); None for PostgreSQL,
        whose writers lock only their rows."""
        if not is_sqlite(url):
            return None
        database = sqlite_file(url)
        return cls(None if database is None else Path(f"{database}.writer.lock"))

    async def acquire(self) -> Literal[True]:
        await self._local.acquire()
        try:
            while not self._take_file():
                await asyncio.sleep(RETRY_SECONDS)
        except BaseException:  # cancelled while waiting: the turn is not ours
            self._local.release()
            raise
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()

    def close(self) -> None:
        """Let go of the file (the process's app is closing; nothing may be writing)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _take_file(self) -> bool:
        if self._path is None:
            return True
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
