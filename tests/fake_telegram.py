"""A fake Telegram Bot API server on 127.0.0.1 that speaks the real HTTP API.

Bot side: getMe, getUpdates (real long polling with offset and timeout; 409 while a webhook
is set), sendMessage, sendDocument and sendPhoto (uploads, or again by file_id),
editMessageText, editMessageReplyMarkup, answerCallbackQuery, getFile and
/file/bot<token>/<path>, setWebhook (delivers updates one at a time with the secret
header, retrying until a 2xx, like the real server), deleteWebhook, setMyCommands.
Error injection: `fail_next(method, status)` answers the next call with 429 or 5xx.
Person side (Python calls from the test): text, button presses, contacts, documents, photos.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.processes import serve_app

ALLOWED_TAGS = ("<b>", "</b>", "<i>", "</i>", "<code>", "</code>")


@dataclass
class BotAction:
    method: str
    chat_id: int
    message_id: int
    text: str  # a file's caption, for a file
    reply_markup: dict[str, Any] | None
    file_name: str | None = None  # sendDocument, sendPhoto


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    host: str = "127.0.0.1"
    port: int = 0
    actions: list[BotAction] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_responses: list[int] = field(default_factory=list)
    file_status: int | None = None  # when set, file downloads answer with this HTTP status
    # called with every message the bot sends or edits (the latency benchmark's clock)
    listener: Callable[[BotAction], None] | None = None
    # False: the listener hears every message but none is kept (a benchmark's 100,000 would
    # grow the measuring process's heap and its collector's pauses with it)
    keep_actions: bool = True
    # Telegram's limits, enforced as it does: past them sendMessage answers 429 retry_after
    per_second: float | None = None  # for the whole bot (Telegram: about 30)
    per_chat_seconds: float | None = None  # between two messages to one chat (Telegram: 1)
    # "short bursts" over it are allowed (Bot FAQ): a bucket of this many, one back per gap
    per_chat_burst: int = 1

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._acked = 0
        self._changed = asyncio.Condition()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: list[tuple[str, int, int | None]] = []
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(5000)
        self._messages: dict[tuple[int, int], BotAction] = {}  # each message as last shown
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._stalled: set[str] = set()
        self._release = asyncio.Event()
        self.stalled_calls = 0
        self.deliveries: Counter[int] = Counter()
        self.too_many = 0  # 429s answered for going past the limits
        self.too_many_for_bot = 0  # of them: past the per-bot limit
        self.uploaded_bytes = 0  # files' bytes the bot uploaded (not sent again by file_id)
        self._sent_times: deque[float] = deque()
        self._chat_buckets: dict[int, tuple[float, float]] = {}  # (messages left, at)

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner, self.port = await serve_app(app, self.host, self.port)

    async def stop(self) -> None:
        self._release.set()
        if self._delivery:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._runner:
            await self._runner.cleanup()

    def stall_next(self, method: str) -> None:
        """The next call of `method` never gets an answer (the bot will be killed meanwhile)."""
        self._stalled.add(method.lower())

    def fail_next(
        self, method: str, status: int, retry_after: int | None = None, times: int = 1
    ) -> None:
        self._failures.extend([(method, status, retry_after)] * times)

    # --- the Bot API -------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        self.calls.append(method)
        params = await self._params(request)
        if method.lower() in self._stalled:
            self._stalled.discard(method.lower())
            self.stalled_calls += 1
            await self._release.wait()  # hang until the test server stops
        for index, (name, status, retry_after) in enumerate(self._failures):
            if name.lower() == method.lower():
                del self._failures[index]
                return self._fault(status, retry_after)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, str) and value[:1] in "{[":
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
                    continue
            params[key] = value
        return params

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )

    def _fault(self, status: int, retry_after: int | None) -> web.Response:
        if status == 429:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after or 1},
                },
                status=429,
            )
        return self._error(status, "Bad Gateway" if status == 502 else "Internal Server Error")

    async def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":")[0]),
            "is_bot": True,
            "first_name": "Sáng kiến",
            "username": "sangkien_test_bot",
        }

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url:
            return self._error(
                409, "Conflict: can't use getUpdates method while webhook is active"
            )
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._acked = max(self._acked, offset - 1)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (pending := self._pending()) and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
        for update in pending:
            self.deliveries[update["update_id"]] += 1
        return pending

    def _pending(self) -> list[dict[str, Any]]:
        return [u for u in self._updates if u["update_id"] > self._acked]

    def _check_text(self, text: str) -> web.Response | None:
        if not text:
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        stripped = text
        for tag in ALLOWED_TAGS:
            stripped = stripped.replace(tag, "")
        if "<" in stripped:
            return self._error(400, "Bad Request: can't parse entities: unsupported start tag")
        return None

    def _check_markup(self, markup: dict[str, Any] | None) -> web.Response | None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if not 1 <= len(button.get("callback_data", "").encode()) <= 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _over_limits(self, chat_id: int) -> web.Response | None:
        now = time.monotonic()
        if self.per_second is not None:
            while self._sent_times and self._sent_times[0] <= now - 1.0:
                self._sent_times.popleft()
            if len(self._sent_times) >= self.per_second:
                self.too_many += 1
                self.too_many_for_bot += 1
                return self._fault(429, 1)
        if self.per_chat_seconds is not None:
            left, at = self._chat_buckets.get(chat_id, (float(self.per_chat_burst), now))
            left = min(float(self.per_chat_burst), left + (now - at) / self.per_chat_seconds)
            if left < 1.0:
                self.too_many += 1
                return self._fault(429, 1)
            self._chat_buckets[chat_id] = (left - 1.0, now)
        self._sent_times.append(now)
        return None

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if problem := self._check_text(text) or self._check_markup(markup):
            return problem
        chat_id = int(params["chat_id"])
        if limited := self._over_limits(chat_id):
            return limited
        action = BotAction("sendMessage", chat_id, next(self._message_ids), text, markup)
        self._record(action)
        return self._message_json(action)

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        return await self._send_file(params, "document")

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        return await self._send_file(params, "photo")

    async def _send_file(self, params: dict[str, Any], kind: str) -> Any:
        """A file uploaded (multipart) or sent again by the file_id Telegram gave it."""
        chat_id, given = int(params["chat_id"]), params.get(kind)
        if isinstance(given, str) and given.startswith("attach://"):  # aiogram's multipart
            given = params.get(given.removeprefix("attach://"))
        if limited := self._over_limits(chat_id):
            return limited
        if isinstance(given, web.FileField):
            data = given.file.read()
            self.uploaded_bytes += len(data)
            name, file_id = str(given.filename), self.add_file(data, f"{kind}s/{given.filename}")
        elif isinstance(given, str) and given in self._files:
            name, file_id = self._files[given][0].rsplit("/", 1)[-1], given
        else:
            return self._error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = str(params.get("caption") or "")
        if caption and (problem := self._check_text(caption)):
            return problem
        if len(caption.encode("utf-16-le")) // 2 > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        action = BotAction(
            f"send{kind.title()}", chat_id, next(self._message_ids), caption, None, name
        )
        self._record(action)
        made = {"file_id": file_id, "file_unique_id": file_id}
        if kind == "photo":
            return {
                **self._message_json(action),
                "text": None,
                "caption": caption,
                "photo": [made],
            }
        return {
            **self._message_json(action),
            "text": None,
            "document": {**made, "file_name": name},
        }

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if problem := self._check_text(text) or self._check_markup(markup):
            return problem
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        previous = self._messages.get((chat_id, message_id))
        if previous is None:
            return self._error(400, "Bad Request: message to edit not found")
        if previous.text == text and previous.reply_markup == markup:
            return self._error(400, "Bad Request: message is not modified")
        action = BotAction("editMessageText", chat_id, message_id, text, markup)
        self._record(action)
        return self._message_json(action)

    def _record(self, action: BotAction) -> None:
        if self.keep_actions:
            self.actions.append(action)
        if self.keep_actions or action.reply_markup is not None:  # what an edit may target
            self._messages[(action.chat_id, action.message_id)] = action
        if self.listener is not None:
            self.listener(action)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        self.answers.append(params)
        return True

    async def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = None
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params["url"])
        self.webhook_secret = params.get("secret_token")
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver())
        return True

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self._files:
            return self._error(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        if len(data) > 20 * 1024 * 1024:
            return self._error(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(data),
            "file_path": path,
        }

    async def _file(self, request: web.Request) -> web.Response:
        if self.file_status is not None:
            return web.Response(status=self.file_status)
        for path, data in self._files.values():
            if path == request.match_info["path"] and request.match_info["token"] == self.token:
                return web.Response(body=data)
        return web.Response(status=404)

    def _message_json(self, action: BotAction) -> dict[str, Any]:
        return {
            "message_id": action.message_id,
            "date": int(time.time()),
            "chat": {"id": action.chat_id, "type": "private"},
            "text": action.text,
        }

    # --- webhook delivery --------------------------------------------------------------
    async def _deliver(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                async with self._changed:
                    await self._changed.wait_for(lambda: bool(self._pending()))
                update = self._pending()[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
                try:
                    async with session.post(
                        str(self.webhook_url), json=update, headers=headers
                    ) as response:
                        self.webhook_responses.append(response.status)
                        if 200 <= response.status < 300:
                            self._acked = update["update_id"]
                            continue
                except aiohttp.ClientError:
                    self.webhook_responses.append(0)
                await asyncio.sleep(0.2)

    # --- the person's side -------------------------------------------------------------
    async def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._ids)
        async with self._changed:
            self._updates.append({"update_id": update_id, **update})
            self._changed.notify_all()
        return update_id

    async def redeliver(self, update_id: int) -> None:
        """Send an already delivered update again, as Telegram does after a timeout."""
        async with self._changed:
            original = next(u for u in self._updates if u["update_id"] == update_id)
            self._updates.remove(original)
            self._updates.append(original)
            self._acked = min(self._acked, update_id - 1)
            self._changed.notify_all()

    def uploaded(self, name: str) -> bytes:
        """The file the bot uploaded under this name (the last one)."""
        found = [data for path, data in self._files.values() if path.endswith(f"/{name}")]
        return found[-1]

    def add_file(self, data: bytes, path: str) -> str:
        file_id = f"file{len(self._files) + 1}"
        self._files[file_id] = (path, data)
        return file_id

    def last_in(self, chat_id: int) -> BotAction:
        return [a for a in self.actions if a.chat_id == chat_id][-1]

    def last_keyboard(self, chat_id: int) -> BotAction:
        return [
            a
            for a in self.actions
            if a.chat_id == chat_id and a.reply_markup and "inline_keyboard" in a.reply_markup
        ][-1]

    async def wait_for_reply(self, chat_id: int, seen: int, timeout: float = 60) -> BotAction:
        """Wait until the bot acted in this chat after `seen` actions, then until it is quiet."""
        deadline = time.monotonic() + timeout
        while len([a for a in self.actions if a.chat_id == chat_id]) <= seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not answer in chat {chat_id}")
            await asyncio.sleep(0.02)
        count = -1
        while count != len(self.actions):
            count = len(self.actions)
            await asyncio.sleep(0.15)
        return self.last_in(chat_id)


class FakePerson:
    """A person in a private chat, typing and pressing in the Telegram app."""

    def __init__(self, server: FakeTelegram, user_id: int, name: str = "Lan") -> None:
        self.server = server
        self.id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": name}
        self.chat = {"id": user_id, "type": "private", "first_name": name}
        self._message_ids = itertools.count(1)

    def _seen(self) -> int:
        return len([a for a in self.server.actions if a.chat_id == self.id])

    async def _act(self, update: dict[str, Any]) -> BotAction:
        seen = self._seen()
        await self.server.push(update)
        return await self.server.wait_for_reply(self.id, seen)

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat,
                "from": self.user,
                **fields,
            }
        }

    async def say(self, text: str) -> BotAction:
        extra = (
            {"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
            if text.startswith("/")
            else {}
        )
        return await self._act(self._message(text=text, **extra))

    async def press(self, label: str) -> BotAction:
        shown = self.server.last_keyboard(self.id)
        assert shown.reply_markup is not None
        buttons = [
            b for row in shown.reply_markup["inline_keyboard"] for b in row if label in b["text"]
        ]
        assert len(buttons) == 1, f"{label!r} not in {shown.reply_markup}"
        return await self._act(
            {
                "callback_query": {
                    "id": f"cb{time.monotonic_ns()}",
                    "from": self.user,
                    "chat_instance": "ci",
                    "data": buttons[0]["callback_data"],
                    "message": {
                        "message_id": shown.message_id,
                        "date": int(time.time()),
                        "chat": self.chat,
                        "text": shown.text,
                    },
                }
            }
        )

    async def share_contact(self, phone: str) -> BotAction:
        return await self._act(
            self._message(contact={"phone_number": phone, "first_name": "Lan", "user_id": self.id})
        )

    async def send_document(self, data: bytes, name: str, mime: str) -> BotAction:
        file_id = self.server.add_file(data, f"documents/{name}")
        return await self._act(
            self._message(
                document={
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_name": name,
                    "mime_type": mime,
                    "file_size": len(data),
                }
            )
        )

    async def send_photo(self, data: bytes) -> BotAction:
        file_id = self.server.add_file(data, f"photos/{time.monotonic_ns()}.jpg")
        return await self._act(
            self._message(
                photo=[
                    {
                        "file_id": file_id,
                        "file_unique_id": file_id,
                        "width": 800,
                        "height": 600,
                        "file_size": len(data),
                    }
                ]
            )
        )
