"""`sangkien outbox status`: what waits to be sent, by priority, and the dead letters (the
messages given up), newest first, with the chat masked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import ANNOUNCEMENT, ANSWER, REMINDER
from bot.store.models import Outbox
from rules.campaigns import TZ

PRIORITY_NAMES = {
    ANSWER: "trả lời, thông báo kết quả",
    REMINDER: "nhắc việc",
    ANNOUNCEMENT: "thông báo",
}
SHOWN_DEAD = 50


def masked(chat_id: str) -> str:
    """A chat id as the operator sees it: enough to tell two apart, not to write to one."""
    return f"…{chat_id[-3:]}" if len(chat_id) > 3 else "…"


async def outbox_status(session: AsyncSession, now: datetime) -> str:
    waiting = await session.execute(
        select(Outbox.priority, func.count(), func.min(Outbox.created_at))
        .where(Outbox.sent_at.is_(None), Outbox.dead_at.is_(None))
        .group_by(Outbox.priority)
        .order_by(Outbox.priority)
    )
    lines = ["Đang chờ gửi:"]
    for priority, count, oldest in waiting:
        minutes = int((now - oldest).total_seconds() // 60)
        name = PRIORITY_NAMES.get(priority, str(priority))
        lines.append(f"  {name}: {count} tin, tin cũ nhất chờ {minutes} phút")
    if len(lines) == 1:
        lines.append("  không có")
    dead = (
        await session.execute(
            select(Outbox)
            .where(Outbox.dead_at.is_not(None))
            .order_by(Outbox.dead_at.desc(), Outbox.id.desc())
            .limit(SHOWN_DEAD)
        )
    ).scalars()
    total = await session.scalar(select(func.count()).where(Outbox.dead_at.is_not(None))) or 0
    lines.append(f"Đã bỏ (không gửi được): {total}")
    for row in dead:
        assert row.dead_at is not None
        lines.append(
            f"  #{row.id} {row.channel} {masked(row.chat_id)} "
            f"xếp {row.created_at.astimezone(TZ):%d/%m %H:%M}, bỏ "
            f"{row.dead_at.astimezone(TZ):%d/%m %H:%M} sau {row.attempts} lần: {row.last_error}"
        )
    if total > SHOWN_DEAD:
        lines.append(f"  … và {total - SHOWN_DEAD} tin khác")
    return "\n".join(lines)
