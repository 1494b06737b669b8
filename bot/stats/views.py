"""/stats as queries over stat_counter: a few thousand rows whatever the number of submissions.

Counts are kept per day, so a period counts exactly the days from its first to its last, as
the export does."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.counters import ALL, TOTAL, WITHDRAWN
from bot.store.models import Nomination, StatCounter, Submission
from rules.campaigns import Campaign, EmulationGroup
from rules.dates import format_date
from rules.units import CatalogVersion

FAR_PAST, FAR_FUTURE = date(2000, 1, 1), date(2100, 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    start: date | None = None
    end: date | None = None

    @property
    def bounds(self) -> tuple[date, date]:
        return self.start or FAR_PAST, self.end or FAR_FUTURE

    def span_text(self) -> str:
        """“từ 01/03/2022 đến 31/03/2022”, an open end said in words."""
        start = format_date(self.start) if self.start else "đầu chương trình"
        return f"từ {start} đến {format_date(self.end) if self.end else 'nay'}"

    def text(self) -> str:
        """The period as /stats names it: the whole programme when no date bounds it."""
        if self.start is None and self.end is None:
            return "toàn bộ chương trình"
        return self.span_text()


@dataclass(slots=True)
class ChildRow:
    code: str
    name: str
    total: int
    accepted: int


@dataclass(slots=True)
class Stats:
    campaign: Campaign
    scope: str
    scope_label: str
    period: Period
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)
    by_group: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_progress: dict[str, int] = field(default_factory=dict)  # per phase, invalid ones out
    by_week: list[tuple[date, int]] = field(default_factory=list)
    children: list[ChildRow] = field(default_factory=list)
    participants: int = 0
    target: int | None = None
    members: int | None = None
    nominated: dict[str, int] = field(default_factory=dict)  # award level -> nominations now

    @property
    def total(self) -> int:
        return sum(n for status, n in self.by_status.items() if status != WITHDRAWN)

    @property
    def toward_target(self) -> int:
        """What counts toward a target: every submission not withdrawn nor found invalid."""
        return sum(self.by_progress.values())

    @property
    def valid_rate(self) -> float | None:
        accepted = self.by_status.get("accepted", 0)
        reviewed = accepted + self.by_status.get("rejected", 0)
        return accepted / reviewed if reviewed else None


def week_floor(day: date) -> date:
    return day.fromordinal(day.toordinal() - day.weekday())


async def stats(
    session: AsyncSession, campaign: Campaign, catalog: CatalogVersion, scope: str, period: Period
) -> Stats:
    start, end = period.bounds
    every_day = (StatCounter.day >= start, StatCounter.day <= end)
    all_time = period.start is None and period.end is None
    day_range = (StatCounter.day == TOTAL,) if all_time else every_day
    label = catalog.scope_label(scope)
    result = Stats(campaign, scope, label, period)
    rows = await session.execute(
        select(StatCounter.dim, StatCounter.value, func.sum(StatCounter.n))
        .where(StatCounter.campaign == campaign.code, StatCounter.scope == scope, *day_range)
        .group_by(StatCounter.dim, StatCounter.value)
    )
    buckets = {
        "status": result.by_status,
        "phase": result.by_phase,
        "group": result.by_group,
        "type": result.by_type,
        "progress": result.by_progress,
    }
    for dim, value, n in rows:
        if dim == "people":
            result.participants = int(n)
        elif dim in buckets and n:
            buckets[dim][value] = int(n)
    days = await session.execute(
        select(StatCounter.day, func.sum(StatCounter.n))
        .where(
            StatCounter.campaign == campaign.code,
            StatCounter.scope == scope,
            StatCounter.dim == "status",
            StatCounter.value != WITHDRAWN,
            *every_day,
        )
        .group_by(StatCounter.day)
    )
    weekly: dict[date, int] = defaultdict(int)
    for day, n in days:
        weekly[week_floor(day)] += int(n)
    result.by_week = [(week, n) for week, n in sorted(weekly.items()) if n]
    result.children = await _children(session, campaign, catalog, scope, day_range)
    goal = campaign.goal(scope, catalog.absorbed.get(scope, ()))
    result.target = goal.target if goal and goal.target else _default_target(campaign, scope)
    result.members = goal.members if goal else None
    result.nominated = await _nominated(session, campaign, catalog, scope)
    return result


async def _nominated(
    session: AsyncSession, campaign: Campaign, catalog: CatalogVersion, scope: str
) -> dict[str, int]:
    """Nominations standing now at each award level, of the scope's initiatives (a season's
    state, not a period's: withdrawn ones are out)."""
    if not campaign.award_levels:
        return {}
    query = (
        select(Nomination.level, func.count())
        .join(Submission, Submission.id == Nomination.submission_id)
        .where(Nomination.campaign == campaign.code, Nomination.withdrawn_at.is_(None))
        .group_by(Nomination.level)
    )
    if scope != ALL:
        query = query.where(Submission.unit_code.in_(catalog.within(scope)))
    return {level: int(n) for level, n in await session.execute(query)}


def _default_target(campaign: Campaign, scope: str) -> int | None:
    if scope != ALL:
        return None
    targets = [p.target for p in campaign.phases if p.target]
    return sum(targets) if targets else None


async def _children(
    session: AsyncSession,
    campaign: Campaign,
    catalog: CatalogVersion,
    scope: str,
    day_range: tuple[ColumnElement[bool], ...],
) -> list[ChildRow]:
    if scope == ALL:
        codes = [code for kind in catalog.kinds for code in kind.roots]
    elif scope in catalog.units:
        codes = list(catalog.unit(scope).children)
    else:  # a unit of an older map, for a role granted there: no sub-units to rank
        return []
    if not codes:
        return []
    rows = await session.execute(
        select(StatCounter.scope, StatCounter.value, func.sum(StatCounter.n))
        .where(
            StatCounter.campaign == campaign.code,
            StatCounter.scope.in_(codes),
            StatCounter.dim == "status",
            *day_range,
        )
        .group_by(StatCounter.scope, StatCounter.value)
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, status, n in rows:
        if status != WITHDRAWN:
            totals[code][0] += int(n)
        if status == "accepted":
            totals[code][1] += int(n)
    # Every sub-unit, those with none too: they are the ones an officer must chase.
    ranked = [
        ChildRow(code, catalog.unit(code).name, totals[code][0], totals[code][1]) for code in codes
    ]
    if scope != ALL:
        direct = await _filed_at_the_unit_itself(session, campaign, scope, day_range, ranked)
        if direct.total:
            ranked.append(direct)
    return sorted(ranked, key=lambda row: (-row.total, row.name))


async def _filed_at_the_unit_itself(
    session: AsyncSession,
    campaign: Campaign,
    scope: str,
    day_range: tuple[ColumnElement[bool], ...],
    children: list[ChildRow],
) -> ChildRow:
    """What was filed at the unit, not at any of its sub-units: the unit's counts less theirs."""
    rows = await session.execute(
        select(StatCounter.value, func.sum(StatCounter.n))
        .where(
            StatCounter.campaign == campaign.code,
            StatCounter.scope == scope,
            StatCounter.dim == "status",
            *day_range,
        )
        .group_by(StatCounter.value)
    )
    total = accepted = 0
    for status, n in rows:
        if status != WITHDRAWN:
            total += int(n)
        if status == "accepted":
            accepted += int(n)
    total -= sum(row.total for row in children)
    accepted -= sum(row.accepted for row in children)
    return ChildRow(scope, "Nộp trực tiếp tại đơn vị", total, accepted)


@dataclass(slots=True)
class GroupRow:
    code: str
    name: str
    toward_target: int
    accepted: int
    participants: int
    target: int | None
    members: int | None

    @property
    def progress(self) -> float | None:
        return self.toward_target / self.target if self.target else None


def group_units(catalog: CatalogVersion, group: EmulationGroup) -> list[str]:
    """A group's units on the campaign's map: a group listed on the 2021 map ranks Bắc Ninh
    once for Bắc Giang and Bắc Ninh."""
    return list(dict.fromkeys(catalog.resolve(code) for code in group.units))


async def group_ranking(
    session: AsyncSession,
    campaign: Campaign,
    catalog: CatalogVersion,
    group: EmulationGroup,
    period: Period,
) -> list[GroupRow]:
    """The units of a cụm or khối thi đua, best first: by progress against their targets
    where every unit has one, else by the number that count toward a target."""
    start, end = period.bounds
    all_time = period.start is None and period.end is None
    days = (
        (StatCounter.day == TOTAL,)
        if all_time
        else (
            StatCounter.day >= start,
            StatCounter.day <= end,
        )
    )
    rows = await session.execute(
        select(StatCounter.scope, StatCounter.dim, StatCounter.value, func.sum(StatCounter.n))
        .where(
            StatCounter.campaign == campaign.code,
            StatCounter.scope.in_(group_units(catalog, group)),
            StatCounter.dim.in_(("progress", "status", "people")),
            *days,
        )
        .group_by(StatCounter.scope, StatCounter.dim, StatCounter.value)
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for scope, dim, value, n in rows:
        if dim == "status" and value != "accepted":
            continue
        counts[scope][dim] += int(n)
    ranked = []
    for code in group_units(catalog, group):
        goal = campaign.goal(code, catalog.absorbed.get(code, ()))
        ranked.append(
            GroupRow(
                code,
                catalog.unit(code).name if code in catalog.units else code,
                counts[code]["progress"],
                counts[code]["status"],
                counts[code]["people"],
                goal.target if goal else None,
                goal.members if goal else None,
            )
        )
    by_progress = all(row.target for row in ranked)
    return sorted(
        ranked,
        key=lambda row: (-(row.progress or 0) if by_progress else -row.toward_target, row.name),
    )
