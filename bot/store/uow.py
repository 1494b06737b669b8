"""The unit of work: one transaction per update, repositories over its session."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store import jsontext
from bot.store.models import (
    Attachment,
    AuditLog,
    Base,
    ChannelIdentity,
    Consent,
    Conversation,
    FailedAttempt,
    LinkCode,
    Outbox,
    Person,
    RoleClaim,
    RoleGrant,
    StatusChange,
    Submission,
)
from bot.store.writer import WriterLock
from rules.similar import fingerprint

# Wrong guesses a link or claim code survives; then it is burnt and its owner makes a new one.
MAX_CODE_FAILURES = 5
# Role claim secrets: 12 letters and digits without look-alikes (0/O, 1/I/L), 60 bits.
CLAIM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CLAIM_SECRET_LENGTH = 12


def _digest(code: str) -> str:
    """Link and claim codes are kept only as their SHA-256."""
    return hashlib.sha256(code.encode()).hexdigest()


class VersionConflict(Exception):
    """Another worker wrote the conversation first; the caller retries."""


# The statements run on every update, built once: building them costs more than running them.
_LOAD_CONVERSATION = (
    select(Conversation.state, Conversation.version)
    .where(Conversation.channel == bindparam("channel"), Conversation.chat_id == bindparam("chat"))
    # PostgreSQL queues other workers on this chat until we commit; SQLite's BEGIN IMMEDIATE
    # already serialises writers. The version check stays the guard.
    .with_for_update()
)
_SAVE_CONVERSATION = (
    update(Conversation)
    .where(
        Conversation.channel == bindparam("in_channel"),
        Conversation.chat_id == bindparam("chat"),
        Conversation.version == bindparam("expected"),
    )
    .values(state=bindparam("state"), version=bindparam("next"), updated_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)
# Rows nothing reads back in the same transaction go in as plain inserts: the ORM's flush of
# one new object costs about twice the statement.
_NEW_CONVERSATION = insert(Base.metadata.tables[Conversation.__tablename__])
_NEW_CONSENT = insert(Base.metadata.tables[Consent.__tablename__])
_NEW_AUDIT_ENTRIES = insert(Base.metadata.tables[AuditLog.__tablename__])
# The identity's consent stands: whom the bot may write to at all.
CONSENTED = (
    select(Consent.id)
    .where(Consent.identity_id == ChannelIdentity.id, Consent.withdrawn_at.is_(None))
    .exists()
)
# An identity's conversation, and when it last moved (its creation for one that never talked):
# a person's messages go to the chat they used last.
OWN_CONVERSATION = (Conversation.channel == ChannelIdentity.channel) & (
    Conversation.chat_id == ChannelIdentity.external_id
)
LAST_USED = func.coalesce(Conversation.updated_at, ChannelIdentity.created_at)
_LOGIN = (
    select(ChannelIdentity, Person, CONSENTED)
    .outerjoin(Person, Person.id == ChannelIdentity.person_id)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
)
_BY_DRAFT = select(Submission).where(Submission.draft_id == bindparam("draft"))
SIMILAR_WINDOW = 200


def _latest_filed(
    part: int, *where: ColumnElement[bool]
) -> Select[int, int, str | None, str, bytes | None, str | None]:
    return (
        select(
            literal(part),
            Submission.id,
            Submission.code,
            Submission.title,
            Submission.fingerprint,
            # the text only of rows filed before fingerprints were kept (revision 0006)
            case((Submission.fingerprint.is_(None), Submission.description)),
        )
        .where(*where, Submission.status != "withdrawn", Submission.code.is_not(None))
        .order_by(Submission.id.desc())
        .limit(SIMILAR_WINDOW)
    )


_OF_PERSON, _OF_UNIT = 0, 1
_LATEST_OF_PERSON = _latest_filed(_OF_PERSON, Submission.person_id == bindparam("person"))
_LATEST_OF_UNIT = _latest_filed(_OF_UNIT, Submission.unit_code == bindparam("unit"))
# Two index walks, the person's and the unit's: one WHERE with an OR of the two made both
# engines scan the whole table from the newest row, all of it for a unit with few filings.
# They are merged by the caller, not by UNION: its sort to drop the rows both walks find
# compared whole rows, fingerprints included (SQLite 1.5 → 0.3 ms, PostgreSQL 1.3 → 0.75 ms).
_SIMILAR_PARTS = union_all(
    select(_LATEST_OF_PERSON.subquery()), select(_LATEST_OF_UNIT.subquery())
)
# Many people's latest at once (a file's rows, each by its own author): numbered per person
# in one statement instead of one statement per person (2,000 of them for a full file).
_RANKED = (
    select(
        Submission.person_id,
        Submission.id,
        Submission.code,
        Submission.title,
        Submission.fingerprint,
        case((Submission.fingerprint.is_(None), Submission.description)),
        func.row_number()
        .over(partition_by=Submission.person_id, order_by=Submission.id.desc())
        .label("rank"),
    )
    .where(
        Submission.person_id.in_(bindparam("people", expanding=True)),
        Submission.status != "withdrawn",
        Submission.code.is_not(None),
    )
    .subquery()
)
_LATEST_OF_PEOPLE = select(*list(_RANKED.c)[:-1]).where(_RANKED.c.rank <= SIMILAR_WINDOW)
# (id, code, title, fingerprint) of a filed submission, for near-duplicates
Candidate = tuple[int, str, str, bytes]


class Conversations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load(
        self, channel: str, chat_id: str, cached: tuple[str, int] | None = None
    ) -> tuple[dict[str, Any], int]:
        """The chat's state and version. With `cached` (the JSON and version of its last
        known write), SQLite, whose writers are serialised, takes it without a read: the save's
        compare-and-set checks it. PostgreSQL reads and locks the row all the same: the lock
        keeps two workers' transactions on one chat from interleaving (or deadlocking on the
        other rows both touch)."""
        if cached is not None and self._session.get_bind().dialect.name == "sqlite":
            return jsontext.loads(cached[0]), cached[1]
        params = {"channel": channel, "chat": chat_id}
        row = (await self._session.execute(_LOAD_CONVERSATION, params)).first()
        return (dict(row.state), row.version) if row else ({}, 0)

    async def save(
        self, channel: str, chat_id: str, state: dict[str, Any], version: int, now: datetime
    ) -> None:
        """Write `state` if the stored version is still `version` (0 means new)."""
        if version == 0:
            row = {
                "channel": channel,
                "chat_id": chat_id,
                "version": 1,
                "state": state,
                "updated_at": now,
            }
            try:
                await self._session.execute(_NEW_CONVERSATION, row)
            except IntegrityError as exc:
                raise VersionConflict(chat_id) from exc
            return
        params = {
            "in_channel": channel,
            "chat": chat_id,
            "expected": version,
            "state": state,
            "next": version + 1,
            "at": now,
        }
        result = await self._session.execute(_SAVE_CONVERSATION, params)
        if getattr(result, "rowcount", 0) != 1:
            raise VersionConflict(chat_id)


class People:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_identity(self, channel: str, external_id: str, now: datetime) -> ChannelIdentity:
        """A new account; one that another worker has just added fails the transaction with an
        IntegrityError, which the engine retries."""
        identity = ChannelIdentity(channel=channel, external_id=external_id, created_at=now)
        self._session.add(identity)
        await self._session.flush()
        return identity

    async def login_of(
        self, channel: str, external_id: str
    ) -> tuple[ChannelIdentity | None, bool, Person | None]:
        """The identity, whether it holds a live consent, and its person, in one query."""
        params = {"channel": channel, "external_id": external_id}
        row = (await self._session.execute(_LOGIN, params)).first()
        if row is None:
            return None, False, None
        identity, person, has_consent = row
        return identity, bool(has_consent), person if has_consent else None

    async def add_consent(
        self, identity_id: int, text_version: str, text_sha256: str, now: datetime
    ) -> None:
        row = {
            "identity_id": identity_id,
            "text_version": text_version,
            "text_sha256": text_sha256,
            "accepted_at": now,
        }
        await self._session.execute(_NEW_CONSENT, row)

    async def person(self, person_id: int) -> Person | None:
        return await self._session.get(Person, person_id)

    async def add_person(self, phone: str, now: datetime, *, verified: bool) -> Person:
        """A new person for a number typed (a claim) or shown by Telegram (verified)."""
        person = Person(
            phone=phone,
            phone_verified_at=now if verified else None,
            created_at=now,
            updated_at=now,
        )
        self._session.add(person)
        await self._session.flush()
        return person

    async def member(
        self, name: str, birth_year: int, unit_code: str, recorded_by: int, now: datetime
    ) -> Person:
        """The member a collector files for: the one already recorded with this name, birth
        year and unit (so that they count once as a participant), or a new one."""
        key = (name, birth_year, unit_code)
        return (await self.members([key], recorded_by, now))[key]

    async def members(
        self, wanted: list[tuple[str, int, str]], recorded_by: int, now: datetime
    ) -> dict[tuple[str, int, str], Person]:
        """`member` of many (name, birth year, unit) at once: one query, one insert of
        those not recorded yet (a file of a union's members, bot/intake)."""
        found: dict[tuple[str, int, str], Person] = {}
        names = sorted({name for name, _year, _unit in wanted})
        rows = await self._session.scalars(
            select(Person)
            .where(Person.recorded_by.is_not(None), Person.full_name.in_(names))
            .order_by(Person.id)
        )
        for person in rows:
            key = (person.full_name or "", person.birth_year or 0, person.unit_code or "")
            found.setdefault(key, person)
        new = [
            Person(
                full_name=name,
                birth_year=year,
                unit_code=unit,
                recorded_by=recorded_by,
                created_at=now,
                updated_at=now,
            )
            for name, year, unit in dict.fromkeys(wanted)
            if (name, year, unit) not in found
        ]
        if new:
            self._session.add_all(new)
            await self._session.flush()
            found.update(
                {(p.full_name or "", p.birth_year or 0, p.unit_code or ""): p for p in new}
            )
        return found

    async def holding(self, phone: str, but: int | None = None) -> list[Person]:
        """Everyone who holds this number, by claim or verified, but the person `but`."""
        query = select(Person).where(Person.phone == phone).order_by(Person.id)
        if but is not None:
            query = query.where(Person.id != but)
        return list((await self._session.execute(query)).scalars())

    async def by_ids(self, ids: list[int]) -> list[Person]:
        rows = await self._session.execute(select(Person).where(Person.id.in_(set(ids))))
        return list(rows.scalars())

    async def channels_of(self, ids: list[int]) -> dict[int, list[str]]:
        """The apps each of these people has an account on."""
        rows = await self._session.execute(
            select(ChannelIdentity.person_id, ChannelIdentity.channel)
            .where(ChannelIdentity.person_id.in_(set(ids)))
            .order_by(ChannelIdentity.channel)
        )
        found: dict[int, list[str]] = {}
        for person_id, channel in rows:
            if person_id is not None:
                found.setdefault(person_id, []).append(channel)
        return found

    async def other_identities(self, person_id: int, identity_id: int) -> int:
        return int(
            await self._session.scalar(
                select(func.count())
                .select_from(ChannelIdentity)
                .where(ChannelIdentity.person_id == person_id, ChannelIdentity.id != identity_id)
            )
            or 0
        )


class Submissions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_draft(self, draft_id: str) -> Submission | None:
        return (await self._session.execute(_BY_DRAFT, {"draft": draft_id})).scalar_one_or_none()

    async def add(
        self,
        filings: Sequence[tuple[Submission, list[Attachment]]],
        prefix: str,
        before_attachments: Callable[[Submission], None] = lambda _submission: None,
    ) -> None:
        """Insert submissions and give each a code from its id, so concurrent filers never
        collide: one flush for all the rows, then `before_attachments` for each one (its id and
        code known) in order, and one flush for the codes and the attachments."""
        self._session.add_all([submission for submission, _ in filings])
        await self._session.flush()
        for submission, attachments in filings:
            year = submission.submitted_at.year
            submission.code = f"{prefix}-{year}-{submission.id:06d}"
            before_attachments(submission)
            for attachment in attachments:
                attachment.submission_id = submission.id
            self._session.add_all(attachments)
        await self._session.flush()

    async def count_of_person(self, person_id: int) -> int:
        return int(
            await self._session.scalar(
                select(func.count())
                .select_from(Submission)
                .where(Submission.person_id == person_id)
            )
            or 0
        )

    async def get(self, submission_id: int, *, lock: bool = False) -> Submission | None:
        """With `lock`, other workers wait for this transaction before changing the row."""
        return await self._session.get(Submission, submission_id, with_for_update=lock)

    async def by_code(self, code: str) -> Submission | None:
        return (
            await self._session.execute(select(Submission).where(Submission.code == code))
        ).scalar_one_or_none()

    async def next_pending(
        self,
        campaign: str,
        units: list[str] | None,
        skip: list[int],
        statuses: tuple[str, ...],
        not_of: int | None,
    ) -> Submission | None:
        """The oldest item in these statuses of these units (None = all units), leaving out
        those skipped and those of the person `not_of` (nobody reviews their own)."""
        query = select(Submission).where(
            Submission.campaign == campaign, Submission.status.in_(statuses)
        )
        if not_of is not None:
            query = query.where(Submission.person_id != not_of)
        if units is not None:
            query = query.where(Submission.unit_code.in_(units))
        if skip:
            query = query.where(Submission.id.not_in(skip))
        return (
            await self._session.execute(query.order_by(Submission.id).limit(1))
        ).scalar_one_or_none()

    async def similar_candidates(
        self, person_id: int | None, unit_code: str
    ) -> tuple[list[Candidate], list[Candidate]]:
        """The person's and the unit's SIMILAR_WINDOW latest filed submissions, each newest
        first (no person: the unit's only; many people: `candidates_of_people`), for
        near-duplicates: plain rows, not tracked objects."""
        params = {"person": person_id, "unit": unit_code}
        statement = _LATEST_OF_UNIT if person_id is None else _SIMILAR_PARTS
        rows = (await self._session.execute(statement, params)).all()
        parts: tuple[list[Candidate], list[Candidate]] = ([], [])
        for part, candidate in await self._fingerprinted(rows):
            parts[part].append(candidate)
        return parts

    async def candidates_of_people(self, people: Collection[int]) -> dict[int, list[Candidate]]:
        """similar_candidates' part of each person, for many people in one statement."""
        rows = (await self._session.execute(_LATEST_OF_PEOPLE, {"people": list(people)})).all()
        found: dict[int, list[Candidate]] = {person: [] for person in people}
        for person, candidate in await self._fingerprinted(rows):
            found[person].append(candidate)
        return found

    async def _fingerprinted(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, Candidate]]:
        """(key, candidate) of rows (key, id, code, title, fingerprint, text), newest first.
        Rows filed before fingerprints were kept get theirs now, in this transaction, so that
        each is folded once and not at every later filing."""
        missing = {
            id_: fingerprint(title, text or "")
            for id_, title, text in {(r[1], r[3], r[5]) for r in rows if r[4] is None}
        }
        if missing:
            await self._session.execute(  # ORM bulk update by primary key
                update(Submission),
                [{"id": id_, "fingerprint": stored} for id_, stored in missing.items()],
            )
        return [
            (key, (id_, str(code), title, missing[id_] if stored is None else stored))
            for key, id_, code, title, stored, _ in sorted(rows, key=lambda row: -row[1])
        ]

    async def attachments(self, submission_id: int) -> list[Attachment]:
        rows = await self._session.execute(
            select(Attachment)
            .where(Attachment.submission_id == submission_id)
            .order_by(Attachment.id)
        )
        return list(rows.scalars())

    async def replace_attachments(self, submission_id: int, attachments: list[Attachment]) -> None:
        for old in await self.attachments(submission_id):
            await self._session.delete(old)
        for attachment in attachments:
            attachment.submission_id = submission_id
            self._session.add(attachment)
        await self._session.flush()

    def record_change(self, change: StatusChange) -> None:
        self._session.add(change)

    async def of_person(self, person_id: int, limit: int = 10) -> list[Submission]:
        """Their own submissions and those they filed for members."""
        rows = await self._session.execute(
            select(Submission)
            .where(or_(Submission.person_id == person_id, Submission.filed_by == person_id))
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(limit)
        )
        return list(rows.scalars())


class Links:
    """Short one-time codes for joining a second channel to a person."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @staticmethod
    def _live(now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
            LinkCode.failures < MAX_CODE_FAILURES,
        )

    async def _active(self, code: str, now: datetime) -> LinkCode | None:
        return (
            await self._session.execute(
                select(LinkCode)
                .where(LinkCode.code_sha256 == _digest(code), *self._live(now))
                .order_by(LinkCode.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def issue(self, person_id: int, now: datetime, ttl: timedelta) -> str:
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if await self._active(code, now) is None:
                break
        self._session.add(
            LinkCode(
                code_sha256=_digest(code),
                person_id=person_id,
                created_at=now,
                expires_at=now + ttl,
                failures=0,
            )
        )
        await self._session.flush()
        return code

    async def peek(self, code: str, now: datetime) -> LinkCode | None:
        return await self._active(code, now)

    async def use(self, link: LinkCode, now: datetime) -> None:
        link.used_at = now
        await self._session.flush()

    async def count_wrong_guess(self, now: datetime) -> list[int]:
        """A wrong code could have been a guess at any live code: each counts it. Returns the
        owners of the codes this guess burnt."""
        burnt = await self._session.execute(
            select(LinkCode.person_id).where(
                *self._live(now), LinkCode.failures == MAX_CODE_FAILURES - 1
            )
        )
        owners = sorted(set(burnt.scalars()))
        await self._session.execute(
            update(LinkCode)
            .where(*self._live(now))
            .values(failures=LinkCode.failures + 1)
            .execution_options(synchronize_session=False)
        )
        return owners


class Claims:
    """Role claim codes: `<id>-<secret>`. The id says which claim a wrong secret was aimed at,
    so that claim alone counts the failure and is burnt after MAX_CODE_FAILURES."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def issue(
        self, role: str, unit_code: str, phone: str | None, now: datetime, ttl: timedelta
    ) -> tuple[RoleClaim, str]:
        secret = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_SECRET_LENGTH))
        claim = RoleClaim(
            secret_sha256=_digest(secret),
            role=role,
            unit_code=unit_code,
            phone=phone,
            created_at=now,
            expires_at=now + ttl,
            failures=0,
        )
        self._session.add(claim)
        await self._session.flush()
        return claim, f"{claim.id}-{secret}"

    async def find(self, code: str) -> tuple[RoleClaim | None, bool]:
        """The claim the code names, and whether its secret is right."""
        number, _, secret = code.upper().partition("-")
        if not number.isdigit() or len(number) > 9:
            return None, False
        claim = await self._session.get(RoleClaim, int(number), with_for_update=True)
        if claim is None:
            return None, False
        return claim, secrets.compare_digest(_digest(secret), claim.secret_sha256)

    async def all(self, include_closed: bool) -> list[RoleClaim]:
        query = select(RoleClaim).order_by(RoleClaim.id)
        if not include_closed:
            query = query.where(RoleClaim.used_at.is_(None), RoleClaim.revoked_at.is_(None))
        return list((await self._session.execute(query)).scalars())


class Attempts:
    """Wrong codes, counted per key (an account, a person, a phone) in the database."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def most_recent_failures(self, kind: str, keys: list[str], since: datetime) -> int:
        """The highest count of failures of this kind since `since` among the keys."""
        rows = await self._session.execute(
            select(func.count())
            .select_from(FailedAttempt)
            .where(
                FailedAttempt.kind == kind,
                FailedAttempt.key.in_(keys),
                FailedAttempt.at > since,
            )
            .group_by(FailedAttempt.key)
        )
        return max(rows.scalars(), default=0)

    async def record(self, kind: str, keys: list[str], now: datetime) -> None:
        await self._session.execute(
            insert(FailedAttempt), [{"kind": kind, "key": key, "at": now} for key in keys]
        )


class Roles:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_person(self, person_id: int) -> list[RoleGrant]:
        rows = await self._session.execute(
            select(RoleGrant).where(RoleGrant.person_id == person_id)
        )
        return list(rows.scalars())

    async def grant(
        self,
        person_id: int,
        role: str,
        unit_code: str,
        now: datetime,
        *,
        phone: str | None = None,
        claim_id: int | None = None,
    ) -> bool:
        existing = await self._session.scalar(
            select(RoleGrant.id).where(
                RoleGrant.person_id == person_id,
                RoleGrant.role == role,
                RoleGrant.unit_code == unit_code,
            )
        )
        if existing is not None:
            return False
        self._session.add(
            RoleGrant(
                person_id=person_id,
                role=role,
                unit_code=unit_code,
                granted_at=now,
                phone=phone,
                claim_id=claim_id,
            )
        )
        await self._session.flush()
        return True

    async def revoke(self, person_id: int, role: str, unit_code: str) -> bool:
        grant = await self._session.scalar(
            select(RoleGrant).where(
                RoleGrant.person_id == person_id,
                RoleGrant.role == role,
                RoleGrant.unit_code == unit_code,
            )
        )
        if grant is None:
            return False
        await self._session.delete(grant)
        await self._session.flush()
        return True

    async def matching(
        self, *, phone: str | None = None, role: str | None = None, unit_code: str | None = None
    ) -> list[RoleGrant]:
        """Grants by the number their holder has now or took them with, role and unit."""
        query = select(RoleGrant).order_by(RoleGrant.id)
        if phone is not None:
            holders = select(Person.id).where(Person.phone == phone)
            query = query.where(or_(RoleGrant.phone == phone, RoleGrant.person_id.in_(holders)))
        if role is not None:
            query = query.where(RoleGrant.role == role)
        if unit_code is not None:
            query = query.where(RoleGrant.unit_code == unit_code)
        return list((await self._session.execute(query)).scalars())

    async def holders(self, role: str) -> list[RoleGrant]:
        rows = await self._session.execute(select(RoleGrant).where(RoleGrant.role == role))
        return list(rows.scalars())


class Outgoing:
    """The transactional outbox: a message is queued with the change that caused it."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def to_person(
        self, person_id: int, payload: dict[str, Any], now: datetime, priority: int = 0
    ) -> int:
        identities = await self._session.execute(
            select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)
        )
        count = 0
        for identity in identities.scalars():
            self._session.add(
                Outbox(
                    channel=identity.channel,
                    chat_id=identity.external_id,
                    payload=payload,
                    created_at=now,
                    attempts=0,
                    priority=priority,
                )
            )
            count += 1
        await self._session.flush()
        return count

    async def to_chat(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
        priority: int = 0,
    ) -> None:
        self._session.add(
            Outbox(
                channel=channel,
                chat_id=chat_id,
                payload=payload,
                created_at=now,
                attempts=0,
                priority=priority,
            )
        )
        await self._session.flush()

    async def to_last_chat(
        self, person_id: int, payload: dict[str, Any], now: datetime, priority: int
    ) -> bool:
        """Queue for the chat the person used last (a reminder: once, not on every app)."""
        found = (
            await self._session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id)
                .outerjoin(Conversation, OWN_CONVERSATION)
                .where(ChannelIdentity.person_id == person_id)
                .order_by(LAST_USED.desc(), ChannelIdentity.id.desc())
                .limit(1)
            )
        ).first()
        if found is None:
            return False
        await self.to_chat(found[0], found[1], payload, now, priority)
        return True

    async def claim(
        self, channels: list[str], limit: int, now: datetime, chat_id: str | None = None
    ) -> Sequence[Row[tuple[int, str, str, dict[str, Any], datetime, int]]]:
        """Due messages for these channels (id, channel, chat_id, payload, created_at,
        attempts), lowest priority number first, marked as being sent; other workers skip the
        rows we hold until this transaction commits, and the mark afterwards. Rows, not
        objects: on SQLite a claim holds the one write lock, and making 200 objects in it
        doubled its time (bench/README.md, broadcast)."""
        query = select(
            Outbox.id,
            Outbox.channel,
            Outbox.chat_id,
            Outbox.payload,
            Outbox.created_at,
            Outbox.attempts,
        ).where(
            Outbox.sent_at.is_(None),
            Outbox.dead_at.is_(None),
            Outbox.sending_at.is_(None),
            or_(Outbox.not_before.is_(None), Outbox.not_before <= now),
            Outbox.channel.in_(channels),
        )
        if chat_id is not None:
            query = query.where(Outbox.chat_id == chat_id)
        rows = (
            await self._session.execute(
                query.order_by(Outbox.priority, Outbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if rows:
            await self._session.execute(
                update(Outbox).where(Outbox.id.in_([r.id for r in rows])).values(sending_at=now)
            )
        return rows

    async def sent(self, ids: list[int], now: datetime) -> None:
        if ids:
            await self._session.execute(
                update(Outbox).where(Outbox.id.in_(ids)).values(sent_at=now, sending_at=None)
            )

    async def defer(self, row_id: int, until: datetime) -> None:
        """Not tried (the chat's turn comes later): no attempt counted."""
        await self._session.execute(
            update(Outbox).where(Outbox.id == row_id).values(sending_at=None, not_before=until)
        )

    async def failed(
        self, row_id: int, retry_at: datetime | None, error: str, now: datetime
    ) -> None:
        """One more failed attempt: tried again at `retry_at`, or (None) given up."""
        await self._session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(
                attempts=Outbox.attempts + 1,
                sending_at=None,
                not_before=retry_at,
                dead_at=now if retry_at is None else None,
                last_error=error[:200],
            )
        )

    async def bury_in_doubt(self, started_before: datetime, now: datetime) -> int:
        """Messages whose send began before `started_before` and never ended (the process
        stopped meanwhile): they may have arrived, so they are not sent again."""
        done = await self._session.execute(
            update(Outbox)
            .where(
                Outbox.sending_at < started_before,
                Outbox.sent_at.is_(None),
                Outbox.dead_at.is_(None),
            )
            .values(
                dead_at=now, last_error="không rõ đã gửi hay chưa: tiến trình dừng khi đang gửi"
            )
        )
        return int(getattr(done, "rowcount", 0) or 0)


class Audit:
    """Entries wait here and are written in one statement when the unit of work commits."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(
        self,
        now: datetime,
        action: str,
        *,
        person_id: int | None = None,
        channel: str | None = None,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        entry = {
            "at": now,
            "action": action,
            "person_id": person_id,
            "channel": channel,
            "subject": subject,
            "detail": detail or {},
        }
        self.entries.append(entry)


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving without `commit()` rolls back."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], writer_lock: WriterLock | None = None
    ) -> None:
        self._sessions = sessions
        self._lock = writer_lock

    async def __aenter__(self) -> UnitOfWork:
        if self._lock is not None:
            # SQLite has one writer: queue here (bot/store/writer.py), not in SQLite's sleeps
            await self._lock.acquire()
        self.session = self._sessions()
        self.conversations = Conversations(self.session)
        self.people = People(self.session)
        self.submissions = Submissions(self.session)
        self.audit = Audit()
        self.links = Links(self.session)
        self.claims = Claims(self.session)
        self.attempts = Attempts(self.session)
        self.roles = Roles(self.session)
        self.outbox = Outgoing(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()  # nothing left after a commit; ends the transaction
        finally:
            if self._lock is not None:
                self._lock.release()  # the pool's reset of the idle connection needs no lock
            await self.session.close()

    def sibling(self) -> UnitOfWork:
        """Another unit of work on the same database, queued on the same writer lock: for
        work done in transactions of its own while this one is `paused`."""
        return UnitOfWork(self._sessions, self._lock)

    @property
    def factory(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Commit what this unit of work has done and let other writers in for the block (a
        long report read on the reader engine); then go on in a new transaction."""
        await self.commit()
        if self._lock is not None:
            self._lock.release()
        try:
            yield
        finally:
            if self._lock is not None:
                await self._lock.acquire()

    async def commit(self) -> None:
        if self.audit.entries:
            await self.session.execute(_NEW_AUDIT_ENTRIES, self.audit.entries)
            self.audit.entries = []
        await self.session.commit()
