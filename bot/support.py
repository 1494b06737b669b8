"""The support team's tool: tickets from askers, answers from helpers, on any channel."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.access import ADMIN, HELPER, Scope
from bot.store.models import Person, RelayMessage, SupportTicket, TicketMessage
from bot.store.uow import UnitOfWork
from rules.units import CatalogVersion

OPEN, CLAIMED, CLOSED = "open", "claimed", "closed"
ALL = "*"
_NUMBER = re.compile(r"^(?:ht)?-?0*(\d{1,9})$", re.IGNORECASE)


def ticket_code(ticket_id: int) -> str:
    return f"HT-{ticket_id:06d}"


def parse_ticket(text: str) -> int | None:
    match = _NUMBER.match(text.strip())
    return int(match.group(1)) if match else None


async def _helpers_for(
    uow: UnitOfWork, catalog: CatalogVersion, level: str
) -> tuple[str, list[int]]:
    """The nearest unit at or above `level` that has helpers, and those helpers; where no
    unit up the chain has any, the nearest admins (the whole country's if need be), so that a
    question always reaches someone who may answer it."""
    here = catalog.resolve(level)
    chain = [u.code for u in reversed(catalog.path(here))] if here in catalog.units else []
    if level != here:  # asked before the map changed: that unit's helpers first
        chain.insert(0, level)
    for role in (HELPER, ADMIN):
        grants = await uow.roles.holders(role)
        for unit in [*chain, ALL]:
            people = sorted({g.person_id for g in grants if g.unit_code == unit})
            if people:
                return unit, people
    return ALL, []


async def notify_helpers(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    ticket: SupportTicket,
    text: str,
    now: datetime,
    groups: dict[str, str],
) -> int:
    unit, helpers = await _helpers_for(uow, catalog, ticket.level)
    payload = {"text": text, "ticket": ticket.id}
    count = 0
    for person_id in helpers:
        count += await uow.outbox.to_person(person_id, payload, now)
    if group := groups.get(ticket.level) or groups.get(unit):
        await uow.outbox.to_chat("telegram", group, payload, now)
        count += 1
    return count


async def open_ticket(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    person: Person,
    question: str,
    context: str | None,
    now: datetime,
    groups: dict[str, str],
) -> tuple[SupportTicket, int]:
    """The new ticket, and how many chats were told of it (0: nobody can answer yet)."""
    unit = catalog.resolve(person.unit_code or ALL)
    unit = unit if unit in catalog.units else ALL
    ticket = SupportTicket(
        person_id=person.id,
        unit_code=unit or ALL,
        level=unit or ALL,
        status=OPEN,
        context=context,
        created_at=now,
    )
    uow.session.add(ticket)
    await uow.session.flush()
    uow.session.add(
        TicketMessage(
            ticket_id=ticket.id, person_id=person.id, from_helper=False, text=question, at=now
        )
    )
    where = catalog.scope_label(ticket.unit_code)
    lines = [f"🆘 Câu hỏi {ticket_code(ticket.id)} – đơn vị: {where}"]
    if context:
        lines.append(f"Người hỏi đang ở: {context}")
    lines += [
        f"“{question}”",
        f"Trả lời: /tl {ticket_code(ticket.id)} <nội dung> (hoặc trả lời "
        "tin này trên Telegram) · /nhan để nhận xử lý · /dong để đóng.",
    ]
    reached = await notify_helpers(uow, catalog, ticket, "\n".join(lines), now, groups)
    uow.audit.record(now, "ticket.opened", person_id=person.id, subject=ticket_code(ticket.id))
    return ticket, reached


async def get_visible(
    uow: UnitOfWork, catalog: CatalogVersion, scope: Scope, ticket_id: int
) -> SupportTicket | None:
    """The ticket if the helper's scope covers the asker's unit; None for unknown or forbidden."""
    ticket = await uow.session.get(SupportTicket, ticket_id)
    if ticket is None:
        return None
    if scope.everything or (ticket.unit_code != ALL and scope.covers(catalog, ticket.unit_code)):
        return ticket
    return None


async def answer(
    uow: UnitOfWork, ticket: SupportTicket, helper_id: int, text: str, now: datetime
) -> None:
    uow.session.add(
        TicketMessage(
            ticket_id=ticket.id, person_id=helper_id, from_helper=True, text=text, at=now
        )
    )
    if ticket.first_reply_at is None:
        ticket.first_reply_at = now
    if ticket.status == OPEN:
        ticket.status, ticket.claimed_by = CLAIMED, helper_id
    code = ticket_code(ticket.id)
    await uow.outbox.to_person(
        ticket.person_id,
        {
            "text": (
                f"💬 Tổ hỗ trợ trả lời câu hỏi {code}:\n{text}\n\n"
                "Muốn hỏi thêm, gõ /hotro rồi nhắn tiếp; câu hỏi vẫn thuộc phiếu này."
            )
        },
        now,
    )


async def follow_up(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    ticket: SupportTicket,
    person: Person,
    text: str,
    now: datetime,
    groups: dict[str, str],
) -> None:
    uow.session.add(
        TicketMessage(
            ticket_id=ticket.id, person_id=person.id, from_helper=False, text=text, at=now
        )
    )
    message = f"↪ Người hỏi {ticket_code(ticket.id)} nhắn thêm:\n“{text}”"
    if ticket.claimed_by is not None:
        await uow.outbox.to_person(ticket.claimed_by, {"text": message, "ticket": ticket.id}, now)
    else:
        await notify_helpers(uow, catalog, ticket, message, now, groups)


async def close(uow: UnitOfWork, ticket: SupportTicket, by: int, now: datetime) -> None:
    ticket.status, ticket.closed_at = CLOSED, now
    uow.audit.record(now, "ticket.closed", person_id=by, subject=ticket_code(ticket.id))
    if by != ticket.person_id:
        await uow.outbox.to_person(
            ticket.person_id,
            {"text": (f"Câu hỏi {ticket_code(ticket.id)} đã được đóng. Cần hỏi thêm, gõ /hotro.")},
            now,
        )


async def open_of_person(uow: UnitOfWork, person_id: int) -> SupportTicket | None:
    return (
        await uow.session.execute(
            select(SupportTicket)
            .where(SupportTicket.person_id == person_id, SupportTicket.status != CLOSED)
            .order_by(SupportTicket.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def open_in_scope(
    uow: UnitOfWork, catalog: CatalogVersion, scope: Scope, limit: int = 20
) -> list[SupportTicket]:
    query = select(SupportTicket).where(SupportTicket.status != CLOSED)
    units = scope.units(catalog)
    if units is not None:
        query = query.where(SupportTicket.unit_code.in_(units))
    rows = await uow.session.execute(query.order_by(SupportTicket.id).limit(limit))
    return list(rows.scalars())


async def relayed(uow: UnitOfWork, channel: str, chat_id: str, message_id: str) -> int | None:
    return await uow.session.scalar(
        select(RelayMessage.ticket_id).where(
            RelayMessage.channel == channel,
            RelayMessage.chat_id == chat_id,
            RelayMessage.message_id == message_id,
        )
    )


async def escalate_overdue(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    now: datetime,
    after: timedelta,
    groups: dict[str, str],
) -> int:
    """Move unanswered tickets one level up once they waited `after` at their level."""
    rows = await uow.session.execute(
        select(SupportTicket).where(
            SupportTicket.status == OPEN,
            SupportTicket.first_reply_at.is_(None),
            SupportTicket.level != ALL,
        )
    )
    moved = 0
    for ticket in rows.scalars():
        since = ticket.escalated_at or ticket.created_at
        if now - since < after:
            continue
        current, _helpers = await _helpers_for(uow, catalog, ticket.level)
        parent = (
            catalog.unit(current).parent
            if current in catalog.units
            else catalog.legacy.get(current)  # asked on an older map: on to its unit now
        )
        ticket.level, ticket.escalated_at = parent or ALL, now
        question = await uow.session.scalar(
            select(TicketMessage.text)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.id)
            .limit(1)
        )
        text = (
            f"⏫ Câu hỏi {ticket_code(ticket.id)} chưa được trả lời sau "
            f"{int(after.total_seconds() // 60)} phút, chuyển lên cấp trên:\n“{question}”\n"
            f"Trả lời: /tl {ticket_code(ticket.id)} <nội dung>"
        )
        await notify_helpers(uow, catalog, ticket, text, now, groups)
        uow.audit.record(
            now, "ticket.escalated", subject=ticket_code(ticket.id), detail={"level": ticket.level}
        )
        moved += 1
    return moved
