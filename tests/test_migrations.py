"""Alembic migrations: they build exactly the models' schema, and they go down and up again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.db import alembic_config, upgrade
from bot.store.models import Base
from tests.conftest import PG_ADMIN_DSN, _need_postgres, _pg_admin


def schema_differences(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        await engine.dispose()
        return list(diffs)

    return asyncio.run(run())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    _need_postgres()
    name = f"sangkien_mig_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_match_models_and_reverse(empty_db: str) -> None:
    upgrade(empty_db)
    assert schema_differences(empty_db) == []
    command.downgrade(alembic_config(empty_db), "base")
    upgrade(empty_db)
    assert schema_differences(empty_db) == []
