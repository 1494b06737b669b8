"""Object storage for the stored files, when `SANGKIEN_FILES_URL=s3://bucket/prefix` is set.

With several machines, an attachment, chart or export written on one must be fetched on any
other, and survive the loss of a disk: the bucket holds every file (written through before the
file is said to be stored), and each machine's files folder becomes a cache of it, filled on
the first request for a file it lacks (bot/files.py). Keys are the folder's own layout
(`ab/<sha256>.<ext>`, `exports/…`, `reports/…`), so `aws s3 sync` copies one into the other.

Any S3-compatible service works (AWS S3, MinIO, Ceph RGW, the Vietnamese clouds' S3): the
client is obstore, which takes the endpoint, keys and region from the usual environment
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; AWS_ALLOW_HTTP=true
for an endpoint without TLS on a private network).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

import obstore
from obstore.store import S3Store

from bot.errors import ConfigError

SCHEME = "s3://"
DELETE_AT_ONCE = 1_000  # keys in one DeleteObjects request (S3's own limit)


class Bucket:
    def __init__(self, url: str) -> None:
        if not url.startswith(SCHEME) or len(url) <= len(SCHEME):
            raise ConfigError(
                f"SANGKIEN_FILES_URL phải có dạng s3://tên-kho/thư-mục (đang là {url!r})"
            )
        bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
        self.url = url
        self._store = S3Store(bucket, prefix=prefix.strip("/") or None)

    async def put(self, key: str, data: bytes) -> None:
        await obstore.put_async(self._store, key, data)

    async def get(self, key: str) -> bytes | None:
        """The object's bytes; None when there is no such key."""
        try:
            found = await obstore.get_async(self._store, key)
        except FileNotFoundError:
            return None
        return bytes(await found.bytes_async())

    async def delete(self, keys: Iterable[str]) -> None:
        """Delete the keys (none missing is an error: S3 deletes are idempotent)."""
        batch = list(keys)
        for start in range(0, len(batch), DELETE_AT_ONCE):
            await obstore.delete_async(self._store, batch[start : start + DELETE_AT_ONCE])

    async def written_before(self, folder: str, cutoff: datetime | None) -> list[str]:
        """Keys under `folder/` last written before `cutoff` (all of them: None)."""
        found = await obstore.list(self._store, f"{folder}/").collect_async()
        return [
            str(meta["path"]) for meta in found if cutoff is None or meta["last_modified"] < cutoff
        ]

    async def reachable(self) -> None:
        """Fail early, and plainly, on a wrong endpoint, key or bucket name: a listing of
        nothing is the cheapest request that needs all three."""
        try:
            await asyncio.wait_for(obstore.list(self._store, "-").collect_async(), 15)
        except Exception as exc:
            kind = type(exc).__name__
            raise ConfigError(
                f"không dùng được kho tệp {self.url} ({kind}): kiểm tra AWS_ENDPOINT_URL, "
                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY và tên kho"
            ) from exc
