"""What one statement costs through SQLAlchemy's asyncio layer: the floor under the careful
path's transactions. Event-loop CPU per call: other processes move it little, but the price of
thread wake-ups and system calls on the machine moves it a lot (2-3x within hours here)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import insert, select

from bot.store.db import make_engine, make_sessionmaker, upgrade_async
from bot.store.models import AuditLog, Conversation

RUNS = 2000


async def _cpu_per_call(call: Callable[[], Awaitable[object]]) -> float:
    for _ in range(50):
        await call()
    start = time.thread_time()
    for _ in range(RUNS):
        await call()
    return (time.thread_time() - start) / RUNS * 1e6


async def statement_costs(url: str) -> dict[str, float]:
    """µs of event-loop CPU for each way of running one small statement."""
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    read = select(Conversation.state, Conversation.version).where(
        Conversation.channel == "bench", Conversation.chat_id == "1"
    )
    costs: dict[str, float] = {}
    try:
        async with sessions() as session:
            session.add(
                Conversation(channel="bench", chat_id="1", version=1, state={}, updated_at=now)
            )
            await session.commit()

            async def orm_select() -> None:
                (await session.execute(read)).one()

            async def orm_insert() -> None:
                session.add(AuditLog(at=now, action="bench", channel="bench"))
                await session.flush()

            costs["ORM session.execute(select)"] = await _cpu_per_call(orm_select)
            costs["ORM add + flush of one row"] = await _cpu_per_call(orm_insert)
            await session.rollback()
        async with engine.connect() as connection:
            entry = insert(AuditLog).values(at=now, action="bench", channel="bench")

            async def core_select() -> None:
                (await connection.execute(read)).one()

            async def core_insert() -> None:
                await connection.execute(entry)

            costs["Core connection.execute(select)"] = await _cpu_per_call(core_select)
            costs["Core connection.execute(insert)"] = await _cpu_per_call(core_insert)
            await connection.rollback()
    finally:
        await engine.dispose()
    return costs
