"""A fake channel for tests: send text, click buttons, send files, read replies."""

from __future__ import annotations

import itertools

from bot.dialogs.engine import Engine
from bot.dialogs.types import Button, Inbound, IncomingFile, Reply

_update_ids = itertools.count(1)


class FakeChat:
    def __init__(self, engine: Engine, user_id: str = "u1", channel: str = "fake") -> None:
        self.engine = engine
        self.user_id = user_id
        self.channel = channel
        self.replies: list[Reply] = []
        self.updates = 0  # how many this person has sent

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    @property
    def text(self) -> str:
        return self.last.text

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.last.buttons]

    async def deliver(self, inbound: Inbound) -> list[Reply]:
        self.updates += 1
        replies = await self.engine.handle(inbound)
        self.replies.extend(replies)
        return replies

    def _inbound(self, **fields: object) -> Inbound:
        update_id = fields.pop("update_id", None) or f"upd-{next(_update_ids)}"
        return Inbound(
            channel=self.channel,
            chat_id=self.user_id,
            user_id=self.user_id,
            update_id=str(update_id),
            **fields,
        )  # type: ignore[arg-type]

    async def send(self, text: str, update_id: str | None = None) -> Reply:
        await self.deliver(self._inbound(text=text, update_id=update_id))
        return self.last

    def button(self, label: str) -> Button:
        buttons = self.last.buttons
        exact = [b for b in buttons if b.label == label]
        found = exact or [b for b in buttons if label.lower() in b.label.lower()]
        if len(found) != 1:
            raise AssertionError(f"no single button {label!r} in {[b.label for b in buttons]}")
        return found[0]

    async def click(self, label: str) -> Reply:
        await self.press(self.button(label).token)
        return self.last

    async def press(self, token: str) -> Reply:
        await self.deliver(self._inbound(token=token))
        return self.last

    async def send_file(self, data: bytes, filename: str) -> Reply:
        await self.deliver(self._inbound(file=IncomingFile(data=data, filename=filename)))
        return self.last

    async def share_contact(self, phone: str) -> Reply:
        await self.deliver(self._inbound(contact_phone=phone))
        return self.last
