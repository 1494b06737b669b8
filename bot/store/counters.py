"""Keeps stat_counter in step with submissions, inside the same transaction.

Every submission adds one to each dimension (status, phase, target group, solution type) for
its unit and every ancestor, plus the whole country ('*'), in the ISO week it was filed. A
status change moves one count between status values. /stats then reads a few hundred rows
instead of millions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Participation, StatCounter, Submission
from rules.campaigns import TZ
from rules.units import CatalogVersion

ALL = "*"
TOTAL = date(1, 1, 1)  # the "week" of the all-time rows, so /stats without a period reads few rows
WITHDRAWN = "withdrawn"
Key = tuple[str, str, date, str, str]  # campaign, scope, week, dim, value


def week_of(moment: datetime) -> date:
    day = moment.astimezone(TZ).date()
    return day - timedelta(days=day.weekday())


def scopes_of(catalog: CatalogVersion, unit_code: str) -> list[str]:
    if unit_code not in catalog.units:
        return [unit_code, ALL]
    return [unit.code for unit in catalog.path(unit_code)] + [ALL]


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _upserts() -> dict[str, Any]:
    """Per dialect, built once: a statement built per call is compiled per call."""
    statements = {}
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = insert(StatCounter)
        statements[name] = statement.on_conflict_do_update(
            index_elements=["campaign", "scope", "week", "dim", "value"],
            set_={"n": StatCounter.n + statement.excluded.n},
        )
    return statements


def _first_participations() -> dict[str, Any]:
    """Per dialect: insert (campaign, scope, person) rows, returning the scopes that were new."""
    return {
        name: insert(Participation).on_conflict_do_nothing().returning(Participation.scope)
        for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
    }


_UPSERT = _upserts()
_FIRST_PARTICIPATION = _first_participations()


async def bump(session: AsyncSession, deltas: Counter[Key]) -> None:
    """Add the deltas; rows are sorted so concurrent workers lock them in the same order."""
    rows = [
        {"campaign": k[0], "scope": k[1], "week": k[2], "dim": k[3], "value": k[4], "n": n}
        for k, n in sorted(deltas.items())
        if n
    ]
    if rows:
        await session.execute(_UPSERT[_dialect(session)], rows)


@dataclass(frozen=True, slots=True)
class Counted:
    """What the counters know of one submission."""

    campaign: str
    unit_code: str
    submitted_at: datetime
    status: str
    phase: str
    target_group: str
    solution_type: str

    @classmethod
    def of(cls, submission: Submission) -> Counted:
        return cls(
            submission.campaign,
            submission.unit_code,
            submission.submitted_at,
            submission.status,
            submission.phase,
            submission.target_group,
            submission.solution_type,
        )

    def items(self) -> list[tuple[str, str]]:
        # A withdrawn initiative leaves every breakdown; only its status row remembers it.
        if self.status == WITHDRAWN:
            return [("status", self.status)]
        return [
            ("status", self.status),
            ("phase", self.phase),
            ("group", self.target_group),
            ("type", self.solution_type),
        ]


def _deltas(catalog: CatalogVersion, counted: Counted, sign: int) -> Counter[Key]:
    return Counter(
        {
            (counted.campaign, scope, week, dim, value): sign
            for week in (week_of(counted.submitted_at), TOTAL)
            for scope in scopes_of(catalog, counted.unit_code)
            for dim, value in counted.items()
        }
    )


async def count_new(
    session: AsyncSession, catalog: CatalogVersion, submission: Submission
) -> None:
    counted = Counted.of(submission)
    deltas = _deltas(catalog, counted, +1)
    rows = [
        {"campaign": submission.campaign, "scope": scope, "person_id": submission.person_id}
        for scope in scopes_of(catalog, submission.unit_code)
    ]
    first = await session.execute(_FIRST_PARTICIPATION[_dialect(session)], rows)
    week = week_of(submission.submitted_at)
    for scope in first.scalars():
        deltas[(submission.campaign, scope, week, "people", "")] += 1
        deltas[(submission.campaign, scope, TOTAL, "people", "")] += 1
    await bump(session, deltas)


async def count_change(
    session: AsyncSession, catalog: CatalogVersion, before: Counted, submission: Submission
) -> None:
    """Move the counts of a submission from what it was (`before`) to what it is now."""
    deltas = _deltas(catalog, before, -1)
    deltas.update(_deltas(catalog, Counted.of(submission), +1))
    await bump(session, deltas)


async def rebuild(session: AsyncSession, catalog: CatalogVersion, campaign: str) -> int:
    """Recount a campaign from its submissions (after a bulk load or to repair)."""
    await session.execute(delete(StatCounter).where(StatCounter.campaign == campaign))
    await session.execute(delete(Participation).where(Participation.campaign == campaign))
    groups = await session.stream(
        select(
            Submission.unit_code,
            Submission.submitted_at,
            Submission.status,
            Submission.phase,
            Submission.target_group,
            Submission.solution_type,
        )
        .where(Submission.campaign == campaign)
        .execution_options(yield_per=50_000)
    )
    deltas: Counter[Key] = Counter()
    scope_cache: dict[str, list[str]] = {}
    async for unit, at, status, phase, group, kind in groups:
        scopes = scope_cache.get(unit) or scope_cache.setdefault(unit, scopes_of(catalog, unit))
        weeks = (week_of(at), TOTAL)
        items = [("status", status)]
        if status != WITHDRAWN:
            items += [("phase", phase), ("group", group), ("type", kind)]
        for scope in scopes:
            for dim, value in items:
                for week in weeks:
                    deltas[(campaign, scope, week, dim, value)] += 1
    await _rebuild_people(session, catalog, campaign, deltas, scope_cache)
    keys = sorted(deltas)
    for start in range(0, len(keys), 50_000):
        await bump(session, Counter({k: deltas[k] for k in keys[start : start + 50_000]}))
    return len(keys)


async def _rebuild_people(
    session: AsyncSession,
    catalog: CatalogVersion,
    campaign: str,
    deltas: Counter[Key],
    scope_cache: dict[str, list[str]],
) -> None:
    firsts = await session.execute(
        select(Submission.person_id, Submission.unit_code, func.min(Submission.submitted_at))
        .where(Submission.campaign == campaign)
        .group_by(Submission.person_id, Submission.unit_code)
    )
    first_by_scope: dict[tuple[int, str], datetime] = {}
    for person, unit, at in firsts:
        scopes = scope_cache.get(unit) or scope_cache.setdefault(unit, scopes_of(catalog, unit))
        for scope in scopes:
            known = first_by_scope.get((person, scope))
            if known is None or at < known:
                first_by_scope[(person, scope)] = at
    rows = [
        {"campaign": campaign, "scope": scope, "person_id": person}
        for (person, scope) in first_by_scope
    ]
    for start in range(0, len(rows), 50_000):
        await session.execute(_insert(session)(Participation), rows[start : start + 50_000])
    for (_person, scope), at in first_by_scope.items():
        deltas[(campaign, scope, week_of(at), "people", "")] += 1
        deltas[(campaign, scope, TOTAL, "people", "")] += 1
