"""Content-addressed storage of uploaded files: <files_dir>/<sha256[:2]>/<sha256>.<ext>.

Generated exports live apart, in <files_dir>/exports/<sha256>.<ext>: they may hold personal
data, so they are swept EXPORT_RETENTION after they were made and all of them on erasure.
The monthly reports' files wait in the outbox, up to the day it tries a message for, so they
are kept in <files_dir>/reports/ for REPORT_RETENTION, and swept with the exports on erasure.

With a bucket (bot/bucket.py, SANGKIEN_FILES_URL) every file is written to it too, before it
is said to be stored, and the folder is this machine's cache: a file it lacks is fetched from
the bucket at its first request, so any machine serves any signed link.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # obstore (a Rust library, ~25 MB resident) is loaded only with a bucket
    from bot.bucket import Bucket

# How long a generated export (and its download link) is kept.
EXPORT_RETENTION = timedelta(hours=1)
EXPORTS = "exports"  # the folder under files_dir
# Longer than the outbox tries a message (24 hours), with the night's quiet hours besides.
REPORT_RETENTION = timedelta(days=2)
REPORTS = "reports"
GENERATED = ((EXPORTS, EXPORT_RETENTION), (REPORTS, REPORT_RETENTION))  # swept by age
# With a bucket the folder is a cache: a fetched upload is kept this long, so that a file
# erased on another machine leaves this one's disk within a day too
CACHE_RETENTION = timedelta(days=1)


class FileStore:
    def __init__(self, root: Path, bucket: Bucket | None = None) -> None:
        self.root = root
        self.exports = root / EXPORTS
        self.reports = root / REPORTS
        self.bucket = bucket

    async def check(self) -> None:
        """At start: a bucket that cannot be used stops the bot with one line (ConfigError)
        rather than failing each upload later."""
        if self.bucket is not None:
            await self.bucket.reachable()

    def path_for(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    async def find(self, stored: str) -> Path | None:
        """The stored file named `<sha256>.<ext>`, an upload or an export; with a bucket, one
        this machine lacks is fetched from it first."""
        places = (self.root / stored[:2] / stored, self.exports / stored, self.reports / stored)
        for path in places:
            if path.is_file():
                return path
        if self.bucket is None:
            return None
        for path in places:
            data = await self.bucket.get(self._key(path))
            if data is not None:
                await asyncio.to_thread(self._write, path, data)
                return path
        return None

    async def put_export(self, data: bytes, extension: str) -> Path:
        """Write a generated export (again, when the same bytes were made before: its
        retention starts now)."""
        return await self._put_generated(self.exports, data, extension)

    async def put_report(self, data: bytes, extension: str) -> Path:
        """Write a generated file the outbox will send (a monthly report's table)."""
        return await self._put_generated(self.reports, data, extension)

    async def _put_generated(self, folder: Path, data: bytes, extension: str) -> Path:
        target = folder / f"{hashlib.sha256(data).hexdigest()}.{extension}"
        if self.bucket is not None:
            await self.bucket.put(self._key(target), data)
        await asyncio.to_thread(self._write, target, data)
        return target

    async def sweep_exports(self, everything: bool = False) -> int:
        """Delete the exports and reports past their retention (all of them: on erasure),
        here and in the bucket; with a bucket, this machine's cached uploads past theirs."""
        removed = await asyncio.to_thread(self._sweep_here, everything)
        if self.bucket is not None:
            for folder, retention in GENERATED:
                cutoff = None if everything else datetime.now(UTC) - retention
                keys = await self.bucket.written_before(folder, cutoff)
                await self.bucket.delete(keys)
                removed += len(keys)
        return removed

    def _sweep_here(self, everything: bool) -> int:
        removed = 0
        swept = [(self.root / folder, "*.*", retention) for folder, retention in GENERATED]
        if self.bucket is not None:
            swept.append((self.root, "??/*.*", CACHE_RETENTION))
        for folder, pattern, retention in swept:
            cutoff = time.time() - retention.total_seconds()
            for path in folder.glob(pattern) if folder.is_dir() else ():
                if everything or path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    async def discard(self, names: Iterable[tuple[str, str]]) -> int:
        """Delete uploads by (sha256, extension) that nothing refers to any more, here and in
        the bucket (other machines' caches drop theirs within CACHE_RETENTION)."""
        paths = [self.path_for(sha256, extension) for sha256, extension in names]
        if self.bucket is not None:
            await self.bucket.delete(self._key(path) for path in paths)
        removed = 0
        for path in paths:
            if path.is_file():
                path.unlink()
                removed += 1
        return removed

    async def put(self, data: bytes, extension: str) -> str:
        """Store the bytes durably (fsync, atomic rename; with a bucket, there first);
        returns their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest, extension)
        if not target.exists():
            if self.bucket is not None:
                await self.bucket.put(self._key(target), data)
            await asyncio.to_thread(self._write, target, data)
        return digest

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
