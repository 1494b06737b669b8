"""The console channel: one line in is one message; replies are printed with numbered options."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from bot.dialogs.engine import Engine
from bot.dialogs.types import Expect, Inbound, IncomingFile, Reply
from bot.outbox import OutboxDeliverer

NAME = "console"
QUIT = {"/thoat", "/quit", "/exit"}
FILE_COMMAND = "/tep"
BANNER = (
    "sangkien-bot – kênh thử trên dòng lệnh. Gõ tin nhắn như trên Zalo/Telegram.\n"
    "Chọn mục bằng số thứ tự hoặc gõ tên mục. Gửi tệp: /tep <đường dẫn>. Thoát: /thoat.\n"
    "Gõ một tin nhắn bất kỳ (ví dụ: chào) để bắt đầu."
)
HINTS = {
    Expect.PHONE: "(gõ số điện thoại)",
    Expect.FILE: "(gửi tệp: /tep <đường dẫn>, hoặc dán đường dẫn Google Drive)",
}


def line_to_inbound(line: str, user_id: str) -> Inbound | str:
    """Translate one typed line; `/tep PATH` reads a local file as an attachment.

    Returns a message for the user instead when the file cannot be read.
    """
    command, _, argument = line.strip().partition(" ")
    if command.lower() != FILE_COMMAND:
        return Inbound(channel=NAME, chat_id=user_id, user_id=user_id, text=line)
    path = Path(argument.strip()).expanduser()
    try:
        data = path.read_bytes()
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return f"Không đọc được tệp “{argument.strip()}”. Kiểm tra lại đường dẫn."
    return Inbound(
        channel=NAME,
        chat_id=user_id,
        user_id=user_id,
        file=IncomingFile(data=data, filename=path.name),
    )


def render(reply: Reply) -> str:
    lines = [reply.text] if reply.text else []
    lines += [f"  [{button.number}] {button.label}" for button in reply.buttons]
    lines += [f"📎 {file.name}: {file.path}" for file in reply.files]
    if hint := HINTS.get(reply.expects):
        lines.append(hint)
    return "\n".join(lines)


class ConsoleChannel:
    def __init__(self, engine: Engine, user_id: str, stdin: TextIO, stdout: TextIO) -> None:
        self._engine = engine
        self._user_id = user_id
        self._in = stdin
        self._out = stdout

    async def deliver(self, chat_id: str, reply: Reply) -> list[str] | None:
        """Outbox sender: messages for this console user (status changes and the like)."""
        self._print("🔔 " + render(reply) + "\n")
        return None

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def run(self, outbox: OutboxDeliverer | None = None) -> None:
        self._print(BANNER)
        interactive = self._in.isatty()
        while True:
            if interactive:
                self._out.write("> ")
                self._out.flush()
            line = await asyncio.to_thread(self._in.readline)
            if not line or line.strip().lower() in QUIT:
                break
            if not interactive:
                self._print(f"> {line.rstrip()}")
            inbound = line_to_inbound(line.rstrip("\n"), self._user_id)
            if isinstance(inbound, str):
                self._print(inbound + "\n")
                continue
            for reply in await self._engine.handle(inbound):
                self._print(render(reply))
                self._print("")
            if outbox is not None:
                await outbox.flush()
