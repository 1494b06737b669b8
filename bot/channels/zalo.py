"""Zalo through our own Bot API client: updates in, numbered text out.

Zalo has no buttons: options become "1. …" lines, answered by number, by label (with or
without diacritics), or CÓ / KHÔNG for yes/no questions. Only photos reach a Zalo bot, so
documents travel as Google Drive links.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from bot.channels.text import split_text
from bot.channels.zalo_client import MAX_TEXT, ZaloClient, ZaloError, ZaloTransientError
from bot.dialogs.engine import Engine
from bot.dialogs.types import Expect, Inbound, IncomingFile, Reply
from bot.outbox import GiveUp, Pacer, RetryLater

log = logging.getLogger(__name__)

NAME = "zalo"
UNSUPPORTED = (
    "Bot đọc được tin nhắn chữ và ảnh. Tệp PDF, Word, nhãn dán hay tin nhắn thoại chưa gửi "
    "được qua Zalo: hãy chụp ảnh tài liệu, hoặc đưa tệp lên Google Drive rồi gửi đường dẫn."
)
DOWNLOAD_FAILED = "Chưa tải được ảnh từ Zalo. Vui lòng gửi lại sau ít phút."
TOO_BIG = "Ảnh quá lớn. Vui lòng gửi ảnh nhỏ hơn hoặc đưa lên Google Drive rồi gửi đường dẫn."
FILE_HINT = (
    "Trên Zalo, bot nhận ảnh chụp tài liệu hoặc đường dẫn Google Drive (Zalo chưa cho gửi "
    "tệp PDF, Word tới bot)."
)
FILES_ELSEWHERE = (
    "Máy chủ bot chưa có địa chỉ công khai nên chưa gửi được biểu đồ và tệp qua Zalo. Quản trị "
    "hệ thống cần đặt SANGKIEN_PUBLIC_URL và SANGKIEN_LINK_SECRET; trong lúc chờ, bạn nhận "
    "được chúng trên Telegram (/lienket để dùng chung hồ sơ)."
)
PHONE_HINT = "Gõ số điện thoại của bạn, ví dụ 0901 234 567."
MIN_POLL_INTERVAL = 0.2
REFUSED = frozenset({401, 403})  # Zalo's answer to a wrong or reset token


@dataclass(frozen=True, slots=True)
class ZaloUpdate:
    event: str
    message_id: str | None
    chat_id: str | None
    user_id: str | None
    chat_type: str | None
    text: str | None
    photo_url: str | None


def parse_update(body: Any) -> ZaloUpdate | None:
    """Accept the documented `{ok, result: {...}}` wrapper and the flat shape seen in practice."""
    if not isinstance(body, dict):
        return None
    result = body.get("result")
    inner: dict[str, Any] = result if isinstance(result, dict) else body
    event = inner.get("event_name")
    message = inner.get("message")
    if not isinstance(event, str) or not isinstance(message, dict):
        return None
    sender = _mapping(message.get("from"))
    chat = _mapping(message.get("chat"))
    photo = message.get("photo_url") or message.get("photo")
    return ZaloUpdate(
        event=event,
        message_id=_text(message.get("message_id")),
        chat_id=_text(chat.get("id")) or _text(sender.get("id")),
        user_id=_text(sender.get("id")),
        chat_type=_text(chat.get("chat_type")),
        text=message.get("text") if isinstance(message.get("text"), str) else None,
        photo_url=photo if isinstance(photo, str) else None,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def render(reply: Reply) -> list[str]:
    """Numbered options and an answer hint under the text, split at Zalo's 2000 characters."""
    lines = [reply.text] if reply.text else []
    if reply.buttons:
        lines.append("")
        lines += [f"{b.number}. {b.label}" for b in reply.buttons]
        numbers = ", ".join(str(b.number) for b in reply.buttons)
        if reply.yes_no:
            lines.append("Trả lời CÓ hoặc KHÔNG (hoặc gửi số thứ tự).")
        else:
            lines.append(f"Trả lời {_or(numbers)} hoặc gõ tên mục.")
    # Pictures with a link are sent as photos (see ZaloChannel.send); the rest as links.
    listed = [f for f in reply.files if not (f.photo and f.url)]
    if listed:
        lines.append("")
        lines += [
            f"📎 {file.name}: {file.url}" if file.url else f"📎 {file.name}" for file in listed
        ]
        if not all(file.url for file in listed):
            lines.append(FILES_ELSEWHERE)
    if reply.expects is Expect.FILE:
        lines.append(FILE_HINT)
    elif reply.expects is Expect.PHONE:
        lines.append(PHONE_HINT)
    return split_text("\n".join(lines), MAX_TEXT)


def _or(numbers: str) -> str:
    head, _, last = numbers.rpartition(", ")
    return f"{head} hoặc {last}" if head else last


class ZaloChannel:
    """Holds our Zalo client; feeds the engine; sends what it answers."""

    def __init__(
        self, engine: Engine, client: ZaloClient, max_file_bytes: int, media_hosts: tuple[str, ...]
    ) -> None:
        self.engine = engine
        self.client = client
        self.max_file_bytes = max_file_bytes
        self.media_hosts = media_hosts
        self.pacer: Pacer | None = None  # the sending budget the outbox shares

    async def handle(self, body: Any) -> None:
        update = parse_update(body)
        if update is None or update.chat_id is None or update.user_id is None:
            return
        if (update.chat_type or "PRIVATE").upper() != "PRIVATE":
            return  # the submission conversation is one-to-one only
        inbound = await self.to_inbound(update)
        replies = (
            [Reply(inbound)] if isinstance(inbound, str) else await self.engine.handle(inbound)
        )
        for reply in replies:
            if self.pacer is not None:
                self.pacer.note_direct(update.chat_id, 1 + len(reply.files))
            await self.send(update.chat_id, reply)

    async def to_inbound(self, update: ZaloUpdate) -> Inbound | str:
        assert update.chat_id is not None and update.user_id is not None
        base = Inbound(
            channel=NAME,
            chat_id=update.chat_id,
            user_id=update.user_id,
            update_id=f"{NAME}:{update.message_id}" if update.message_id else None,
        )
        if update.event == "message.text.received" and update.text is not None:
            return replace(base, text=update.text)
        if update.event == "message.image.received" and update.photo_url:
            return await self._photo(base, update.photo_url)
        return UNSUPPORTED

    async def _photo(self, base: Inbound, url: str) -> Inbound | str:
        if not self._allowed(url):
            log.warning("zalo photo from a host outside the allowed list")
            return DOWNLOAD_FAILED
        try:
            data = await self.client.download(url, self.max_file_bytes)
        except ZaloError:
            return DOWNLOAD_FAILED
        if data is None:
            return TOO_BIG
        name = urlsplit(url).path.rsplit("/", 1)[-1][-60:] or "anh.jpg"
        return replace(base, file=IncomingFile(data=data, filename=name))

    def _allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.media_hosts)

    async def send_queued(self, chat_id: str, reply: Reply) -> list[str]:
        """The outbox's way to send: what Zalo said, in the outbox's terms."""
        try:
            return await self.send(chat_id, reply)
        except ZaloTransientError as exc:
            raise RetryLater(str(exc)[:120]) from exc
        except ZaloError as exc:
            raise GiveUp(f"Zalo từ chối: {str(exc)[:80]}") from exc

    async def send(self, chat_id: str, reply: Reply) -> list[str]:
        sent = [
            (await self.client.send_message(chat_id, text)).message_id for text in render(reply)
        ]
        pictures = [f.url for f in reply.files if f.photo and f.url]
        # Zalo fetches each picture from its signed link
        sent += [(await self.client.send_photo(chat_id, url)).message_id for url in pictures]
        return sent

    async def poll(self, stop: asyncio.Event, started: asyncio.Event | None = None) -> None:
        """Long polling (development): Zalo has no offset, so repeats are dropped by update id.
        `started` is set once Zalo has taken the token."""
        await self.client.delete_webhook()  # a wrong token or no network ends the poll here
        if started is not None:
            started.set()
        while not stop.is_set():
            try:
                updates = await self.client.get_updates(timeout=30)
            except ZaloError as exc:
                if exc.error_code in REFUSED:
                    raise  # the token was reset or is wrong: nothing to wait for
                log.warning("zalo getUpdates: %s", exc)
                await asyncio.sleep(2)
                continue
            for body in updates:
                try:
                    await self.handle(body)
                except Exception as exc:  # one bad update must not stop the others
                    log.error("zalo update failed: %s", type(exc).__name__)
            await asyncio.sleep(MIN_POLL_INTERVAL)
