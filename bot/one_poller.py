"""One poller per platform, and one sender, among several processes or machines on one
PostgreSQL database.

Telegram answers a second getUpdates with 409 Conflict and Zalo hands each update to one of
the callers, so two `sangkien run` processes polling one bot would fight or split the updates.
Each takes a PostgreSQL session-level advisory lock first: the one that holds it polls; the
others stand by, trying again every STANDBY_SECONDS, and the first to find it free takes over.

The sender processes of several `serve` machines do the same (`one_sender`): one delivers the
outbox and runs the background jobs with the whole sending budget
(`SANGKIEN_TELEGRAM_PER_SECOND` is the bot's, not a machine's), and when its machine dies
another machine's sender takes over.

The lock lives as long as its connection. A poller killed with -9 closes it with the process,
so a standby takes over within STANDBY_SECONDS; a machine that drops off the network is found
dead by the server's TCP keepalives (KEEPALIVES: within about 25 s), which then releases the
lock. A poller that loses its own lock connection (a database restart) stops, rather than
poll on without the lock, and is started again by its supervisor to stand by.

SQLite needs none of this: one process per file is enforced already (bot.serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.errors import UnreachableError
from bot.logs import announce
from bot.store.db import is_sqlite

STANDBY_SECONDS = 5.0  # a standby's next try; the holder checks its connection as often
# The server notices a vanished client after idle + interval × count seconds
KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
LOST = (
    "mất kết nối giữ quyền nhận tin với PostgreSQL: dừng để hai tiến trình không cùng nhận "
    "tin (trình quản lý dịch vụ sẽ khởi động lại, tiến trình sẽ chờ đến lượt)"
)
SENDER_LOST = (
    "mất kết nối giữ quyền gửi tin với PostgreSQL: tiến trình gửi tin dừng để hai máy không "
    "cùng gửi (nó được khởi động lại sau vài giây và chờ đến lượt)"
)


def lock_key(name: str) -> int:
    """The advisory lock's number: one per platform (and one for the sender), the same on
    every machine."""
    return zlib.crc32(f"sangkien poller {name}".encode())


@contextlib.asynccontextmanager
async def one_poller(database_url: str, platform: str) -> AsyncIterator[asyncio.Event]:
    """Enter once this process may poll `platform`; the event is set if it no longer may."""
    waiting = (
        f"sangkien run {platform}: một tiến trình khác đang nhận tin; tiến trình này chờ và "
        "sẽ thay khi tiến trình kia dừng"
    )
    taking_over = f"sangkien run {platform}: tiến trình nhận tin trước đã dừng; tiếp quản"
    async with _one_at_a_time(database_url, platform, (waiting, taking_over)) as lost:
        yield lost


@contextlib.asynccontextmanager
async def one_sender(database_url: str, stop: asyncio.Event) -> AsyncIterator[asyncio.Event]:
    """Enter once this process may deliver the outbox, or once `stop` is set while it waits
    (then `stop` tells); the event yielded is set if it no longer may."""
    waiting = (
        "sangkien serve: tiến trình gửi tin của một máy khác đang gửi; tiến trình gửi tin "
        "của máy này chờ và sẽ thay khi máy kia dừng"
    )
    taking_over = "sangkien serve: tiến trình gửi tin trước đã dừng; máy này tiếp quản việc gửi"
    async with _one_at_a_time(database_url, "sender", (waiting, taking_over), stop) as lost:
        yield lost


@contextlib.asynccontextmanager
async def _one_at_a_time(
    database_url: str, name: str, lines: tuple[str, str], stop: asyncio.Event | None = None
) -> AsyncIterator[asyncio.Event]:
    lost = asyncio.Event()
    if is_sqlite(database_url):
        yield lost
        return
    engine = create_async_engine(
        database_url,
        poolclass=NullPool,
        connect_args={"server_settings": {**KEEPALIVES, "application_name": f"sangkien {name}"}},
    )
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await _wait_for_turn(connection, name, lines, stop or asyncio.Event())
            watch = asyncio.create_task(_watch(connection, lost))
            try:
                yield lost
            finally:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
    finally:
        with contextlib.suppress(Exception):  # closing the connection releases the lock
            await engine.dispose()


_TRY = text("SELECT pg_try_advisory_lock(:key)")


async def _wait_for_turn(
    connection: AsyncConnection, name: str, lines: tuple[str, str], stop: asyncio.Event
) -> None:
    """Until the lock is this process's, or `stop` is set."""
    waiting, taking_over = lines
    said = False
    while not await connection.scalar(_TRY, {"key": lock_key(name)}):
        if not said:
            announce(waiting)
            said = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STANDBY_SECONDS)
        if stop.is_set():
            return
    if said:
        announce(taking_over)


async def _watch(connection: AsyncConnection, lost: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(STANDBY_SECONDS)
        try:
            await asyncio.wait_for(connection.scalar(text("SELECT 1")), STANDBY_SECONDS)
        except (OSError, DBAPIError, TimeoutError):
            lost.set()
            return


async def poll_while_held(
    lost: asyncio.Event, polling: asyncio.Task[None], said: str = LOST
) -> None:
    """Run `polling` to its end, or stop it when the lock is lost (and say so)."""
    losing = asyncio.create_task(lost.wait())
    try:
        await asyncio.wait({polling, losing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        losing.cancel()
    if not polling.done():
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        raise UnreachableError(said)
    polling.result()
