"""Telegram through aiogram 3: translate updates to Inbound, render replies as keyboards.

aiogram is the transport only. The conversation lives in bot/dialogs; this module never
decides anything about the form.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Filter
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
    Update,
)

from bot.channels.text import split_text, utf16_len
from bot.dialogs.engine import Engine
from bot.dialogs.flows import COMMAND_HELP
from bot.dialogs.types import Expect, Inbound, IncomingFile, OutgoingFile, Reply
from bot.outbox import GiveUp, Pacer, RetryLater
from rules.files import ACCEPTED_TEXT, check_size
from rules.verdict import Rejected

log = logging.getLogger(__name__)

NAME = "telegram"
MAX_TEXT = 4096
DOWNLOAD_CAP = 20 * 1024 * 1024  # what the Bot API lets a bot download
SHARE_PHONE = "📱 Gửi số điện thoại của tôi"
NOT_YOUR_CONTACT = (
    "Đây không phải số điện thoại của chính bạn. Vui lòng bấm nút “Gửi số điện thoại của tôi” "
    "hoặc gõ số của bạn."
)
UNSUPPORTED = (
    "Bot chỉ đọc được tin nhắn chữ, số điện thoại và tệp "
    f"{ACCEPTED_TEXT}. Vui lòng gửi lại theo một trong các dạng đó."
)
DOWNLOAD_FAILED = "Chưa tải được tệp từ Telegram. Vui lòng gửi lại sau ít phút."
# About what a phone shows of a one-per-row button before it cuts the text.
BUTTON_FITS = 40
RETRIES = 4
MAX_CAPTION = 1024  # a file's caption, in UTF-16 units (Bot API sendDocument)
# Set while the outbox sends: a 429 is handed back to it (it paces and retries the message
# later) in place of sleeping here with a batch waiting.
QUEUED: ContextVar[bool] = ContextVar("queued", default=False)

Sender = Callable[[Bot, TelegramMethod[Any]], Awaitable[Any]]


async def retry_middleware(make_request: Sender, bot: Bot, method: TelegramMethod[Any]) -> Any:
    """Honour 429 retry_after and back off on 5xx and network errors, then give up loudly.

    A timed-out message send is not retried: Telegram may have delivered it, and a second copy
    is worse than a missing one (the answer itself is already saved).
    """
    for attempt in range(RETRIES):
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            if QUEUED.get():
                raise
            await asyncio.sleep(min(exc.retry_after, 60))
        except (TelegramServerError, TelegramNetworkError) as exc:
            if _maybe_delivered(method, exc):
                raise
            log.warning(
                "telegram %s failed (%s), retry %d",
                type(method).__name__,
                type(exc).__name__,
                attempt + 1,
            )
            await asyncio.sleep(0.2 * 2**attempt)
    return await make_request(bot, method)


def _maybe_delivered(method: TelegramMethod[Any], exc: Exception) -> bool:
    timed_out = isinstance(exc, TelegramNetworkError) and "timeout" in exc.message.lower()
    return timed_out and isinstance(method, SendMessage | SendPhoto | SendDocument)


def make_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    bot = Bot(token, session=session)
    bot.session.middleware(retry_middleware)
    return bot


def keyboard(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if reply.expects is Expect.PHONE:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=SHARE_PHONE, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if not reply.buttons:
        return None
    numbered = _numbered(reply)
    rows = [
        [
            InlineKeyboardButton(
                text=f"{b.number}. {_short(b.label)}" if numbered else b.label,
                callback_data=b.token,
            )
        ]
        for b in reply.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _numbered(reply: Reply) -> bool:
    """Labels too long for a phone's button (the long target groups) are written out in the
    message, numbered, and the buttons carry the number and the label's start."""
    return any(len(b.label) > BUTTON_FITS for b in reply.buttons)


def _short(label: str) -> str:
    if len(label) <= BUTTON_FITS:
        return label
    return label[: BUTTON_FITS - 1].rsplit(" ", 1)[0].rstrip(",;:-– ") + "…"


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup | None]]:
    """HTML-escaped chunks within Telegram's limit; the keyboard goes with the last one."""
    text = reply.text or "…"
    if reply.buttons and _numbered(reply):
        text += "\n\n" + "\n".join(f"{b.number}. {b.label}" for b in reply.buttons)
    chunks = split_text(text, MAX_TEXT, utf16_len)
    markup = keyboard(reply)
    return [
        (html.escape(chunk, quote=False), markup if i == len(chunks) - 1 else None)
        for i, chunk in enumerate(chunks)
    ]


def _caption(reply: Reply) -> str | None:
    """The text as the caption of the reply's one file, when it fits and has no keyboard."""
    if len(reply.files) != 1 or not reply.text or keyboard(reply) is not None:
        return None
    text = html.escape(reply.text, quote=False)
    return text if utf16_len(text) <= MAX_CAPTION else None


class InChat(Filter):
    """Messages of these chat types (with `replies`, only text replies to a message).

    A coroutine on purpose: aiogram runs plain callables such as `F.chat.type == ...` in a
    worker thread, a thread hop for every update.
    """

    def __init__(self, *chat_types: str, replies: bool = False) -> None:
        self.chat_types = frozenset(chat_types)
        self.replies = replies

    async def __call__(self, message: Message) -> bool:
        if message.chat.type not in self.chat_types:
            return False
        return not self.replies or (message.reply_to_message is not None and bool(message.text))


def _base(message: Message, update_id: int) -> dict[str, Any]:
    assert message.from_user is not None
    return {
        "channel": NAME,
        "chat_id": str(message.chat.id),
        "user_id": str(message.from_user.id),
        "update_id": f"{NAME}:{update_id}",
    }


@dataclass(slots=True)
class _ChatLock:
    lock: asyncio.Lock
    users: int = 0  # holding it or waiting for it


class ChatIsolation(BaseMiddleware):
    """One chat's updates one at a time (an outer middleware on the dispatcher's updates).

    It stands in for aiogram's FSM middleware, which we switch off: our state lives in the
    database, and aiogram's in-memory FSM storage keeps a record (about 400 bytes) for every
    chat it has ever seen, as its SimpleEventIsolation keeps a lock. Here a chat's lock is
    dropped as soon as nobody holds it or waits for it.
    """

    def __init__(self) -> None:
        self._locks: dict[int, _ChatLock] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context: EventContext | None = data.get(EVENT_CONTEXT_KEY)
        chat_id = context.chat_id if context is not None else None
        if chat_id is None:
            return await handler(event, data)
        async with self._lock(chat_id):
            return await handler(event, data)

    @asynccontextmanager
    async def _lock(self, chat_id: int) -> AsyncIterator[None]:
        entry = self._locks.get(chat_id)
        if entry is None:
            entry = self._locks[chat_id] = _ChatLock(asyncio.Lock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[chat_id]

    @property
    def chats(self) -> int:
        return len(self._locks)


class TelegramChannel:
    """Holds the aiogram Bot and Dispatcher; feeds the engine; sends what it answers."""

    def __init__(
        self,
        engine: Engine,
        bot: Bot,
        max_file_bytes: int,
    ) -> None:
        self.engine = engine
        self.bot = bot
        self.max_file_bytes = min(max_file_bytes, DOWNLOAD_CAP)
        # Telegram's file_id of a shared file already uploaded (an announcement's attachment
        # goes to thousands of chats): it is sent again by id, not uploaded each time.
        self.uploaded: dict[str, str] = {}
        self._uploading: dict[str, asyncio.Lock] = {}
        self.pacer: Pacer | None = None  # the sending budget the outbox shares
        router = Router(name=NAME)
        router.message.register(self.on_message, InChat("private"))
        # In a helpers' group only replies to the bot's ticket notifications are read.
        router.message.register(self.on_message, InChat("group", "supergroup", replies=True))
        router.callback_query.register(self.on_callback)
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.isolation = ChatIsolation()  # after aiogram's user context, which it reads
        self.dispatcher.update.outer_middleware(self.isolation)
        self.dispatcher.include_router(router)

    async def register_commands(self) -> None:
        await self.bot.set_my_commands(
            [BotCommand(command="start", description="Bắt đầu")]
            + [BotCommand(command=c.lstrip("/"), description=d) for c, d in COMMAND_HELP.items()]
        )

    async def on_message(self, message: Message, event_update: Update) -> None:
        if message.from_user is None:
            return
        inbound = await self.message_to_inbound(message, event_update.update_id)
        if isinstance(inbound, str):
            await self._answer(message.chat.id, Reply(inbound))
            return
        for reply in await self.engine.handle(inbound):
            await self._answer(message.chat.id, reply)

    async def message_to_inbound(self, message: Message, update_id: int) -> Inbound | str:
        """The Inbound for this message, or a notice when the message cannot be used."""
        base = _base(message, update_id)
        assert message.from_user is not None
        if message.contact is not None:
            if message.contact.user_id != message.from_user.id:
                return NOT_YOUR_CONTACT
            return Inbound(**base, contact_phone=message.contact.phone_number)
        if message.document is not None or message.photo:
            return await self._file(message, base)
        if message.text is not None:
            replied = message.reply_to_message
            reply_to = str(replied.message_id) if replied is not None else None
            return Inbound(**base, text=message.text, reply_to=reply_to)
        return UNSUPPORTED

    async def _file(self, message: Message, base: dict[str, Any]) -> Inbound | str:
        if message.document is not None:
            file_id, size = message.document.file_id, message.document.file_size or 0
            name = message.document.file_name
            mime = message.document.mime_type
        else:
            photo = max(message.photo or [], key=lambda p: p.width * p.height)
            file_id, size, name, mime = photo.file_id, photo.file_size or 0, None, "image/jpeg"
        fits = check_size(size, self.max_file_bytes)
        if isinstance(fits, Rejected):
            return fits.message
        try:
            buffer = await self.bot.download(file_id, destination=io.BytesIO())
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
            # Only the kind of failure: aiohttp's errors carry the /file/bot<token>/… URL.
            log.warning("telegram download failed: %s", type(exc).__name__)
            return DOWNLOAD_FAILED
        assert isinstance(buffer, io.BytesIO)
        data = buffer.getvalue()
        return Inbound(
            **base,
            file=IncomingFile(data=data, filename=name, declared_mime=mime),
            text=message.caption,
        )

    async def on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        message = query.message
        if not isinstance(message, Message) or message.chat.type != "private":
            await query.answer()
            return
        inbound = Inbound(
            channel=NAME,
            chat_id=str(message.chat.id),
            user_id=str(query.from_user.id),
            token=query.data or "",
            update_id=f"{NAME}:{event_update.update_id}",
        )
        replies = await self.engine.handle(inbound)
        alert = next((r.alert for r in replies if r.alert), None)
        try:
            await query.answer(text=alert)
        except TelegramAPIError as exc:  # network errors included
            # "query is too old" and the like: the press is saved; the screen still goes out.
            log.warning("telegram callback answer failed: %s", type(exc).__name__)
        for index, reply in enumerate(replies):
            if index == 0 and alert is None and await self._edit(message, reply):
                continue
            await self._answer(message.chat.id, reply)

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Show the next screen in place of the pressed one; False when it must be sent."""
        chunks = render(reply)
        markup = chunks[0][1]
        if len(chunks) > 1 or isinstance(markup, ReplyKeyboardMarkup) or reply.files:
            return False
        try:
            await self.bot.edit_message_text(
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=chunks[0][0],
                parse_mode="HTML",
                reply_markup=markup,
            )
        except TelegramBadRequest as exc:
            # A double tap re-renders the same screen; Telegram calls that an error.
            return "message is not modified" in exc.message
        except TelegramAPIError as exc:  # network errors included
            log.warning("telegram edit failed, sending anew: %s", type(exc).__name__)
            return False
        return True

    async def _answer(self, chat_id: int | str, reply: Reply) -> None:
        """Reply to the person who wrote. The update is already saved, so a reply that cannot
        be sent is logged, not raised: raising would make Telegram send the update again."""
        if self.pacer is not None:
            self.pacer.note_direct(str(chat_id), 1 + len(reply.files))
        try:
            await self.send(chat_id, reply)
        except TelegramAPIError as exc:  # network errors included
            log.warning("telegram reply not sent: %s", type(exc).__name__)

    async def send_queued(self, chat_id: str, reply: Reply) -> list[str]:
        """The outbox's way to send: what the platform said, in the outbox's terms."""
        token = QUEUED.set(True)
        try:
            return await self.send(chat_id, reply)
        except TelegramRetryAfter as exc:
            raise RetryLater("429", float(exc.retry_after)) from exc
        except TelegramForbiddenError as exc:
            raise GiveUp("người nhận đã chặn bot") from exc
        except TelegramBadRequest as exc:
            raise GiveUp(f"Telegram từ chối: {exc.message[:80]}") from exc
        finally:
            QUEUED.reset(token)

    async def send(self, chat_id: int | str, reply: Reply) -> list[str]:
        """Send the reply: one file with a short text goes as one message, the text its
        caption. Once a first part has gone, a 429 on the rest is waited out here: handed to
        the outbox, the whole message would be sent again."""
        caption = _caption(reply)
        ids = []
        if caption is None:
            for text, markup in render(reply):
                sent = await self.bot.send_message(
                    chat_id=chat_id, text=text, parse_mode="HTML", reply_markup=markup
                )
                ids.append(str(sent.message_id))
                QUEUED.set(False)
        for file in reply.files:
            message_id = await self._send_file(chat_id, file, caption)
            if caption is not None:
                ids.append(message_id)
                caption = None
            QUEUED.set(False)
        return ids

    async def _send_file(self, chat_id: int | str, file: OutgoingFile, caption: str | None) -> str:
        if file.personal or file.path in self.uploaded:
            return await self._sent_file(chat_id, file, caption)
        # the first send of a shared file uploads it; the sends meanwhile wait for its id
        async with self._uploading.setdefault(file.path, asyncio.Lock()):
            sent = await self._sent_file(chat_id, file, caption)
        self._uploading.pop(file.path, None)
        return sent

    async def _sent_file(self, chat_id: int | str, file: OutgoingFile, caption: str | None) -> str:
        known = None if file.personal else self.uploaded.get(file.path)
        upload = known or FSInputFile(file.path, filename=file.name)
        mode = "HTML" if caption else None
        if file.photo:
            sent = await self.bot.send_photo(
                chat_id=chat_id, photo=upload, caption=caption, parse_mode=mode
            )
            file_id = sent.photo[-1].file_id if sent.photo else None
        else:
            sent = await self.bot.send_document(
                chat_id=chat_id, document=upload, caption=caption, parse_mode=mode
            )
            file_id = sent.document.file_id if sent.document else None
        if file.personal:
            Path(file.path).unlink(missing_ok=True)  # Telegram holds it now; we need not
        elif file_id and known is None:
            if len(self.uploaded) >= 1000:
                self.uploaded.clear()
            self.uploaded[file.path] = file_id
        return str(sent.message_id)
