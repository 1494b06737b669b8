"""Content-addressed storage of uploaded files: <files_dir>/<sha256[:2]>/<sha256>.<ext>.

Generated exports live apart, in <files_dir>/exports/<sha256>.<ext>: they may hold personal
data, so they are swept EXPORT_RETENTION after they were made and all of them on erasure.
The monthly reports' files wait in the outbox, up to the day it tries a message for, so they
are kept in <files_dir>/reports/ for REPORT_RETENTION, and swept with the exports on erasure.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

# How long a generated export (and its download link) is kept.
EXPORT_RETENTION = timedelta(hours=1)
EXPORTS = "exports"  # the folder under files_dir
# Longer than the outbox tries a message (24 hours), with the night's quiet hours besides.
REPORT_RETENTION = timedelta(days=2)
REPORTS = "reports"


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.exports = root / EXPORTS
        self.reports = root / REPORTS

    def path_for(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    def find(self, stored: str) -> Path | None:
        """The stored file named `<sha256>.<ext>`, an upload or an export."""
        for path in (
            self.root / stored[:2] / stored,
            self.exports / stored,
            self.reports / stored,
        ):
            if path.is_file():
                return path
        return None

    async def put_export(self, data: bytes, extension: str) -> Path:
        """Write a generated export (again, when the same bytes were made before: its
        retention starts now)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.exports / f"{digest}.{extension}"
        await asyncio.to_thread(self._write, target, data)
        return target

    async def put_report(self, data: bytes, extension: str) -> Path:
        """Write a generated file the outbox will send (a monthly report's table)."""
        target = self.reports / f"{hashlib.sha256(data).hexdigest()}.{extension}"
        await asyncio.to_thread(self._write, target, data)
        return target

    def sweep_exports(self, everything: bool = False) -> int:
        """Delete the exports and reports past their retention (all of them: on erasure)."""
        removed = 0
        for folder, retention in (
            (self.exports, EXPORT_RETENTION),
            (self.reports, REPORT_RETENTION),
        ):
            cutoff = time.time() - retention.total_seconds()
            for path in folder.glob("*.*") if folder.is_dir() else ():
                if everything or path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def discard(self, names: Iterable[tuple[str, str]]) -> int:
        """Delete uploads by (sha256, extension) that nothing refers to any more."""
        removed = 0
        for sha256, extension in names:
            path = self.path_for(sha256, extension)
            if path.is_file():
                path.unlink()
                removed += 1
        return removed

    async def put(self, data: bytes, extension: str) -> str:
        """Store the bytes durably (fsync, atomic rename); returns their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest, extension)
        if not target.exists():
            await asyncio.to_thread(self._write, target, data)
        return digest

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
