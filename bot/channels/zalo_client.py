"""A small typed async client for the Zalo Bot API, on httpx.

The token sits in the URL path, so nothing here ever puts a URL into a log line or an error:
errors carry the method name, the code and Zalo's description, and httpx's own request log is
filtered (see RedactingFilter), and so are the URLs of photos downloaded from Zalo's CDN.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE = "https://bot-api.zaloplatforms.com"
MAX_TEXT = 2000
RETRIES = 4
SENDS = frozenset({"sendMessage", "sendPhoto"})


class ZaloError(Exception):
    """Zalo answered `ok: false` (or an HTTP error) that retrying will not fix."""

    def __init__(self, method: str, error_code: int, description: str) -> None:
        super().__init__(f"Zalo {method} failed: {error_code} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description


class ZaloTransientError(ZaloError):
    """429, 5xx or a network failure that outlived the retries."""


@dataclass(frozen=True, slots=True)
class BotInfo:
    id: str
    account_name: str
    account_type: str | None
    can_join_groups: bool


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    date: int


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    url: str
    updated_at: int | None


class RedactingFilter(logging.Filter):
    """Rewrites what reaches the httpx/httpcore loggers: the bot token becomes <token>, and
    every other URL keeps only its host (a photo's URL is a link to a person's picture)."""

    _URL = re.compile(r"https?://[^\s\"'<>]+")

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._URL.sub(self._redact, message)
        if self._token:
            cleaned = cleaned.replace(self._token, "<token>")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True

    def _redact(self, match: re.Match[str]) -> str:
        url = match.group(0)
        if self._token and self._token in url:  # a Bot API call: its method name may stay
            return url.replace(self._token, "<token>")
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}/…"


class ZaloClient:
    """Holds one httpx.AsyncClient; every method is one Bot API call with retries."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self._token = token
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/bot{token}",
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "sangkien-bot"},
        )
        token_filter = RedactingFilter(token)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(token_filter)

    def __repr__(self) -> str:
        return "ZaloClient(token=<hidden>)"

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, payload: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        for attempt in range(RETRIES):
            try:
                return await self._once(method, payload, timeout)
            except ZaloTransientError as exc:
                if attempt == RETRIES - 1:
                    raise
                log.warning(
                    "zalo %s: %s %s, retry %d",
                    method,
                    exc.error_code,
                    exc.description,
                    attempt + 1,
                )
                await asyncio.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def _once(
        self, method: str, payload: dict[str, Any] | None, timeout: float | None
    ) -> Any:
        try:
            response = await self._http.post(
                f"/{method}",
                json=payload or {},
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as exc:
            # The request may have been carried out: sending again could duplicate a message.
            error = ZaloError if method in SENDS else ZaloTransientError
            raise error(method, 0, type(exc).__name__) from None
        except httpx.TransportError as exc:
            # `from None`: the original exception text contains the URL, hence the token.
            raise ZaloTransientError(method, 0, type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {"ok": True, "result": body}
        code = int(body.get("error_code") or response.status_code)
        if response.status_code >= 400 or body.get("ok") is False:
            description = str(body.get("description") or response.reason_phrase)
            error = ZaloTransientError if code == 429 or code >= 500 else ZaloError
            raise error(method, code, description)
        return body.get("result")

    async def get_me(self) -> BotInfo:
        result = await self._call("getMe")
        return BotInfo(
            id=str(result["id"]),
            account_name=str(result.get("account_name", "")),
            account_type=result.get("account_type"),
            can_join_groups=bool(result.get("can_join_groups")),
        )

    async def get_updates(self, timeout: int = 30) -> list[dict[str, Any]]:
        """Long poll. Zalo answers one update (or, seen on some bots, a list); 408 = none."""
        try:
            result = await self._call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + 10
            )
        except ZaloError as exc:
            if exc.error_code == 408:
                return []
            raise
        if result is None:
            return []
        return [
            item
            for item in (result if isinstance(result, list) else [result])
            if isinstance(item, dict)
        ]

    async def set_webhook(self, url: str, secret_token: str) -> WebhookInfo:
        result = await self._call("setWebhook", {"url": url, "secret_token": secret_token})
        return WebhookInfo(url=str(result.get("url", url)), updated_at=result.get("updated_at"))

    async def delete_webhook(self) -> None:
        await self._call("deleteWebhook")

    async def get_webhook_info(self) -> WebhookInfo | None:
        try:
            result = await self._call("getWebhookInfo")
        except ZaloError as exc:
            if exc.error_code == 404:
                return None
            raise
        if not result or not result.get("url"):
            return None
        return WebhookInfo(url=str(result["url"]), updated_at=result.get("updated_at"))

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        if not 1 <= len(text) <= MAX_TEXT:
            raise ValueError(f"Zalo text must be 1..{MAX_TEXT} characters, got {len(text)}")
        result = await self._call("sendMessage", {"chat_id": chat_id, "text": text})
        return SentMessage(
            message_id=str(result.get("message_id", "")), date=int(result.get("date") or 0)
        )

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> SentMessage:
        payload = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption[:MAX_TEXT]
        result = await self._call("sendPhoto", payload)
        return SentMessage(
            message_id=str(result.get("message_id", "")), date=int(result.get("date") or 0)
        )

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self._call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def download(self, url: str, max_bytes: int) -> bytes | None:
        """Fetch an image from Zalo's CDN (public URLs); None when over `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        try:
            async with self._http.stream("GET", url, timeout=30) as response:
                if response.status_code != 200:
                    raise ZaloTransientError("download", response.status_code, "CDN error")
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return None
                    chunks.append(chunk)
        except httpx.TransportError:
            raise ZaloTransientError("download", 0, "network error") from None
        except (httpx.InvalidURL, ValueError, OverflowError, ExceptionGroup):
            # A photo link that is not a usable URL (httpx cannot parse it, or the socket
            # layer refuses its port): this photo cannot be fetched, the bot goes on.
            raise ZaloError("download", 0, "unusable photo URL") from None
        return b"".join(chunks)
