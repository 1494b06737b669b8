"""Alembic migrations: they build exactly the models' schema, and they go down and up again."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.db import alembic_config, upgrade
from bot.store.models import Base


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
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


def test_migrations_match_models_and_reverse(empty_db: str) -> None:
    upgrade(empty_db)
    assert schema_differences(empty_db) == []
    command.downgrade(alembic_config(empty_db), "base")
    upgrade(empty_db)
    assert schema_differences(empty_db) == []


def test_counters_move_from_weeks_to_days_with_the_data(tmp_path: Path) -> None:
    """0008 recounts what 0007 counted by week, by day: the figures stay, now exact."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0007")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "insert into person (id, phone, created_at, updated_at) values (1, '+84901234567', "
            "'2022-03-01 00:00:00', '2022-03-01 00:00:00')"
        )
        for number, (unit, at, status) in enumerate(
            [
                ("t24", "2022-02-28 17:30:00", "submitted"),  # 01/03 00:30 in Vietnam
                ("t24.hiep_hoa", "2022-03-02 02:00:00", "accepted"),
                ("t24.hiep_hoa", "2022-03-06 03:00:00", "withdrawn"),
            ],
            1,
        ):
            conn.execute(
                "insert into submission (id, code, draft_id, person_id, channel, campaign, phase,"
                " catalog, unit_code, target_group, solution_type, title, started_on, ended_on,"
                " description, recognized_by, recognition_doc, recognized_on, declared_no_ip,"
                " declared_public_order, author_name, author_birth_year, author_position,"
                " author_workplace, status, submitted_at) values (?, ?, ?, 1, 'zalo', '1trieu',"
                " 'gd1', '2021', ?, 'can_bo_cong_doan', 'quan_ly', 'Một sáng kiến', '2021-10-01',"
                " '2022-01-01', 'Mô tả', 'Hội đồng', '1/QĐ', '2022-01-05', 1, 1, 'Lê Văn A', 1980,"
                " 'Thợ', 'Công ty', ?, ?)",
                (number, f"SK-2022-{number:06d}", f"d{number}", unit, status, at),
            )
        conn.execute(
            "insert into stat_counter values ('1trieu', '*', '2022-02-28', 'status', "
            "'submitted', 7)"
        )
    upgrade(url)
    with sqlite3.connect(path) as conn:
        rows = {
            (scope, day, value): n
            for scope, day, value, n in conn.execute(
                "select scope, day, value, n from stat_counter where dim = 'status'"
            )
        }
        people = conn.execute("select count(*) from participation").fetchone()[0]
        toward_target = conn.execute(
            "select n from stat_counter where dim = 'progress' and scope = '*' "
            "and day = '0001-01-01'"
        ).fetchone()[0]
    assert rows[("*", "2022-03-01", "submitted")] == 1
    assert rows[("t24", "2022-03-02", "accepted")] == 1
    assert rows[("t24.hiep_hoa", "2022-03-06", "withdrawn")] == 1
    assert rows[("t24", "0001-01-01", "submitted")] == 1
    assert ("*", "2022-02-28", "submitted") not in rows  # the week bucket is gone
    assert people == 3  # one person at t24.hiep_hoa, t24 and the whole country
    assert toward_target == 2  # 0011: the withdrawn one does not count toward a target
