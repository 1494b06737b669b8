"""Reminders to members (campaign data `reminders:`, each can be turned off): a draft untouched
for 48 hours; unfinished drafts 7 days and 1 day before a phase closes; “cần bổ sung”
unanswered for 3 days. None between 21:00 and 07:00 in Vietnam, none to a person who turned
them off (/tatthongbao), none twice (reminder_sent, kept across restarts and workers); each
goes to the chat the person used last, behind every answer."""

from __future__ import annotations

import time as monotonic_time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.outbox import REMINDER
from bot.review import NEEDS_INFO
from bot.store.counters import day_of, insert_for
from bot.store.models import (
    ChannelIdentity,
    Conversation,
    Person,
    ReminderSent,
    Submission,
)
from bot.store.uow import CONSENTED, OWN_CONVERSATION, UnitOfWork
from rules.campaigns import TZ, Campaign, Phase
from rules.dates import format_date

QUIET_FROM, QUIET_UNTIL = time(21, 0), time(7, 0)
DRAFT_IDLE = timedelta(hours=48)
NEEDS_INFO_WAIT = timedelta(days=3)
# Looked at once, a day's worth: a draft idle 48 to 72 hours (the night's quiet hours and a
# restart fit in it); older ones were reminded, or the person has moved on.
WINDOW = timedelta(days=1)
PHASE_DAYS_BEFORE = (7, 1)
EVERY_SECONDS = 15 * 60.0  # how often the scans run (the job loop runs every minute)
TURN_OFF = "Không muốn nhận nhắc việc: /tatthongbao"


def quiet(now: datetime) -> bool:
    local = now.astimezone(TZ).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


@dataclass(slots=True)
class PeopleReminders:
    """Held by the job loop: runs the scans every EVERY_SECONDS, and a phase's scan once a
    day (it reads every draft of the phase)."""

    last_run: float = -1e9
    phases_done: set[tuple[str, int, str]] = field(default_factory=set)

    async def run(self, uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
        if monotonic_time.monotonic() - self.last_run < EVERY_SECONDS:
            return 0
        self.last_run = monotonic_time.monotonic()
        return await remind_people(uow, campaign, now, self.phases_done)


async def remind_people(
    uow: UnitOfWork,
    campaign: Campaign,
    now: datetime,
    phases_done: set[tuple[str, int, str]] | None = None,
) -> int:
    """Queue the reminders due now; returns how many were queued."""
    if quiet(now):
        return 0
    told = 0
    if "drafts" in campaign.reminders:
        told += await _idle_drafts(uow, now)
    if "phase_closing" in campaign.reminders:
        for phase, days in _closing(campaign, now):
            done = (phase.code, days, day_of(now).isoformat())
            if phases_done is None or done not in phases_done:
                told += await _phase_closing(uow, phase, days, now)
                if phases_done is not None:
                    phases_done.add(done)
    if "needs_info" in campaign.reminders:
        told += await _needs_info(uow, campaign, now)
    return told


def _closing(campaign: Campaign, now: datetime) -> Iterator[tuple[Phase, int]]:
    today = day_of(now)
    for phase in campaign.phases:
        last_day = day_of(phase.closes - timedelta(minutes=1))
        days = (last_day - today).days
        if days in PHASE_DAYS_BEFORE and phase.opens <= now:
            yield phase, days


def _reachable() -> Any:
    """People who consented on the chat and still take reminders."""
    return (
        select(Conversation.state, ChannelIdentity.person_id)
        .join(ChannelIdentity, OWN_CONVERSATION)
        .join(Person, Person.id == ChannelIdentity.person_id)
        .where(CONSENTED, Person.announcements_off_at.is_(None), Person.blocked_at.is_(None))
    )


async def first_time(
    uow: UnitOfWork, kind: str, subject: str, person_id: int, now: datetime
) -> bool:
    """True the first time (kind, subject, person) is asked for; False ever after, also in
    another worker or after a restart: every reminder, the award deadlines' too, asks here."""
    row = {"kind": kind, "subject": subject[:64], "person_id": person_id, "sent_at": now}
    first = await uow.session.execute(
        insert_for(uow.session)(ReminderSent)
        .values(**row)
        .on_conflict_do_nothing()
        .returning(ReminderSent.person_id)
    )
    return first.first() is not None


async def _tell(uow: UnitOfWork, person_id: int, text: str, now: datetime) -> int:
    payload = {"text": f"{text}\n{TURN_OFF}"}
    return int(await uow.outbox.to_last_chat(person_id, payload, now, REMINDER))


def _drafts(rows: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for state, person_id in rows:
        draft = (state or {}).get("draft")
        if isinstance(draft, dict) and draft.get("id") and person_id is not None:
            yield person_id, draft


def _titled(draft: dict[str, Any]) -> str:
    title = str(draft.get("title") or "").strip()
    return f" “{title[:80]}”" if title else ""


async def _idle_drafts(uow: UnitOfWork, now: datetime) -> int:
    idle_since = now - DRAFT_IDLE
    rows = await uow.session.execute(
        _reachable().where(
            Conversation.updated_at <= idle_since, Conversation.updated_at > idle_since - WINDOW
        )
    )
    told = 0
    for person_id, draft in _drafts(rows):
        if await first_time(uow, "draft_idle", str(draft["id"]), person_id, now):
            told += await _tell(
                uow,
                person_id,
                f"⏰ Bạn còn bản nháp sáng kiến{_titled(draft)} chưa gửi. Gửi /tieptuc để "
                "làm tiếp từ chỗ đã dừng; những gì bạn đã nhập vẫn được giữ.",
                now,
            )
    return told


async def _phase_closing(uow: UnitOfWork, phase: Phase, days: int, now: datetime) -> int:
    rows = await uow.session.execute(_reachable().where(Conversation.updated_at >= phase.opens))
    last_day = format_date(day_of(phase.closes - timedelta(minutes=1)))
    told = 0
    for person_id, draft in _drafts(rows):
        subject = f"{phase.code}:{days}"
        if await first_time(uow, "phase_closing", subject, person_id, now):
            told += await _tell(
                uow,
                person_id,
                f"⏰ {phase.name} nhận sáng kiến đến hết ngày {last_day}: còn {days} ngày. "
                f"Bạn còn bản nháp{_titled(draft)} chưa gửi: /tieptuc để làm tiếp.",
                now,
            )
    return told


async def _needs_info(uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
    waited_since = now - NEEDS_INFO_WAIT
    items = await uow.session.scalars(
        select(Submission)
        .join(Person, Person.id == Submission.person_id)
        .where(
            Submission.campaign == campaign.code,
            Submission.status == NEEDS_INFO,
            Submission.updated_at <= waited_since,
            Submission.updated_at > waited_since - WINDOW,
            Person.announcements_off_at.is_(None),
        )
    )
    told = 0
    for item in items:
        asked = item.updated_at or now
        if await first_time(
            uow, "needs_info", f"{item.id}:{asked:%Y%m%d%H%M}", item.person_id, now
        ):
            told += await _tell(
                uow,
                item.person_id,
                f"⏰ Sáng kiến {item.code} “{item.title[:80]}” đang chờ bạn bổ sung từ ngày "
                f"{format_date(day_of(asked))}. Xem ghi chú và bổ sung: /cuatoi.",
                now,
            )
    return told
