"""Group commit of conversation states: many chats' answers, one transaction.

An update whose step needed nothing but its conversation state hands the new state here and
waits. Whatever arrives while a transaction is being committed goes into the next one, so
under load one commit (one fsync) carries hundreds of answers, and each caller still hears
back only after its own answer is durable. Every row is a compare-and-set on its version;
the caller learns which of its writes lost a race and redoes those the careful way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store import jsontext
from bot.store.models import Instant, Person
from bot.store.writer import WriterLock

log = logging.getLogger(__name__)

MAX_BATCH = 500

# One statement per batch; RETURNING names the rows whose version still matched.
SQLITE_UPDATE = """
UPDATE conversation SET state = v.state, version = conversation.version + 1, updated_at = :at
FROM (
    SELECT json_extract(value, '$[0]') AS channel, json_extract(value, '$[1]') AS chat_id,
           json_extract(value, '$[2]') AS version, json_extract(value, '$[3]') AS state
    FROM json_each(:rows)
) AS v
WHERE conversation.channel = v.channel AND conversation.chat_id = v.chat_id
  AND conversation.version = v.version
RETURNING conversation.channel, conversation.chat_id
"""
POSTGRES_UPDATE = """
UPDATE conversation AS c SET state = v.state::json, version = c.version + 1, updated_at = :at
FROM unnest(
    CAST(:channels AS text[]), CAST(:chats AS text[]), CAST(:versions AS int[]),
    CAST(:states AS text[])
) AS v(channel, chat_id, version, state)
WHERE c.channel = v.channel AND c.chat_id = v.chat_id AND c.version = v.version
RETURNING c.channel, c.chat_id
"""


PROFILE_FIELDS = ("full_name", "birth_year", "position", "workplace", "unit_code", "catalog")
_SAVE_PROFILE = (
    update(Person)
    .where(Person.id == bindparam("person"))
    .values({name: bindparam(f"new_{name}") for name in (*PROFILE_FIELDS, "updated_at")})
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True, slots=True)
class Profile:
    """The signed-in person's saved details: kept with the chat's cached state, so offering
    them again and saving them need no transaction of their own."""

    person_id: int
    full_name: str | None = None
    birth_year: int | None = None
    position: str | None = None
    workplace: str | None = None
    unit_code: str | None = None
    catalog: str | None = None

    @classmethod
    def of(cls, person: Person) -> Profile:
        return cls(person.id, *(getattr(person, name) for name in PROFILE_FIELDS))

    def copy_to(self, person: Person, now: datetime) -> None:
        for name in PROFILE_FIELDS:
            setattr(person, name, getattr(self, name))
        person.updated_at = now

    def parameters(self, now: datetime) -> dict[str, Any]:
        values = {f"new_{name}": getattr(self, name) for name in PROFILE_FIELDS}
        return {"person": self.person_id, "new_updated_at": now, **values}


@dataclass(frozen=True, slots=True)
class StateWrite:
    """Replace the state of (channel, chat_id) if it is still at `version`; with `profile`,
    save the person's details in the same transaction when (and only when) the state wins."""

    channel: str
    chat_id: str
    version: int
    state_json: str
    at: datetime
    profile: Profile | None = None


def batching_supported(engine: AsyncEngine) -> bool:
    """SQLite learned `UPDATE … FROM` in 3.33 and `RETURNING` in 3.35; older ones (Debian 11
    ships 3.34) keep to one transaction per update."""
    if engine.dialect.name != "sqlite":
        return True
    return sqlite3.sqlite_version_info >= (3, 35)


class StateCommitter:
    """Collects concurrent `write` calls and commits them together (see the module doc)."""

    def __init__(self, engine: AsyncEngine, writer_lock: WriterLock | None = None) -> None:
        self._engine = engine
        self._lock = writer_lock
        self._postgres = engine.dialect.name == "postgresql"
        self._pending: list[tuple[StateWrite, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, item: StateWrite) -> bool:
        """True once committed; False if another writer changed the row first.

        Database errors are raised to every caller of the failed batch; nothing of it is kept.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all())
        return await future

    async def _flush_all(self) -> None:
        try:
            await asyncio.sleep(0)  # let the updates already running join the first batch
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._flush(batch)
        finally:
            self._flusher = None

    async def _flush(self, batch: list[tuple[StateWrite, asyncio.Future[bool]]]) -> None:
        items = _first_per_chat([item for item, _ in batch])
        try:
            written = await self._commit(items)
        except Exception as exc:  # every waiter gets the failure; the loop goes on
            log.error("state batch of %d not committed: %s", len(batch), type(exc).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for item, future in batch:
            key = (item.channel, item.chat_id)
            if not future.done():
                future.set_result(key in written and items[key] is item)

    async def _commit(self, items: dict[tuple[str, str], StateWrite]) -> set[tuple[str, str]]:
        statement, params = self._statement(list(items.values()))
        if self._lock is not None:
            await self._lock.acquire()
        try:
            async with self._engine.begin() as connection:
                rows = (await connection.execute(statement, params)).all()
                written = {(row[0], row[1]) for row in rows}
                await _save_profiles(connection, items, written)
        finally:
            if self._lock is not None:
                self._lock.release()
        return written

    def _statement(self, items: list[StateWrite]) -> tuple[Any, dict[str, Any]]:
        at = max(item.at for item in items)
        if self._postgres:
            params: dict[str, Any] = {
                "channels": [i.channel for i in items],
                "chats": [i.chat_id for i in items],
                "versions": [i.version for i in items],
                "states": [i.state_json for i in items],
                "at": at,
            }
            return text(POSTGRES_UPDATE).bindparams(bindparam("at", type_=Instant())), params
        rows = jsontext.dumps([[i.channel, i.chat_id, i.version, i.state_json] for i in items])
        statement = text(SQLITE_UPDATE).bindparams(bindparam("at", type_=Instant()))
        return statement, {"rows": rows, "at": at}


async def _save_profiles(
    connection: AsyncConnection,
    items: dict[tuple[str, str], StateWrite],
    written: set[tuple[str, str]],
) -> None:
    saves = [
        item.profile.parameters(item.at)
        for key, item in items.items()
        if item.profile is not None and key in written
    ]
    if saves:
        await connection.execute(_SAVE_PROFILE, saves)


def _first_per_chat(items: list[StateWrite]) -> dict[tuple[str, str], StateWrite]:
    """Two writes for one chat in one batch cannot both match its version: keep the first,
    the later one loses its race and is redone against the committed state."""
    chosen: dict[tuple[str, str], StateWrite] = {}
    for item in items:
        chosen.setdefault((item.channel, item.chat_id), item)
    return chosen
