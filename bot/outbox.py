"""Delivers queued messages (status changes, helper answers) on each person's channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.dialogs.types import Reply
from bot.store.models import RelayMessage
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

# Sends one reply to one chat; returns the platform's message ids when it has them.
Sender = Callable[[str, Reply], Awaitable[list[str] | None]]


@dataclass(frozen=True, slots=True)
class _Sending:
    """One queued message and what became of it: failed, or sent (with the platform's message
    ids, where it gives them)."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    ids: list[str] | None = None
    failed: bool = False


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
        bind = sessions.kw.get("bind")
        self._single_writer = bind is not None and bind.dialect.name == "sqlite"

    async def flush(self, limit: int = 50) -> int:
        """Send what is pending for the channels this process can reach; returns how many.

        On PostgreSQL the rows stay locked while they are sent (other workers skip them), and
        what became of them is written in the same transaction. SQLite has one writer for the
        whole file: a transaction held across the sends would hold up every answer meanwhile.
        There the rows are read, sent with no transaction open, and the outcome written after;
        one process serves a SQLite file (see `serve --workers`), so nobody else sends them.
        """
        if not self._senders:
            return 0
        if self._single_writer:
            async with UnitOfWork(self._sessions) as uow:
                pending = await self._claim(uow, limit)
            done = [await self._send(item) for item in pending]
            if done:  # an idle round costs no second transaction
                async with UnitOfWork(self._sessions) as uow:
                    await self._record(uow, done)
        else:
            async with UnitOfWork(self._sessions) as uow:
                pending = await self._claim(uow, limit)
                done = [await self._send(item) for item in pending]
                await self._record(uow, done)
        return sum(1 for item in done if not item.failed)

    async def _claim(self, uow: UnitOfWork, limit: int) -> list[_Sending]:
        rows = await uow.outbox.claim(list(self._senders), limit, self._chat_id)
        return [_Sending(row.id, row.channel, row.chat_id, dict(row.payload)) for row in rows]

    async def _send(self, item: _Sending) -> _Sending:
        try:
            ids = await self._senders[item.channel](item.chat_id, _reply(item.payload))
        except Exception as exc:  # a failed send must not lose the others
            log.warning("outbox %d to %s failed: %s", item.id, item.channel, type(exc).__name__)
            return replace(item, failed=True)
        return replace(item, ids=ids)

    async def _record(self, uow: UnitOfWork, done: list[_Sending]) -> None:
        """Write what became of the messages, and commit."""
        await uow.outbox.mark(
            sent=[item.id for item in done if not item.failed],
            failed=[item.id for item in done if item.failed],
            now=self._clock.now(),
        )
        for item in done:
            if item.ids and item.payload.get("ticket"):
                # A Telegram reply to this message then answers the ticket.
                for message_id in item.ids:
                    uow.session.add(
                        RelayMessage(
                            channel=item.channel,
                            chat_id=item.chat_id,
                            message_id=message_id,
                            ticket_id=int(item.payload["ticket"]),
                        )
                    )
        await uow.commit()

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
