"""Engine construction and schema migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.config import DB_MAX_OVERFLOW, DB_POOL_SIZE
from bot.store import jsontext

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
CHECKPOINT_PAGES = 100
_JSON = {"json_serializer": jsontext.dumps, "json_deserializer": jsontext.loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event open the transaction (see _sqlite_begin), not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    # Setting the mode takes a lock, and fails at once, without waiting, while another
    # program writes: set it only once, on a database that is not in WAL mode yet.
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the reply, so even a power cut loses no answer (NORMAL
    # in WAL mode survives a killed process but not the machine going down).
    cursor.execute("PRAGMA synchronous=FULL")
    # The commit that fills the log past this many pages copies them into the database and
    # syncs it before returning. At 100 (SQLite's default: 1,000, 4 MB) the log stays under
    # 1 MB and the trial path's p99 was lower (bench/README.md, latency and broadcast).
    cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock up front: a deferred transaction that reads, then writes, fails
    # with "database is locked" instead of waiting when another connection is writing.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL and for SQLite in memory."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _prepare_sqlite(url: str) -> bool:
    """For a SQLite file: create its folder (a fresh clone has no data/). True if SQLite."""
    if not is_sqlite(url):
        return False
    # aiosqlite logs every statement with its parameters (phone numbers) at DEBUG.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.root.level))
    if (database := sqlite_file(url)) is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    return True


def make_engine(
    url: str,
    pool_size: int = DB_POOL_SIZE,
    max_overflow: int = DB_MAX_OVERFLOW,
    timeout: float = 5.0,
) -> AsyncEngine:
    if _prepare_sqlite(url):
        # Sessions and connections end their own transactions before handing a connection
        # back; the pool's extra rollback would be one more statement per checkout.
        engine = create_async_engine(url, pool_reset_on_return=None, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per checkout; the engine redoes an update once when
    # its connection turns out dead, which also makes the pool drop its older connections.
    # The timeouts turn a database that holds connections open but answers nothing into an
    # error within seconds (the bot then says it is busy), not a wait of minutes.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=timeout,
        connect_args={"timeout": timeout, "command_timeout": timeout},
        **_JSON,
    )


# Reports and operators' commands may run statements far longer than a chat's; nobody else
# waits on them.
REPORT_TIMEOUT_SECONDS = 600.0


def make_reader(url: str) -> AsyncEngine:
    """An engine for one long report (the award file, in a process of its own). On SQLite its
    connections never take the write lock (no BEGIN IMMEDIATE, `query_only`), so in WAL mode a
    report of a hundred thousand rows leaves every writer free."""
    if not _prepare_sqlite(url):
        return make_engine(url, pool_size=1, max_overflow=0, timeout=REPORT_TIMEOUT_SECONDS)
    reader = create_async_engine(url, **_JSON)
    event.listen(reader.sync_engine, "connect", _read_only_pragmas)
    return reader


def _read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    # Alembic is loaded here, not above: most processes never migrate (0.17 s at each start)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Call from synchronous code (no running loop)."""
    from alembic import command

    _prepare_sqlite(url)
    command.upgrade(alembic_config(url), revision)
    if (database := sqlite_file(url)) is not None:
        # WAL mode is kept in the file: set here, no connection of the bot has to take the
        # lock that setting it needs (see _sqlite_pragmas).
        with closing(sqlite3.connect(database)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def current_revision(url: str) -> str | None:
    """The schema's Alembic revision; None for a database without our tables."""
    from alembic.runtime.migration import MigrationContext

    async def read() -> str | None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
