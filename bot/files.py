"""Content-addressed storage of uploaded files: <files_dir>/<sha256[:2]>/<sha256>.<ext>."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

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
