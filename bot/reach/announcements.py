"""Announcements (/thongbao): one message to everyone in a scope who has talked to the bot,
consented and not turned announcements off, once each, on the channel they used last. The
messages are written to the outbox in one statement (a hundred thousand rows never pass
through Python) at the announcements' priority, behind every answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Select, delete, func, insert, literal, select, update

from bot.outbox import ANNOUNCEMENT
from bot.store.models import (
    Broadcast,
    ChannelIdentity,
    Conversation,
    Instant,
    Outbox,
    Person,
)
from bot.store.uow import CONSENTED, LAST_USED, OWN_CONVERSATION, UnitOfWork

LONGEST = 1800  # Zalo takes 2,000 characters a message; the heading takes the rest


@dataclass(frozen=True, slots=True)
class Audience:
    campaign: str
    units: list[str] | None  # the unit codes people are in; None: everyone
    roots: str  # the scope's units, as recorded with the announcement (* for all)


def _recipients(audience: Audience) -> Select[tuple[str, str]]:
    """(channel, chat id) of each person reached: their most recently used chat."""
    rank = func.row_number().over(
        partition_by=ChannelIdentity.person_id,
        order_by=(LAST_USED.desc(), ChannelIdentity.id.desc()),
    )
    query = (
        select(ChannelIdentity.channel, ChannelIdentity.external_id, rank.label("rank"))
        .join(Person, Person.id == ChannelIdentity.person_id)
        .outerjoin(Conversation, OWN_CONVERSATION)
        .where(CONSENTED, Person.blocked_at.is_(None), Person.announcements_off_at.is_(None))
    )
    if audience.units is not None:
        query = query.where(Person.unit_code.in_(audience.units))
    ranked = query.subquery()
    return select(ranked.c.channel, ranked.c.external_id).where(ranked.c.rank == 1)


async def count_recipients(uow: UnitOfWork, audience: Audience) -> int:
    found = await uow.session.scalar(
        select(func.count()).select_from(_recipients(audience).subquery())
    )
    return int(found or 0)


def heading(sender: str) -> str:
    return f"📢 Thông báo của {sender}:"


async def announce(
    uow: UnitOfWork,
    audience: Audience,
    text: str,
    sender: str,
    by: int | None,
    now: datetime,
    attached: dict[str, Any] | None = None,
) -> Broadcast:
    """Queue the announcement for everyone in the audience, with the file attached (an outbox
    `files` entry) if any; returns it with its count."""
    broadcast = Broadcast(
        campaign=audience.campaign,
        unit_code=audience.roots[:64],
        text=text,
        created_by=by,
        created_at=now,
        recipients=0,
    )
    uow.session.add(broadcast)
    await uow.session.flush()
    payload: dict[str, Any] = {
        "text": f"{heading(sender)}\n{text}\n\nKhông muốn nhận thông báo: /tatthongbao"
    }
    if attached:
        payload["files"] = [attached]
    reached = _recipients(audience).subquery()
    queued = await uow.session.execute(
        insert(Outbox).from_select(
            [
                "channel",
                "chat_id",
                "payload",
                "created_at",
                "attempts",
                "priority",
                "broadcast_id",
            ],
            select(
                reached.c.channel,
                reached.c.external_id,
                literal(payload, JSON),
                literal(now, Instant()),
                literal(0),
                literal(ANNOUNCEMENT),
                literal(broadcast.id),
            ),
        )
    )
    broadcast.recipients = int(getattr(queued, "rowcount", 0) or 0)
    return broadcast


@dataclass(frozen=True, slots=True)
class Progress:
    broadcast: Broadcast
    sent: int
    waiting: int
    given_up: int


async def progress(uow: UnitOfWork, created_by: int | None, limit: int = 5) -> list[Progress]:
    """The latest announcements this person made, with how far each has gone."""
    made = (
        await uow.session.scalars(
            select(Broadcast)
            .where(Broadcast.created_by == created_by)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
    ).all()
    if not made:
        return []
    counts = await uow.session.execute(
        select(
            Outbox.broadcast_id,
            func.count(Outbox.sent_at),
            func.count(Outbox.dead_at),
            func.count(),
        )
        .where(Outbox.broadcast_id.in_([b.id for b in made]))
        .group_by(Outbox.broadcast_id)
    )
    found = {row[0]: (row[1], row[2], row[3]) for row in counts}
    shown = []
    for broadcast in made:
        sent, dead, total = found.get(broadcast.id, (0, 0, 0))
        shown.append(Progress(broadcast, sent, total - sent - dead, dead))
    return shown


async def cancel(uow: UnitOfWork, number: int, by: int | None, now: datetime) -> int | None:
    """Stop what is not yet sent of one's own announcement; returns how many were not sent,
    or None when there is no such announcement of theirs."""
    broadcast = await uow.session.get(Broadcast, number)
    if broadcast is None or broadcast.created_by != by:
        return None
    dropped = await uow.session.execute(
        delete(Outbox).where(
            Outbox.broadcast_id == number,
            Outbox.sent_at.is_(None),
            Outbox.sending_at.is_(None),
            Outbox.dead_at.is_(None),
        )
    )
    broadcast.cancelled_at = broadcast.cancelled_at or now
    return int(getattr(dropped, "rowcount", 0) or 0)


async def set_announcements(uow: UnitOfWork, person_id: int, on: bool, now: datetime) -> None:
    await uow.session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(announcements_off_at=None if on else now)
    )
