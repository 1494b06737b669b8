"""The console channel: one line in is one message; replies are printed with numbered options.

On a terminal, lines pasted together (a description copied from Word) arrive as one message,
the arrow keys edit the line (the standard library's readline, where present) and Ctrl-C or
Ctrl-D quits. Piped input stays one line, one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import shlex
import threading
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


# How long after a line more input counts as the same paste.
PASTE_GAP = 0.03


def line_to_inbound(line: str, user_id: str) -> Inbound | str:
    """Translate one typed line; `/tep PATH` reads a local file as an attachment (the path
    may be quoted or escaped, as a terminal writes a file dropped on it).

    Returns a message for the user instead when the file cannot be read.
    """
    command, _, argument = line.strip().partition(" ")
    if command.lower() != FILE_COMMAND:
        return Inbound(channel=NAME, chat_id=user_id, user_id=user_id, text=line)
    path = Path(_unquoted(argument.strip())).expanduser()
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


def _unquoted(argument: str) -> str:
    with contextlib.suppress(ValueError):  # an unbalanced quote: take it as written
        words = shlex.split(argument)
        if len(words) == 1:
            return words[0].removeprefix("file://")
    return argument


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
            line = await self._next_message(interactive)
            if line is None or line.strip().lower() in QUIT:
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

    async def _next_message(self, interactive: bool) -> str | None:
        """The next message, read by a daemon thread so that Ctrl-C ends the program at once
        (a reader in asyncio's own pool would be waited for). None: the input has ended."""
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[str | None] = loop.create_future()
        read = self._read_terminal if interactive else self._in.readline

        def deliver(message: str | None) -> None:
            if not arrived.done():
                arrived.set_result(message)

        def work() -> None:
            try:
                message: str | None = read() or None
            except (EOFError, OSError, ValueError):
                message = None
            loop.call_soon_threadsafe(deliver, message)

        threading.Thread(target=work, name="console-input", daemon=True).start()
        return await arrived

    def _read_terminal(self) -> str:
        """One message typed at a terminal: a line, and the lines pasted along with it."""
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (arrow keys and history for input())
        lines = [input("> ")]
        while select.select([self._in], [], [], PASTE_GAP)[0]:
            lines.append(input())
        return "\n".join(lines) + "\n"
