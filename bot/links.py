"""Signed, expiring download links for stored files, for channels that cannot carry files."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

STORED_NAME = re.compile(r"^[0-9a-f]{64}\.(?:xlsx|csv|png|pdf|doc|docx|jpg)$")
LIFETIME = timedelta(hours=1)  # as README and docs/operations.md promise
_EXPIRY_DIGITS = 12  # a Unix time in seconds until the year 33658


class FileLinks:
    def __init__(self, public_url: str, secret: str) -> None:
        self._base = public_url.rstrip("/")
        self._secret = secret.encode()

    def _signature(self, stored: str, name: str, expires: int) -> str:
        message = f"{stored}|{name}|{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def url_for(self, path: str, name: str, now: datetime, lifetime: timedelta = LIFETIME) -> str:
        stored = Path(path).name
        expires = int((now + lifetime).timestamp())
        query = urlencode(
            {"name": name, "exp": expires, "sig": self._signature(stored, name, expires)}
        )
        return f"{self._base}/files/{quote(stored)}?{query}"

    def verify(self, stored: str, name: str, expires: str, signature: str, now: datetime) -> bool:
        if not STORED_NAME.match(stored) or not (expires.isascii() and expires.isdigit()):
            return False
        if len(expires) > _EXPIRY_DIGITS:  # int() refuses over 4,300 digits; none is real
            return False
        if int(expires) < now.timestamp():
            return False
        expected = self._signature(stored, name, int(expires))
        return hmac.compare_digest(expected, signature)
