"""Delivers queued messages (status changes, helper answers, reminders, announcements) within
each platform's limits.

Order: lower priority numbers first (answers and notices, then reminders, then
announcements), so an announcement of 100,000 messages never holds up an answer.

Pace: per channel, at most `per_second` messages for the whole bot and one every
`per_chat_seconds` to one chat (Telegram's published 30 a second and 1 a second per chat;
docs/architecture.md gives the sources and the share kept for direct answers).

Failures: a message the platform asks to wait for (Telegram's 429 `retry_after`) or that
failed for now is tried again later, backing off with jitter, and given up only 24 hours after
it was queued: a dead letter, in `/metrics` and `sangkien outbox status`. One the platform
refuses for good (the person blocked the bot) is a dead letter at once.

Crashes: each message is marked as being sent, in a committed transaction, before it is
sent, and marked sent after. One still marked when the process stopped may or may not have
arrived; it is not sent again but becomes a dead letter. At most once, then: a duplicate
announcement to every member of a province is worse than a few listed for the operator, and
the window is one batch's sends (a second or two)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.dialogs.types import OutgoingFile, Reply
from bot.files import FileStore
from bot.links import LIFETIME, FileLinks
from bot.store.models import RelayMessage
from bot.store.uow import UnitOfWork
from bot.store.writer import WriterLock

log = logging.getLogger(__name__)

# Sends one reply to one chat; returns the platform's message ids when it has them.
Sender = Callable[[str, Reply], Awaitable[list[str] | None]]

ANSWER, REMINDER, ANNOUNCEMENT = 0, 1, 2  # Outbox.priority
GIVE_UP_AFTER = timedelta(hours=24)
IN_DOUBT_AFTER = timedelta(minutes=10)  # far longer than any batch takes to send
BACKOFF_FIRST_SECONDS, BACKOFF_MOST_SECONDS = 2.0, 900.0
CATCH_UP = 0.02  # seconds of lateness a turn may make up: a burst of 0.02 s worth at most
LONGEST_WAIT_IN_BATCH = 2.0  # a chat's next slot later than this: its message waits a round


class RetryLater(Exception):
    """The platform asked to wait (`seconds`, Telegram's retry_after) or failed for now."""

    def __init__(self, reason: str, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.seconds = reason, seconds


class GiveUp(Exception):
    """The platform refuses this message for good (the person blocked the bot)."""


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float  # for the whole bot on this channel
    per_chat_seconds: float  # between two messages to one chat


# Telegram: 30/s per bot and 1/s per chat (Bot FAQ); 25/s leaves room for direct answers.
# Zalo publishes no rate, only 429 "Quota exceeded": 10/s, and back off when told.
LIMITS = {
    "telegram": Limits(25.0, 1.0),
    "zalo": Limits(10.0, 1.0),
}
UNLIMITED = Limits(1000.0, 0.0)


CHAT_SLOTS = 16_384  # chats a ledger remembers at once (two doubles each: 256 KiB)


def _chat_key(chat_id: str) -> int:
    # a hash that is the same in every process (str's hash is salted per process), never 0
    return zlib.crc32(chat_id.encode()) + 1


class Ledger:
    """A channel's sending budget as numbers in shared memory, so that the serving processes
    (which answer) and the sender process (which delivers the outbox) spend one budget: the
    next moment the bot may send, and per chat the next moment that chat may have a message.
    Chats sit in a fixed table by a stable hash; two chats on one place forget the older's
    gap, which only lets a message go a little early (the platform's 429 is the backstop).
    Made before the processes start, which inherit it; time is `time.monotonic`, one clock
    for every process on the machine."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._cells = context.RawArray("d", 1 + 2 * CHAT_SLOTS)
        self.lock = context.Lock()  # held for a read and a write, never across an await

    @property
    def next_free(self) -> float:
        return float(self._cells[0])

    @next_free.setter
    def next_free(self, at: float) -> None:
        self._cells[0] = at

    def chat_free(self, chat_id: str) -> float:
        key = _chat_key(chat_id)
        place = 1 + 2 * (key % CHAT_SLOTS)
        return float(self._cells[place + 1]) if self._cells[place] == key else 0.0

    def set_chat_free(self, chat_id: str, at: float) -> None:
        key = _chat_key(chat_id)
        place = 1 + 2 * (key % CHAT_SLOTS)
        self._cells[place], self._cells[place + 1] = key, at


@dataclass(slots=True)
class Pacer:
    """One budget per channel for everything the bot sends there: at most `per_second` for
    the whole bot, and per chat one every `per_chat_seconds`. Answers to the person who
    wrote go at once and are only counted (`note_direct`); the outbox's messages take turns
    in order (`take_turn`), each when the budget has room, so that a broadcast yields to the
    chats instead of pushing them past the platform's limit. The budget is kept in a
    `Ledger`, which processes can share."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ledger: Ledger = field(default_factory=Ledger)
    _line: asyncio.Lock = field(default_factory=asyncio.Lock)

    def reserve_chat(self, chat_id: str, longest: float, calls: int = 1) -> float:
        """Seconds from now until this chat may have a message of `calls` parts (0: now), its
        place reserved (two messages to one chat in a batch never go together); when that is
        more than `longest` away nothing is reserved (it waits a round)."""
        ledger = self.ledger
        with ledger.lock:
            now = self.clock()
            free = max(now, ledger.chat_free(chat_id))
            if free - now <= longest:
                ledger.set_chat_free(chat_id, free + calls * self.limits.per_chat_seconds)
        return free - now

    async def take_turn(self, calls: int = 1) -> None:
        """Wait for room for `calls` messages (a text and its files), first come first
        served in this process, and take it."""
        async with self._line:
            while True:
                with self.ledger.lock:
                    wait = self.ledger.next_free - self.clock()
                    if wait <= 0:
                        self._take(calls)
                        return
                await self.sleep(wait)  # answers sent meanwhile push it further

    def note_direct(self, chat_id: str, calls: int = 1) -> None:
        """Count an answer sent outside the outbox against the budget and its chat. Answers
        beyond the budget hold the queue back by a second at most, not by all they
        overspent."""
        ledger = self.ledger
        with ledger.lock:
            now = self.clock()
            self._take(calls)
            ledger.next_free = min(ledger.next_free, now + 1.0)
            gap = calls * self.limits.per_chat_seconds
            ledger.set_chat_free(chat_id, max(now, ledger.chat_free(chat_id)) + gap)

    def _take(self, calls: int) -> None:
        # a turn taken a little late (the event loop wakes a millisecond or two after the
        # slot) keeps its place: at 285 a second that lateness alone lost a fifth of the pace
        ledger = self.ledger
        ledger.next_free = (
            max(ledger.next_free, self.clock() - CATCH_UP) + calls / self.limits.per_second
        )


@dataclass(frozen=True, slots=True)
class _Sending:
    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class _Outcome:
    item: _Sending
    ids: list[str] | None = None
    retry_in: float | None = None  # seconds until the next try; with error
    error: str | None = None  # set: failed (retry_in None and not deferred: for good)
    deferred: bool = False  # not tried: the chat's turn comes later


def queued_file(path: Path | str, name: str, mime: str) -> dict[str, Any]:
    """A stored file as an outbox payload names it (`files`): by its stored name, found again
    in the file store when the message goes; a picture is shown as one."""
    return {"stored": Path(path).name, "name": name, "mime": mime, "photo": mime[:6] == "image/"}


MISSING_FILE = "(Tệp {name} không còn lưu trên máy chủ nên không gửi kèm được.)"


def backoff(attempts: int) -> float:
    """Seconds before try number attempts+1: doubling from 2 s to 15 min, with jitter so
    that a storm's messages do not all come back at once."""
    ceiling = min(BACKOFF_MOST_SECONDS, BACKOFF_FIRST_SECONDS * 2**attempts)
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


class OutboxDeliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        senders: Mapping[str, Sender],
        chat_id: str | None = None,
        pacers: Mapping[str, Pacer] | None = None,
        files: FileStore | None = None,
        links: FileLinks | None = None,
        writer: WriterLock | None = None,
    ) -> None:
        self._chat_id = chat_id  # the console delivers only to its own user
        self._writer = writer
        self._files, self._links = files, links
        self._sessions = sessions
        self._clock = clock
        self._senders = dict(senders)
        given = pacers or {}
        self._pacers = {
            name: given.get(name) or Pacer(LIMITS.get(name, UNLIMITED)) for name in self._senders
        }
        self._buried_at = -1e9
        self._claiming = asyncio.Lock()  # the lanes claim one at a time
        self.dead_letters = 0  # given up by this process (the gauge counts them all)
        self.last_batch_full = False

    @property
    def batch(self) -> int:
        """One round's claim: about two seconds' worth at the fastest channel's pace."""
        fastest = max((p.limits.per_second for p in self._pacers.values()), default=25.0)
        return max(10, min(200, int(fastest * 2)))

    async def flush(self, limit: int | None = None) -> int:
        """Send what is due for the channels this process can reach; returns how many were
        sent (`last_batch_full`: more may be due)."""
        sent, self.last_batch_full = await self._round(limit or self.batch)
        return sent

    async def _round(self, limit: int) -> tuple[int, bool]:
        """One batch: claimed and committed before the sends (no transaction stays open while
        they go, so answers are not held up), the outcomes recorded after. Returns how many
        were sent, and whether the batch was full."""
        if not self._senders:
            return 0, False
        now = self._clock.now()
        async with self._claiming, UnitOfWork(self._sessions, self._writer) as uow:
            if time.monotonic() - self._buried_at > 60:
                self._buried_at = time.monotonic()
                self.dead_letters += await uow.outbox.bury_in_doubt(now - IN_DOUBT_AFTER, now)
            rows = await uow.outbox.claim(list(self._senders), limit, now, self._chat_id)
            pending = [
                _Sending(r.id, r.channel, r.chat_id, dict(r.payload), r.created_at, r.attempts)
                for r in rows
            ]
            await uow.commit()
        if not pending:
            return 0, False
        done = await asyncio.gather(*(self._deliver(item) for item in pending))
        async with UnitOfWork(self._sessions, self._writer) as uow:
            await self._record(uow, list(done))
        sent = sum(1 for outcome in done if outcome.error is None and not outcome.deferred)
        return sent, len(pending) >= limit

    async def _deliver(self, item: _Sending) -> _Outcome:
        pacer = self._pacers[item.channel]
        calls = 1 + len(item.payload.get("files") or ())  # at most: a caption makes it one
        wait = pacer.reserve_chat(item.chat_id, LONGEST_WAIT_IN_BATCH, calls)
        if wait > LONGEST_WAIT_IN_BATCH:
            return _Outcome(item, retry_in=wait, deferred=True)
        if wait > 0:
            await asyncio.sleep(wait)
        await pacer.take_turn(calls)
        try:
            reply = await self._reply(item.payload)
            ids = await self._senders[item.channel](item.chat_id, reply)
        except RetryLater as later:
            seconds = later.seconds if later.seconds is not None else backoff(item.attempts)
            return _Outcome(item, retry_in=seconds, error=later.reason)
        except GiveUp as refused:
            return _Outcome(item, error=str(refused) or type(refused).__name__)
        except Exception as exc:  # a failed send must not lose the others
            return _Outcome(item, retry_in=backoff(item.attempts), error=type(exc).__name__)
        return _Outcome(item, ids=ids)

    async def _record(self, uow: UnitOfWork, done: list[_Outcome]) -> None:
        """Write what became of the messages, and commit."""
        now = self._clock.now()
        await uow.outbox.sent([o.item.id for o in done if o.error is None and not o.deferred], now)
        for outcome in done:
            item = outcome.item
            if outcome.deferred and outcome.retry_in is not None:
                await uow.outbox.defer(item.id, now + timedelta(seconds=outcome.retry_in))
            elif outcome.error is not None:
                await self._failed(uow, outcome, now)
            elif outcome.ids and item.payload.get("ticket"):
                # A Telegram reply to this message then answers the ticket.
                for message_id in outcome.ids:
                    uow.session.add(
                        RelayMessage(
                            channel=item.channel,
                            chat_id=item.chat_id,
                            message_id=message_id,
                            ticket_id=int(item.payload["ticket"]),
                        )
                    )
        await uow.commit()

    async def _failed(self, uow: UnitOfWork, outcome: _Outcome, now: datetime) -> None:
        item, error = outcome.item, outcome.error or ""
        retry_at = None
        if outcome.retry_in is not None:
            retry_at = now + timedelta(seconds=outcome.retry_in)
            if retry_at - item.created_at > GIVE_UP_AFTER:
                retry_at = None
        if retry_at is None:
            self.dead_letters += 1
            log.error("outbox %d to %s given up: %s", item.id, item.channel, error)
        else:
            log.warning(
                "outbox %d to %s failed (%s), again at %s",
                item.id,
                item.channel,
                error,
                retry_at.isoformat(timespec="seconds"),
            )
        await uow.outbox.failed(item.id, retry_at, error, now)

    async def run(self, stop: asyncio.Event, interval: float = 2.0, lanes: int = 2) -> None:
        """Deliver until stopped. Two lanes: while one records a batch and claims the next,
        the other's messages go, so the budget is used to the full (bench/README.md); they
        take their turns in one line and claim one at a time."""
        await asyncio.gather(*(self._lane(stop, interval) for _ in range(lanes)))

    async def _lane(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            full = False
            try:
                _sent, full = await self._round(self.batch)
            except Exception as exc:  # keep delivering after a database hiccup
                log.error("outbox flush failed: %s", type(exc).__name__)
            if full:
                continue  # more is due: no pause between full rounds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _reply(self, payload: dict[str, Any]) -> Reply:
        """The message, with its files found in the store (a link for channels that take
        none, signed from now); a file no longer stored is said, and the text still goes."""
        text, files = str(payload.get("text", "")), []
        for entry in payload.get("files") or ():
            found = await self._files.find(str(entry["stored"])) if self._files else None
            if found is None:
                text += "\n" + MISSING_FILE.format(name=entry["name"])
                continue
            url = None
            if self._links is not None:
                url = self._links.url_for(str(found), entry["name"], self._clock.now(), LIFETIME)
            files.append(
                OutgoingFile(str(found), entry["name"], entry["mime"], bool(entry["photo"]), url)
            )
        return Reply(text, files=tuple(files))
