"""Delivers queued messages (status changes, helper answers) on each person's channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.dialogs.types import Reply
from bot.store.models import RelayMessage
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# Sends one reply to one chat; returns the platform's message ids when it has them.
Sender = Callable[[str, Reply], Awaitable[list[str] | None]]


class OutboxDeliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        senders: Mapping[str, Sender],
        chat_id: str | None = None,
    ) -> None:
        self._chat_id = chat_id  # the console delivers only to its own user
        self._sessions = sessions
        self._clock = clock
        self._senders = dict(senders)

    async def flush(self, limit: int = 50) -> int:
        """Send what is pending for the channels this process can reach; returns how many."""
        if not self._senders:
            return 0
        sent = 0
        async with UnitOfWork(self._sessions) as uow:
            for row in await uow.outbox.claim(list(self._senders), limit, self._chat_id):
                try:
                    ids = await self._senders[row.channel](row.chat_id, _reply(row.payload))
                except Exception as exc:  # a failed send must not lose the others
                    row.attempts += 1
                    log.warning(
                        "outbox %d to %s failed: %s", row.id, row.channel, type(exc).__name__
                    )
                    continue
                row.sent_at = self._clock.now()
                sent += 1
                if ids and row.payload.get("ticket"):
                    # A Telegram reply to this message then answers the ticket.
                    for message_id in ids:
                        uow.session.add(
                            RelayMessage(
                                channel=row.channel,
                                chat_id=row.chat_id,
                                message_id=message_id,
                                ticket_id=int(row.payload["ticket"]),
                            )
                        )
            await uow.commit()
        return sent

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        while not stop.is_set():
            try:
                await self.flush()
            except Exception as exc:  # keep delivering after a database hiccup
                log.error("outbox flush failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def _reply(payload: dict[str, Any]) -> Reply:
    return Reply(str(payload.get("text", "")))
