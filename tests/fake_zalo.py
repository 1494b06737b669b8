"""A fake Zalo Bot API server on 127.0.0.1 that speaks the real HTTP API.

getMe, getUpdates (one update per call, HTTP 408 when the long poll times out, no offset),
setWebhook (then posts every update with X-Bot-Api-Secret-Token, in the documented wrapped
shape or the observed flat one), deleteWebhook, getWebhookInfo (404 when none), sendMessage
(1..2000 characters), sendPhoto, sendChatAction, a CDN for user photos, and injected errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.processes import serve_app


@dataclass
class FakeZalo:
    token: str = "1459232241454765289:zalo-secret-token"
    host: str = "127.0.0.1"
    port: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    flat_webhook_bodies: bool = False

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._photos: dict[str, bytes] = {}
        self._failures: list[tuple[str, int]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/cdn/{name}", self._cdn)
        self._runner, self.port = await serve_app(app, self.host, self.port)

    async def stop(self) -> None:
        if self._delivery:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._runner:
            await self._runner.cleanup()

    def fail_next(self, method: str, status: int, times: int = 1) -> None:
        self._failures.extend([(method, status)] * times)

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "description": description, "error_code": status}, status=status
        )

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        self.calls.append(method)
        for index, (name, status) in enumerate(self._failures):
            if name == method:
                del self._failures[index]
                return self._error(status, "Quota exceeded" if status == 429 else "Server error")
        body = await request.json() if request.can_read_body else {}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found")
        result = await handler(body)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result, "error_code": 0})

    async def _m_getMe(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.token.split(":")[0],
            "account_name": "bot.SangKien",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _m_getUpdates(self, body: dict[str, Any]) -> Any:
        if self.webhook_url:
            return self._error(400, "Webhook is active, getUpdates is disabled")
        timeout = float(body.get("timeout") or 30)
        try:
            update = await asyncio.wait_for(self._queue.get(), min(timeout, 5))
        except TimeoutError:
            return self._error(408, "Request timeout")
        return update

    async def _m_setWebhook(self, body: dict[str, Any]) -> dict[str, Any]:
        secret = str(body.get("secret_token") or "")
        if not 8 <= len(secret) <= 256 or not str(body.get("url", "")).startswith("http"):
            return self._error(400, "Bad request")
        self.webhook_url, self.webhook_secret = str(body["url"]), secret
        if self._delivery is None:
            self._delivery = asyncio.create_task(self._deliver())
        return {"url": self.webhook_url, "updated_at": int(time.time() * 1000)}

    async def _m_deleteWebhook(self, body: dict[str, Any]) -> dict[str, Any]:
        self.webhook_url = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _m_getWebhookInfo(self, body: dict[str, Any]) -> Any:
        if not self.webhook_url:
            return self._error(404, "Not Found")
        return {"url": self.webhook_url, "updated_at": int(time.time() * 1000)}

    async def _m_sendMessage(self, body: dict[str, Any]) -> Any:
        text = str(body.get("text") or "")
        if not 1 <= len(text) <= 2000 or not body.get("chat_id"):
            return self._error(400, "Bad request")
        self.sent.append(body)
        return {"message_id": f"bot{len(self.sent)}", "date": int(time.time() * 1000)}

    async def _m_sendPhoto(self, body: dict[str, Any]) -> Any:
        self.sent.append(body)
        return {"message_id": f"bot{len(self.sent)}", "date": int(time.time() * 1000)}

    async def _m_sendChatAction(self, body: dict[str, Any]) -> web.Response:
        return web.json_response({"ok": True})

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self._photos.get(request.match_info["name"])
        return (
            web.Response(body=data, content_type="image/jpg") if data else web.Response(status=404)
        )

    async def _deliver(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                update = await self._queue.get()
                body = update["result"] if self.flat_webhook_bodies else update
                headers = {
                    "X-Bot-Api-Secret-Token": self.webhook_secret or "",
                    "User-Agent": "Java/1.8.0_292",
                }
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.post(
                        str(self.webhook_url), json=body, headers=headers
                    ) as response:
                        await response.read()

    # --- the person's side -------------------------------------------------------------
    async def push(self, update: dict[str, Any]) -> None:
        await self._queue.put(update)

    def add_photo(self, data: bytes) -> str:
        name = f"p{len(self._photos) + 1}.jpg"
        self._photos[name] = data
        return f"{self.base_url}/cdn/{name}"

    async def wait_for_reply(self, chat_id: str, seen: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while len(self.to(chat_id)) <= seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not answer {chat_id}")
            await asyncio.sleep(0.02)
        count = -1
        while count != len(self.sent):
            count = len(self.sent)
            await asyncio.sleep(0.15)
        return str(self.to(chat_id)[-1]["text"])

    def to(self, chat_id: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat_id"] == chat_id]


class FakeZaloPerson:
    def __init__(self, server: FakeZalo, user_id: str) -> None:
        self.server = server
        self.id = user_id
        self._ids = itertools.count(1)

    def update(self, event: str, **fields: Any) -> dict[str, Any]:
        message = {
            "from": {"id": self.id, "display_name": "Hà", "is_bot": False},
            "chat": {"id": self.id, "chat_type": "PRIVATE"},
            "message_id": f"{self.id}-{next(self._ids)}",
            "date": int(time.time() * 1000),
            **fields,
        }
        return {"ok": True, "result": {"event_name": event, "message": message}}

    async def send(self, update: dict[str, Any]) -> str:
        seen = len(self.server.to(self.id))
        await self.server.push(update)
        return await self.server.wait_for_reply(self.id, seen)

    async def say(self, text: str) -> str:
        return await self.send(
            self.update("message.text.received", text=text, message_type="CHAT_TEXT")
        )

    async def photo(self, data: bytes) -> str:
        url = self.server.add_photo(data)
        return await self.send(
            self.update("message.image.received", photo_url=url, message_type="CHAT_PHOTO")
        )
