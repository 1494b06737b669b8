"""Fixtures: a migrated database (SQLite, and PostgreSQL where reachable), apps and chats."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.store.db import upgrade
from bot.store.models import Base
from rules.campaigns import TZ
from tests.fake_telegram import FakeTelegram
from tests.fakechat import FakeChat

PG_ADMIN_DSN = os.environ.get("SANGKIEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = ", ".join(Base.metadata.tables)  # every table: no test sees another's rows


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _need_postgres() -> None:
    problem = _pg_reachable()
    if problem is None:
        return
    message = f"PostgreSQL not reachable at {PG_ADMIN_DSN} ({problem})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must test PostgreSQL for real")
    pytest.skip(message)


def _pg_admin(statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@contextmanager
def _throwaway_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    _need_postgres()
    name = f"sangkien_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with _throwaway_postgres() as url:
        upgrade(url)
        yield url


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    with _throwaway_postgres() as url:
        yield url


def _sqlite_url(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "sangkien.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """The SQLite database; tests that must also run on PostgreSQL use `any_db_url`."""
    return _sqlite_url(sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _sqlite_url(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("clean_postgres_url")
    return url


@pytest.fixture
def clean_postgres_url(postgres_url: str) -> str:
    _truncate(postgres_url)
    return postgres_url


def _truncate(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    asyncio.run(run())


PHASE1 = datetime(2022, 3, 1, 9, 0, tzinfo=TZ)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PHASE1)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(url: str, **overrides: object) -> Settings:
        # Tests send far faster than people type: the rate limit has its own test.
        options: dict[str, object] = {"rate_limit_per_minute": 0, **overrides}
        return Settings(database_url=url, files_dir=tmp_path / "files", **options)  # type: ignore[arg-type]

    return make


@asynccontextmanager
async def running_app(settings: Settings, clock: FixedClock) -> AsyncIterator[App]:
    application = build_app(settings, clock)
    try:
        yield application
    finally:
        await application.close()


@pytest.fixture
async def app(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> AsyncIterator[App]:
    async with running_app(make_settings(db_url), clock) as application:
        yield application


@pytest.fixture
async def any_app(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> AsyncIterator[App]:
    """The app on SQLite, and again on PostgreSQL."""
    async with running_app(make_settings(any_db_url), clock) as application:
        yield application


@pytest.fixture
def chat(app: App) -> FakeChat:
    return FakeChat(app.engine)


CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CliRun:
    """`sangkien ARGS` through the same entry point in this process (settings from the
    environment, output and exit code as a process gives them): about a second faster per
    call than a new interpreter, for the tests that call it a dozen times."""

    def run_here(args: list[str], stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        for name, value in {"SANGKIEN_FILES_DIR": str(tmp_path / "files"), **env}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        from bot.cli import main

        code = main(args)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run_here


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1, without limits."""
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()
