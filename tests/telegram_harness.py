"""Drives a TelegramChannel through aiogram's real dispatcher with a session that records calls."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    Chat,
    Document,
    File,
    FSInputFile,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
    User,
)

from bot.channels.telegram import TelegramChannel, retry_middleware
from bot.dialogs.engine import Engine

TOKEN = "123456:TEST-token"


class RecordingSession(BaseSession):
    """Answers like the Bot API, records every call, can fail the next calls on demand."""

    def __init__(self, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep  # benchmarks count calls without keeping them
        self.calls = 0
        self.requests: list[TelegramMethod[Any]] = []
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}  # documents the bot sent, by file name, as received
        self.failures: list[tuple[type, Exception]] = []
        self._ids = itertools.count(1000)

    def fail_next(self, method_type: type, error: Exception) -> None:
        self.failures.append((method_type, error))

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        for index, (method_type, error) in enumerate(self.failures):
            if isinstance(method, method_type):
                del self.failures[index]
                raise error
        self.calls += 1
        if self.keep:
            self.requests.append(method)
        if isinstance(method, SendDocument) and isinstance(method.document, FSInputFile):
            # read now, as Telegram would: a file with phone numbers is deleted once sent
            self.uploads[str(method.document.filename)] = Path(method.document.path).read_bytes()
        if isinstance(method, GetMe):
            return User(id=123456, is_bot=True, first_name="Sáng kiến", username="sangkien_bot")
        if isinstance(method, SendMessage | EditMessageText):
            return Message(
                message_id=getattr(method, "message_id", None) or next(self._ids),
                date=int(time.time()),
                chat=Chat(id=int(method.chat_id or 0), type="private"),
                text=method.text,
            )
        if isinstance(method, SendDocument | SendPhoto):
            return self._file_sent(method)
        if isinstance(method, GetFile):
            return File(
                file_id=method.file_id,
                file_unique_id=method.file_id,
                file_path=f"documents/{method.file_id}",
            )
        return True

    def _file_sent(self, method: SendDocument | SendPhoto) -> Message:
        file_id = f"sent{next(self._ids)}"
        chat = Chat(id=int(method.chat_id or 0), type="private")
        made = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat}
        if isinstance(method, SendPhoto):
            size = PhotoSize(file_id=file_id, file_unique_id=file_id, width=1, height=1)
            return Message(**made, photo=[size])
        return Message(**made, document=Document(file_id=file_id, file_unique_id=file_id))

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[-1]]

    async def close(self) -> None:
        return None


class TelegramUser:
    """One person in a private chat with the bot."""

    _update_ids = itertools.count(1)

    def __init__(self, engine: Engine, user_id: int = 777, max_file_bytes: int = 20 << 20) -> None:
        self.session = RecordingSession()
        self.bot = Bot(TOKEN, session=self.session)
        self.bot.session.middleware(retry_middleware)
        self.channel = TelegramChannel(engine, self.bot, max_file_bytes)
        self.user = {"id": user_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
        self.chat = {"id": user_id, "type": "private", "first_name": "Lan"}
        self._message_ids = itertools.count(1)

    # --- what the bot sent -------------------------------------------------------------
    def sent(self, kind: type = SendMessage) -> list[Any]:
        return [r for r in self.session.requests if isinstance(r, kind)]

    @property
    def screens(self) -> list[SendMessage | EditMessageText]:
        return [r for r in self.session.requests if isinstance(r, SendMessage | EditMessageText)]

    @property
    def last(self) -> SendMessage | EditMessageText:
        return self.screens[-1]

    def last_keyboard(self) -> tuple[int, InlineKeyboardMarkup]:
        """The most recent inline keyboard and the id of the message that carries it."""
        for request in reversed(self.screens):
            if isinstance(request.reply_markup, InlineKeyboardMarkup):
                return self._message_id_of(request), request.reply_markup
        raise AssertionError("no inline keyboard was sent")

    def _message_id_of(self, request: SendMessage | EditMessageText) -> int:
        if isinstance(request, EditMessageText):
            return int(request.message_id or 0)
        return 1000 + [r for r in self.session.requests if isinstance(r, SendMessage)].index(
            request
        )

    def labels(self) -> list[str]:
        return [row[0].text for row in self.last_keyboard()[1].inline_keyboard]

    # --- what the person does ----------------------------------------------------------
    async def feed(self, payload: dict[str, Any], update_id: int | None = None) -> None:
        update = {"update_id": update_id or next(self._update_ids), **payload}
        await self.channel.dispatcher.feed_update(
            self.bot, Update.model_validate(update, context={"bot": self.bot})
        )

    def message(self, **fields: Any) -> dict[str, Any]:
        return {
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat,
                "from": self.user,
                **fields,
            }
        }

    async def send(self, text: str, update_id: int | None = None) -> None:
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else None
        )
        await self.feed(
            self.message(text=text, **({"entities": entities} if entities else {})), update_id
        )

    async def press(self, label: str) -> None:
        message_id, markup = self.last_keyboard()
        buttons = [b for row in markup.inline_keyboard for b in row if label in b.text]
        assert len(buttons) == 1, f"{label!r} not one of {self.labels()}"
        await self.press_data(str(buttons[0].callback_data), message_id)

    async def press_data(self, data: str, message_id: int) -> None:
        await self.feed(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": self.user,
                    "chat_instance": "ci-1",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": self.chat,
                        "text": "…",
                    },
                }
            }
        )

    async def share_contact(self, phone: str, owner: int | None = None) -> None:
        await self.feed(
            self.message(
                contact={
                    "phone_number": phone,
                    "first_name": "Lan",
                    "user_id": owner or self.user["id"],
                }
            )
        )

    async def send_document(
        self, data: bytes, name: str, mime: str = "application/pdf", size: int | None = None
    ) -> None:
        file_id = f"doc{next(self._update_ids)}"
        self.session.files[file_id] = data
        await self.feed(
            self.message(
                document={
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_name": name,
                    "mime_type": mime,
                    "file_size": size if size is not None else len(data),
                }
            )
        )

    async def send_photo(self, data: bytes, group: str | None = None) -> None:
        file_id = f"photo{next(self._update_ids)}"
        self.session.files[file_id] = data
        sizes = [
            {"file_id": f"{file_id}s", "file_unique_id": "s", "width": 90, "height": 90},
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        await self.feed(self.message(photo=sizes, **({"media_group_id": group} if group else {})))
