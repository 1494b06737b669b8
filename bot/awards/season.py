"""Nominating accepted initiatives at the campaign's award levels, within each level's quota
for a top unit (a province, a central union) and before its deadline; checked here for the
chat (/khenthuong, the review card) and for the secretariat's command line alike."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from bot.access import ADMIN, OFFICER, Scope
from bot.review import ACCEPTED
from bot.store.models import AwardReopening, Dispute, Nomination, Submission
from bot.store.uow import UnitOfWork
from rules.awards import AwardLevel
from rules.campaigns import TZ, Campaign
from rules.dates import format_date
from rules.units import WHOLE_COUNTRY, CatalogVersion
from rules.verdict import Ok, Rejected, Verdict

NOMINATORS = frozenset({OFFICER, ADMIN})
DISPUTE_NAMES = {
    "khieu_nai": "khiếu nại về nội dung hoặc việc công nhận",
    "tranh_chap": "tranh chấp quyền tác giả",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a person through their roles, or the operator (scope None: everything)."""

    person_id: int | None
    scope: Scope | None
    channel: str

    def covers(self, catalog: CatalogVersion, unit: str, roles: frozenset[str]) -> bool:
        return self.scope is None or self.scope.holds(catalog, unit, roles)


def top_unit(catalog: CatalogVersion, unit_code: str) -> str:
    """The province, central union or corporation union a filing counts for."""
    here = catalog.resolve(unit_code)
    return catalog.path(here)[0].code if here in catalog.units else unit_code


def level_named(campaign: Campaign, code: str) -> Verdict[AwardLevel]:
    level = campaign.award_level(code.strip().lower())
    if level is not None:
        return Ok(level)
    if not campaign.award_levels:
        return Rejected("Chương trình này chưa có cấp khen thưởng nào.")
    known = "; ".join(f"{lv.code} ({lv.name})" for lv in campaign.award_levels)
    return Rejected(f"Không có cấp khen thưởng “{code[:20]}”. Có: {known}.")


async def closed_for(
    uow: UnitOfWork, campaign: Campaign, level: AwardLevel, top: str, now: datetime
) -> str | None:
    """Why the level takes no more nominations for this top unit, or None while open."""
    closes = level.closes()
    if closes is None or now < closes:
        return None
    today = now.astimezone(TZ).date()
    reopened = await uow.session.scalar(
        select(func.max(AwardReopening.until)).where(
            AwardReopening.campaign == campaign.code,
            AwardReopening.level == level.code,
            AwardReopening.top_unit.in_((top, WHOLE_COUNTRY)),
        )
    )
    if reopened is not None and reopened >= today:
        return None
    assert level.deadline is not None
    return (
        f"Cấp “{level.name}” đã hết hạn nộp hồ sơ ngày {format_date(level.deadline)}. "
        "Quản trị viên có thể mở lại, kèm lý do."
    )


async def open_dispute(uow: UnitOfWork, submission_id: int) -> Dispute | None:
    return await uow.session.scalar(
        select(Dispute)
        .where(Dispute.submission_id == submission_id, Dispute.lifted_at.is_(None))
        .limit(1)
    )


async def active(uow: UnitOfWork, campaign: str, submission_id: int) -> list[Nomination]:
    rows = await uow.session.scalars(
        select(Nomination).where(
            Nomination.campaign == campaign,
            Nomination.submission_id == submission_id,
            Nomination.withdrawn_at.is_(None),
        )
    )
    return list(rows)


def quota_lock(campaign: str, level: str, top: str) -> int:
    """The PostgreSQL advisory lock that queues nominations at one level for one top unit."""
    name = f"award:{campaign}:{level}:{top}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


async def used(uow: UnitOfWork, campaign: str, level: str, top: str) -> int:
    """The level's active nominations for a top unit, holding the count until this
    transaction ends: two officers nominating at once would otherwise both take the last
    place. SQLite's BEGIN IMMEDIATE queues them already; PostgreSQL queues them on a lock
    named after the campaign, the level and the top unit."""
    session = uow.session
    if session.get_bind().dialect.name == "postgresql":
        lock = quota_lock(campaign, level, top)
        await session.execute(select(func.pg_advisory_xact_lock(lock)))
    found = await session.scalar(
        select(func.count())
        .select_from(Nomination)
        .where(
            Nomination.campaign == campaign,
            Nomination.level == level,
            Nomination.top_unit == top,
            Nomination.withdrawn_at.is_(None),
        )
    )
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class Request:
    campaign: Campaign
    catalog: CatalogVersion
    level: AwardLevel
    item: Submission
    actor: Actor
    now: datetime


async def nominate(uow: UnitOfWork, request: Request, criterion: int | None) -> Verdict[str]:
    """Nominate the item at the level, or say in one line why not."""
    campaign, level, item, actor = request.campaign, request.level, request.item, request.actor
    top = top_unit(request.catalog, item.unit_code)
    refused = await _refusal(uow, request, top, criterion)
    if refused is not None:
        return Rejected(refused)
    taken = await used(uow, campaign.code, level.code, top)
    if level.quota is not None and taken >= level.quota:
        return Rejected(
            f"{request.catalog.describe(top)} đã đề nghị đủ {level.quota}/{level.quota} sáng "
            f"kiến ở cấp “{level.name}”, mức tối đa. Rút một đề nghị trước nếu muốn đề nghị "
            "sáng kiến này."
        )
    uow.session.add(
        Nomination(
            campaign=campaign.code,
            level=level.code,
            submission_id=item.id,
            top_unit=top,
            criterion=criterion if level.criteria else None,
            nominated_by=actor.person_id,
            nominated_at=request.now,
        )
    )
    uow.audit.record(
        request.now,
        "award.nominated",
        person_id=actor.person_id,
        channel=actor.channel,
        subject=item.code,
        detail={"level": level.code, "criterion": criterion, "top_unit": top},
    )
    quota = f"/{level.quota}" if level.quota is not None else ""
    said = f"Đã đề nghị {item.code} ở cấp “{level.name}” ({taken + 1}{quota} của đơn vị)."
    if chosen := level.criterion(criterion):
        said += f" Tiêu chí: {chosen}."
    return Ok(said)


async def _refusal(
    uow: UnitOfWork, request: Request, top: str, criterion: int | None
) -> str | None:
    level, item, catalog = request.level, request.item, request.catalog
    if not request.actor.covers(catalog, top, NOMINATORS):
        return (
            f"Đề nghị khen thưởng cấp “{level.name}” do cán bộ của "
            f"{catalog.describe(top)} thực hiện; phạm vi của bạn chưa đến cấp đó."
        )
    if item.person_id == request.actor.person_id:
        return "Đây là sáng kiến của bạn: người khác trong đơn vị đề nghị, bạn không tự đề nghị."
    if item.status != ACCEPTED:
        return f"Chỉ sáng kiến hợp lệ mới được đề nghị khen thưởng; {item.code} chưa hợp lệ."
    if dispute := await open_dispute(uow, item.id):
        return (
            f"{item.code} đang có {DISPUTE_NAMES.get(dispute.kind, dispute.kind)}: chưa đề nghị "
            "khen thưởng được cho đến khi gỡ đánh dấu."
        )
    if closed := await closed_for(uow, request.campaign, level, top, request.now):
        return closed
    nominated = {n.level for n in await active(uow, request.campaign.code, item.id)}
    if level.code in nominated:
        return f"{item.code} đã được đề nghị ở cấp “{level.name}” rồi."
    if level.below is not None and level.below not in nominated:
        below = request.campaign.award_level(level.below)
        return (
            f"Cấp “{level.name}” chọn trong các sáng kiến đã được đề nghị ở cấp "
            f"“{below.name if below else level.below}”; {item.code} chưa được đề nghị ở cấp đó."
        )
    if level.criteria and level.criterion(criterion) is None:
        listed = "; ".join(f"{n}. {c}" for n, c in enumerate(level.criteria, 1))
        return (
            f"Cấp “{level.name}” cần chọn một tiêu chí: {listed}. Gửi lại kèm số tiêu chí, "
            f"ví dụ: /khenthuong {level.code} {item.code} 1"
        )
    return None


def said(verdict: Verdict[str]) -> str:
    """What a person is told: the result, or why not."""
    return verdict.message if isinstance(verdict, Rejected) else verdict.value


async def nominate_or_withdraw(
    uow: UnitOfWork, request: Request, *, withdrawing: bool, criterion: int | None, via: str
) -> str:
    """The chat's two ways in (the review card, /khenthuong): `via` says which, for the
    withdrawn row's reason."""
    if withdrawing:
        return said(await withdraw(uow, request, f"rút {via}"))
    return said(await nominate(uow, request, criterion))


async def withdraw(uow: UnitOfWork, request: Request, reason: str) -> Verdict[str]:
    """Take a nomination back (withdrawn rows stay, with who and why)."""
    level, item, actor = request.level, request.item, request.actor
    top = top_unit(request.catalog, item.unit_code)
    if not actor.covers(request.catalog, top, NOMINATORS):
        return Rejected(f"Rút đề nghị cấp “{level.name}” do cán bộ của đơn vị cấp tỉnh, ngành.")
    found = [n for n in await active(uow, request.campaign.code, item.id) if n.level == level.code]
    if not found:
        return Rejected(f"{item.code} chưa được đề nghị ở cấp “{level.name}”.")
    if closed := await closed_for(uow, request.campaign, level, top, request.now):
        return Rejected(closed)
    end(found, actor.person_id, request.now, reason)
    uow.audit.record(
        request.now,
        "award.withdrawn",
        person_id=actor.person_id,
        channel=actor.channel,
        subject=item.code,
        detail={"level": level.code, "reason": reason},
    )
    return Ok(f"Đã rút đề nghị {item.code} ở cấp “{level.name}”.")


def end(nominations: list[Nomination], by: int | None, now: datetime, reason: str) -> None:
    for nomination in nominations:
        nomination.withdrawn_at, nomination.withdrawn_by = now, by
        nomination.withdraw_reason = reason


@dataclass(frozen=True, slots=True)
class Reopening:
    campaign: Campaign
    catalog: CatalogVersion
    level: AwardLevel
    top: str  # a top unit, or * for every one
    until: date
    reason: str


async def reopen(uow: UnitOfWork, asked: Reopening, actor: Actor, now: datetime) -> Verdict[str]:
    """An admin (or the operator) reopens a level past its deadline for a top unit."""
    level, catalog, top, reason, until = (
        asked.level,
        asked.catalog,
        asked.top,
        asked.reason,
        asked.until,
    )
    if not actor.covers(catalog, top, frozenset({ADMIN})):
        return Rejected("Chỉ quản trị viên của đơn vị mở lại được hạn khen thưởng.")
    if len(reason.strip()) < 5:
        return Rejected("Cần ghi lý do mở lại (ít nhất 5 ký tự).")
    uow.session.add(
        AwardReopening(
            campaign=asked.campaign.code,
            level=level.code,
            top_unit=top,
            until=until,
            reason=reason.strip(),
            reopened_by=actor.person_id,
            reopened_at=now,
        )
    )
    uow.audit.record(
        now,
        "award.reopened",
        person_id=actor.person_id,
        channel=actor.channel,
        subject=f"{level.code}@{top}",
        detail={"until": until.isoformat(), "reason": reason.strip()},
    )
    return Ok(
        f"Đã mở lại cấp “{level.name}” cho {catalog.describe(top)} đến hết ngày "
        f"{format_date(until)}."
    )


async def status_lines(
    uow: UnitOfWork,
    campaign: Campaign,
    catalog: CatalogVersion,
    tops: list[str] | None,
    now: datetime,
) -> list[str]:
    """Per level: nominated/quota per top unit (those given; None: every one with some), the
    deadline and whether it is open, and the initiatives nominated."""
    if not campaign.award_levels:
        return ["Chương trình này chưa có cấp khen thưởng nào."]
    query = (
        select(Nomination.level, Nomination.top_unit, Nomination.criterion, Submission)
        .join(Submission, Submission.id == Nomination.submission_id)
        .where(Nomination.campaign == campaign.code, Nomination.withdrawn_at.is_(None))
        .order_by(Nomination.level, Nomination.top_unit, Nomination.id)
    )
    if tops is not None:
        query = query.where(Nomination.top_unit.in_(tops))
    rows = (await uow.session.execute(query)).all()
    lines = []
    for level in campaign.award_levels:
        mine = [row for row in rows if row[0] == level.code]
        units = tops if tops is not None else sorted({row[1] for row in mine})
        deadline = f"hạn {format_date(level.deadline)}" if level.deadline else "không đặt hạn"
        lines.append(f"🏅 {level.name} ({deadline}):")
        for top in units:
            listed = [row for row in mine if row[1] == top]
            quota = f"/{level.quota}" if level.quota is not None else ""
            closed = await closed_for(uow, campaign, level, top, now)
            state = "đã hết hạn" if closed else "đang mở"
            lines.append(f"  {catalog.describe(top)}: {len(listed)}{quota}, {state}")
            for _level, _top, criterion, item in listed:
                chosen = level.criterion(criterion)
                lines.append(
                    f"    • {item.code} {item.title}" + (f" [{chosen}]" if chosen else "")
                )
        if not units:
            lines.append("  chưa có đề nghị nào")
    return lines
