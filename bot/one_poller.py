"""One poller per platform among several processes or machines on one PostgreSQL database.

Telegram answers a second getUpdates with 409 Conflict and Zalo hands each update to one of
the callers, so two `sangkien run` processes polling one bot would fight or split the updates.
Each takes a PostgreSQL session-level advisory lock first: the one that holds it polls; the
others stand by, trying again every STANDBY_SECONDS, and the first to find it free takes over.

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


def lock_key(platform: str) -> int:
    """The advisory lock's number: one per platform, the same on every machine."""
    return zlib.crc32(f"sangkien poller {platform}".encode())


@contextlib.asynccontextmanager
async def one_poller(database_url: str, platform: str) -> AsyncIterator[asyncio.Event]:
    """Enter once this process may poll `platform`; the event is set if it no longer may."""
    lost = asyncio.Event()
    if is_sqlite(database_url):
        yield lost
        return
    engine = create_async_engine(
        database_url,
        poolclass=NullPool,
        connect_args={"server_settings": {**KEEPALIVES, "application_name": "sangkien poller"}},
    )
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await _wait_for_turn(connection, platform)
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


async def _wait_for_turn(connection: AsyncConnection, platform: str) -> None:
    said = False
    while not await connection.scalar(_TRY, {"key": lock_key(platform)}):
        if not said:
            announce(
                f"sangkien run {platform}: một tiến trình khác đang nhận tin; tiến trình này "
                "chờ và sẽ thay khi tiến trình kia dừng"
            )
            said = True
        await asyncio.sleep(STANDBY_SECONDS)
    if said:
        announce(f"sangkien run {platform}: tiến trình nhận tin trước đã dừng; tiếp quản")


async def _watch(connection: AsyncConnection, lost: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(STANDBY_SECONDS)
        try:
            await asyncio.wait_for(connection.scalar(text("SELECT 1")), STANDBY_SECONDS)
        except (OSError, DBAPIError, TimeoutError):
            lost.set()
            return


async def poll_while_held(lost: asyncio.Event, polling: asyncio.Task[None]) -> None:
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
        raise UnreachableError(LOST)
    polling.result()
