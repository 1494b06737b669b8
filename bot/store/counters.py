"""Keeps stat_counter in step with submissions, inside the same transaction.

Every submission adds one to each dimension (status, phase, target group, solution type) for
its unit and every ancestor, plus the whole country ('*'), on the day it was filed (Vietnam
time) and on the all-time row. A status change moves one count between status values. /stats
then reads a few thousand rows instead of millions, and any period of whole days, a month or
a quarter counts exactly the submissions the export lists for it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from typing import Any

import sqlalchemy
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import CoAuthorParticipation, Participation, StatCounter, Submission
from rules.campaigns import TZ
from rules.text import fold
from rules.units import WHOLE_COUNTRY, Catalog, CatalogVersion

ALL = WHOLE_COUNTRY
TOTAL = date(1, 1, 1)  # the "day" of the all-time rows, so /stats without a period reads few rows
WITHDRAWN, REJECTED = "withdrawn", "rejected"
Key = tuple[str, str, date, str, str]  # campaign, scope, day, dim, value


def day_of(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def scopes_of(catalog: CatalogVersion, unit_code: str) -> list[str]:
    """The counters a filing at a unit adds to: its unit in this catalog (where a unit of an
    older map became part of one: Bắc Giang t24 counts for Bắc Ninh n24), every ancestor,
    the units it stood under on the older map, and the whole country."""
    return catalog.lineage(unit_code)


def insert_for(session: AsyncSession) -> Any:
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _upserts() -> dict[str, Any]:
    """Per dialect, built once: a statement built per call is compiled per call."""
    statements = {}
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = insert(StatCounter)
        statements[name] = statement.on_conflict_do_update(
            index_elements=["campaign", "scope", "day", "dim", "value"],
            set_={"n": StatCounter.n + statement.excluded.n},
        )
    return statements


def _first_participations(table: Any) -> dict[str, Any]:
    """Per dialect: insert (campaign, scope, who) rows, returning the (campaign, scope) of
    those that were new."""
    return {
        name: insert(table).on_conflict_do_nothing().returning(table.campaign, table.scope)
        for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
    }


_UPSERT = _upserts()
_FIRST_PARTICIPATION = _first_participations(Participation)
_FIRST_CO_AUTHOR = _first_participations(CoAuthorParticipation)


def co_author_key(co_author: dict[str, Any]) -> str:
    """One co-author across submissions: the folded name and the birth year."""
    named = f"{fold(str(co_author.get('name', '')))}|{co_author.get('birth_year', '')}"
    return hashlib.sha256(named.encode()).hexdigest()[:40]


async def bump(session: AsyncSession, deltas: Counter[Key]) -> None:
    """Add the deltas; rows are sorted so concurrent workers lock them in the same order."""
    rows = [
        {"campaign": k[0], "scope": k[1], "day": k[2], "dim": k[3], "value": k[4], "n": n}
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
        counted = [
            ("status", self.status),
            ("phase", self.phase),
            ("group", self.target_group),
            ("type", self.solution_type),
        ]
        # Progress against a target counts what is not (yet) found invalid.
        if self.status != REJECTED:
            counted.append(("progress", self.phase))
        return counted


def _deltas(catalog: CatalogVersion, counted: Counted, sign: int) -> Counter[Key]:
    return Counter(
        {
            (counted.campaign, scope, day, dim, value): sign
            for day in (day_of(counted.submitted_at), TOTAL)
            for scope in scopes_of(catalog, counted.unit_code)
            for dim, value in counted.items()
        }
    )


async def count_new(
    session: AsyncSession, catalog: CatalogVersion, submissions: Sequence[Submission]
) -> None:
    """Count new filings: one statement for their authors' first participations, one for
    their co-authors', one for the counters, however many they are."""
    deltas: Counter[Key] = Counter()
    for day, filed in groupby(submissions, key=lambda s: day_of(s.submitted_at)):
        firsts: set[tuple[Any, ...]] = set()
        co_authors: set[tuple[Any, ...]] = set()
        for submission in filed:
            deltas.update(_deltas(catalog, Counted.of(submission), +1))
            scopes = scopes_of(catalog, submission.unit_code)
            firsts.update((submission.campaign, s, submission.person_id) for s in scopes)
            co_authors.update(
                (submission.campaign, s, co_author_key(co_author))
                for co_author in submission.co_authors or []
                for s in scopes
            )
        new_scopes = await _first(session, _FIRST_PARTICIPATION, "person_id", firsts)
        new_scopes += await _first(session, _FIRST_CO_AUTHOR, "who", co_authors)
        for campaign, scope in new_scopes:
            deltas[(campaign, scope, day, "people", "")] += 1
            deltas[(campaign, scope, TOTAL, "people", "")] += 1
    await bump(session, deltas)


async def _first(
    session: AsyncSession,
    statements: dict[str, Any],
    who: str,
    keys: set[tuple[Any, ...]],
) -> list[tuple[str, str]]:
    """Insert (campaign, scope, who) rows, in one order for every worker (their row locks
    are then taken in that order); the (campaign, scope) of those that were new."""
    if not keys:
        return []
    rows = [{"campaign": c, "scope": s, who: w} for c, s, w in sorted(keys, key=str)]
    return [(c, s) for c, s in (await session.execute(statements[_dialect(session)], rows))]


async def count_change(
    session: AsyncSession, catalog: CatalogVersion, before: Counted, submission: Submission
) -> None:
    """Move the counts of a submission from what it was (`before`) to what it is now."""
    deltas = _deltas(catalog, before, -1)
    deltas.update(_deltas(catalog, Counted.of(submission), +1))
    await bump(session, deltas)


@dataclass(slots=True)
class Tally:
    """The counters of a campaign recounted from its submissions: fed row by row (by the
    async `rebuild` and by the migration that moved the counters to days)."""

    catalog: CatalogVersion
    campaign: str
    deltas: Counter[Key] = field(default_factory=Counter)
    _firsts: dict[tuple[int | str, str], datetime] = field(default_factory=dict)

    def add(self, unit: str, at: datetime, status: str, phase: str, group: str, kind: str) -> None:
        items = Counted(self.campaign, unit, at, status, phase, group, kind).items()
        for scope in scopes_of(self.catalog, unit):
            for dim, value in items:
                for day in (day_of(at), TOTAL):
                    self.deltas[(self.campaign, scope, day, dim, value)] += 1

    def add_first(self, person: int | str, unit: str, at: datetime) -> None:
        """A person's (or a co-author's key's) first filing at a unit: they take part from
        then on, there and above."""
        for scope in scopes_of(self.catalog, unit):
            known = self._firsts.get((person, scope))
            if known is None or at < known:
                self._firsts[(person, scope)] = at

    def add_co_authors(
        self, co_authors: list[dict[str, Any]] | None, unit: str, at: datetime
    ) -> None:
        for co_author in co_authors or []:
            self.add_first(co_author_key(co_author), unit, at)

    def participations(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The participation rows of people and of co-authors; counts them all into
        `deltas` on their first day."""
        for (_who, scope), at in self._firsts.items():
            self.deltas[(self.campaign, scope, day_of(at), "people", "")] += 1
            self.deltas[(self.campaign, scope, TOTAL, "people", "")] += 1
        people = [
            {"campaign": self.campaign, "scope": scope, "person_id": who}
            for (who, scope) in self._firsts
            if isinstance(who, int)
        ]
        co_authors = [
            {"campaign": self.campaign, "scope": scope, "who": who}
            for (who, scope) in self._firsts
            if isinstance(who, str)
        ]
        return people, co_authors

    def counter_rows(self, chunk: int = 50_000) -> Iterator[list[dict[str, Any]]]:
        rows = [
            {"campaign": k[0], "scope": k[1], "day": k[2], "dim": k[3], "value": k[4], "n": n}
            for k, n in sorted(self.deltas.items())
            if n
        ]
        for start in range(0, len(rows), chunk):
            yield rows[start : start + chunk]


SUBMISSION_COUNTED = (
    Submission.unit_code,
    Submission.submitted_at,
    Submission.status,
    Submission.phase,
    Submission.target_group,
    Submission.solution_type,
)


def firsts_query(campaign: str) -> Any:
    return (
        select(Submission.person_id, Submission.unit_code, func.min(Submission.submitted_at))
        .where(Submission.campaign == campaign)
        .group_by(Submission.person_id, Submission.unit_code)
    )


def co_authors_query(campaign: str) -> Any:
    return select(Submission.co_authors, Submission.unit_code, Submission.submitted_at).where(
        Submission.campaign == campaign, Submission.co_authors.is_not(None)
    )


def latest_catalogs(connection: Any) -> dict[str, str]:
    """Each campaign's catalog as its latest filing names it: the one it runs on."""
    latest = (
        select(Submission.campaign, func.max(Submission.id).label("id"))
        .group_by(Submission.campaign)
        .subquery()
    )
    return dict(
        connection.execute(
            select(Submission.campaign, Submission.catalog).join(
                latest, Submission.id == latest.c.id
            )
        ).all()
    )


def recount_all(connection: Any, catalog: Catalog, *, co_authors: bool = True) -> None:
    """Recount every campaign's counters on a plain (sync) connection, as migrations do;
    `catalog` is the whole unit catalog; each campaign is counted in the version its latest
    filing names. `co_authors=False` for the migrations before co-authors counted (0015)."""
    campaigns = latest_catalogs(connection)
    if not campaigns:
        return
    connection.execute(delete(StatCounter))
    connection.execute(delete(Participation))
    if co_authors:
        connection.execute(delete(CoAuthorParticipation))
    for campaign, version in campaigns.items():
        tally = Tally(catalog.version(version), campaign)
        counted = select(*SUBMISSION_COUNTED).where(Submission.campaign == campaign)
        for row in connection.execute(counted):
            tally.add(*row)
        for person, unit, at in connection.execute(firsts_query(campaign)):
            tally.add_first(person, unit, at)
        if co_authors:
            for named, unit, at in connection.execute(co_authors_query(campaign)):
                tally.add_co_authors(named, unit, at)
        people, named_ones = tally.participations()
        if people:
            connection.execute(sqlalchemy.insert(Participation), people)
        if named_ones:
            connection.execute(sqlalchemy.insert(CoAuthorParticipation), named_ones)
        for chunk in tally.counter_rows():
            connection.execute(sqlalchemy.insert(StatCounter), chunk)


async def rebuild(session: AsyncSession, catalog: CatalogVersion, campaign: str) -> int:
    """Recount a campaign from its submissions (after a bulk load or to repair)."""
    await session.execute(delete(StatCounter).where(StatCounter.campaign == campaign))
    await session.execute(delete(Participation).where(Participation.campaign == campaign))
    await session.execute(
        delete(CoAuthorParticipation).where(CoAuthorParticipation.campaign == campaign)
    )
    tally = Tally(catalog, campaign)
    rows = await session.stream(
        select(*SUBMISSION_COUNTED)
        .where(Submission.campaign == campaign)
        .execution_options(yield_per=50_000)
    )
    async for row in rows:
        tally.add(*row)
    for person, unit, at in await session.execute(firsts_query(campaign)):
        tally.add_first(person, unit, at)
    for named, unit, at in await session.execute(co_authors_query(campaign)):
        tally.add_co_authors(named, unit, at)
    people, named_ones = tally.participations()
    for table, found in ((Participation, people), (CoAuthorParticipation, named_ones)):
        for start in range(0, len(found), 50_000):
            await session.execute(insert_for(session)(table), found[start : start + 50_000])
    written = 0
    for chunk in tally.counter_rows():
        await session.execute(_UPSERT[_dialect(session)], chunk)
        written += len(chunk)
    return written
