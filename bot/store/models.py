"""Tables. Singular snake_case names; `_at` for instants, `_on` for calendar dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Instant(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class Person(Base):
    """A member. `phone` is typed (claimed) unless `phone_verified_at` is set: Telegram showed
    the number to be the account's own. Claimed numbers may repeat; a verified one may not."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_phone", "phone"),
        Index(
            "uq_person_verified_phone",
            "phone",
            unique=True,
            sqlite_where=text("phone_verified_at IS NOT NULL"),
            postgresql_where=text("phone_verified_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16))
    phone_verified_at: Mapped[datetime | None] = mapped_column(Instant)
    full_name: Mapped[str | None] = mapped_column(String(120))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[str | None] = mapped_column(String(200))
    workplace: Mapped[str | None] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    catalog: Mapped[str | None] = mapped_column(String(16))
    blocked_at: Mapped[datetime | None] = mapped_column(Instant)
    # A member whose initiatives someone else files (`/nopho`): no account, never logs in.
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    # /tatthongbao: no announcements, no reminders (answers to the person still come)
    announcements_off_at: Mapped[datetime | None] = mapped_column(Instant)
    # /baocaothang bật: an officer receives last month's report (bot/reach/monthly.py)
    monthly_report_at: Mapped[datetime | None] = mapped_column(Instant)
    created_at: Mapped[datetime] = mapped_column(Instant)
    updated_at: Mapped[datetime] = mapped_column(Instant)


class ChannelIdentity(Base):
    """One account on one platform; maps to at most one person."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Instant)


class Consent(Base):
    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id"), index=True)
    text_version: Mapped[str] = mapped_column(String(16))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(Instant)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Instant)


class Conversation(Base):
    """The JSON state of one chat; `version` makes every write a compare-and-set."""

    __tablename__ = "conversation"
    # the reminders look for drafts left a given time ago
    __table_args__ = (Index("ix_conversation_updated_at", "updated_at"),)

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Instant)


class Submission(Base):
    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_campaign_unit", "campaign", "unit_code"),
        Index("ix_submission_person_id", "person_id"),
        # The near-duplicate check reads a unit's latest filings, newest first.
        Index("ix_submission_unit_id", "unit_code", "id"),
        Index("ix_submission_filed_by", "filed_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(24), unique=True)
    draft_id: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))  # the author
    # who filed it for the author (`/nopho`); None when the author filed it themself
    filed_by: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    campaign: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(32))
    catalog: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64))
    target_group: Mapped[str] = mapped_column(String(64))
    solution_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    benefit_vnd: Mapped[int | None] = mapped_column(BigInteger)
    benefit_social: Mapped[str | None] = mapped_column(Text)
    # phạm vi ứng dụng (mẫu 1); None on submissions filed before it was asked
    applied_scope: Mapped[str | None] = mapped_column(Text)
    recognized_by: Mapped[str] = mapped_column(String(200))
    recognition_doc: Mapped[str] = mapped_column(String(100))
    recognized_on: Mapped[date] = mapped_column(Date)
    awards: Mapped[str | None] = mapped_column(Text)
    declared_no_ip: Mapped[bool] = mapped_column(Boolean)
    declared_public_order: Mapped[bool] = mapped_column(Boolean)
    author_name: Mapped[str] = mapped_column(String(120))
    author_birth_year: Mapped[int] = mapped_column(Integer)
    author_position: Mapped[str] = mapped_column(String(200))
    author_workplace: Mapped[str] = mapped_column(String(200))
    # [{"name", "birth_year", "share"}]; with them, the author's own share (46/HD-TLĐ I.2.4)
    co_authors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    author_share: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), default="submitted")
    status_note: Mapped[str | None] = mapped_column(Text)
    similar_to: Mapped[str | None] = mapped_column(String(24))
    # rules.similar.fingerprint of title and description; None on rows filed before 0006.
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitted_at: Mapped[datetime] = mapped_column(Instant)
    updated_at: Mapped[datetime | None] = mapped_column(Instant)


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "file" or "link"
    url: Mapped[str | None] = mapped_column(String(500))
    filename: Mapped[str | None] = mapped_column(String(255))
    mime: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Instant)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Instant, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LinkCode(Base):
    """A one-time code that joins another channel identity to this person."""

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_sha256: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(Instant)
    expires_at: Mapped[datetime] = mapped_column(Instant)
    used_at: Mapped[datetime | None] = mapped_column(Instant)
    # wrong guesses made while the code was active; at MAX_CODE_FAILURES it is burnt
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoleClaim(Base):
    """A single-use code an operator issues (`sangkien grant`): whoever redeems it in a chat
    gets the role. With `phone`, only a person whose verified number it is may redeem it."""

    __tablename__ = "role_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Instant)
    expires_at: Mapped[datetime] = mapped_column(Instant)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(Instant)
    used_by: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(Instant)


class FailedAttempt(Base):
    """A wrong link or grant code, counted against the account, the person and the phone that
    sent it. Kept apart from the chat's state so that erasing oneself resets nothing."""

    __tablename__ = "failed_attempt"
    __table_args__ = (Index("ix_failed_attempt_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(96))
    at: Mapped[datetime] = mapped_column(Instant)


class RoleGrant(Base):
    """A role over a unit's subtree: helper, officer or admin ('*' is the whole country).
    `phone` is the holder's number when they took it and `claim_id` the code they redeemed:
    a verified login elsewhere may take the number from the holder, never the record."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("person_id", "role", "unit_code"),
        Index("ix_role_grant_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(Instant)
    phone: Mapped[str | None] = mapped_column(String(16))
    claim_id: Mapped[int | None] = mapped_column(Integer)


class StatusChange(Base):
    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    old_status: Mapped[str] = mapped_column(String(24))
    new_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    by_person_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Instant)


class Outbox(Base):
    """Messages to people other than the one who wrote: written in the same transaction.
    Lower `priority` goes first (answers and notices 0, reminders 1, announcements 2). A row
    is `sending_at` from just before its send until its outcome is written; one still so
    after a crash is not sent again (bot/outbox.py says why) but ends `dead_at`."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "priority", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Instant)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(Instant)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(Instant)  # the next try, after a failure
    sending_at: Mapped[datetime | None] = mapped_column(Instant)
    dead_at: Mapped[datetime | None] = mapped_column(Instant)  # given up: a dead letter
    last_error: Mapped[str | None] = mapped_column(String(200))
    broadcast_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Broadcast(Base):
    """An announcement (/thongbao) to everyone in a unit's subtree who consented."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str] = mapped_column(String(64))  # the subtree; * for all
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Instant)
    recipients: Mapped[int] = mapped_column(Integer)
    cancelled_at: Mapped[datetime | None] = mapped_column(Instant)


class ReminderSent(Base):
    """One reminder of one kind about one subject to one person: the row keeps it from being
    sent again, after a restart or by another worker."""

    __tablename__ = "reminder_sent"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(Instant)


class StatCounter(Base):
    """Pre-added counts for /stats: one row per scope (a unit or an ancestor, '*' = all),
    day (Vietnam time; 0001-01-01 is all time), and dimension value. Kept in step with
    submissions in the same transaction."""

    __tablename__ = "stat_counter"

    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class Participation(Base):
    """Who has taken part under which scope: the first row per pair counts one participant."""

    __tablename__ = "participation"

    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class CoAuthorParticipation(Base):
    """A co-author named on a submission has taken part too (46/HD-TLĐ counts participation).
    Co-authors are names, not accounts: one is known by a digest of the folded name and the
    birth year, and counted once per scope however many submissions name them."""

    __tablename__ = "co_author_participation"

    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    who: Mapped[str] = mapped_column(String(64), primary_key=True)


ACTIVE = text("withdrawn_at IS NULL")


class Nomination(Base):
    """An accepted initiative put forward at an award level (đề nghị khen thưởng), counted
    against the level's quota for its top unit (a province, a central union) until it is
    withdrawn; withdrawn rows stay, with who and why."""

    __tablename__ = "nomination"
    __table_args__ = (
        Index("ix_nomination_quota", "campaign", "level", "top_unit"),
        Index(
            "uq_nomination_active",
            "campaign",
            "level",
            "submission_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    top_unit: Mapped[str] = mapped_column(String(64))  # whose quota it counts against
    criterion: Mapped[int | None] = mapped_column(Integer)  # 1-based, of the level's criteria
    nominated_by: Mapped[int | None] = mapped_column(Integer)  # a person; None: the operator
    nominated_at: Mapped[datetime] = mapped_column(Instant)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Instant)
    withdrawn_by: Mapped[int | None] = mapped_column(Integer)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class Dispute(Base):
    """A complaint about an initiative's content or recognition (khiếu nại), or an authorship
    dispute (tranh chấp quyền tác giả): while open, the initiative cannot be nominated."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[int | None] = mapped_column(Integer)
    marked_at: Mapped[datetime] = mapped_column(Instant)
    lifted_by: Mapped[int | None] = mapped_column(Integer)
    lifted_at: Mapped[datetime | None] = mapped_column(Instant)
    lift_note: Mapped[str | None] = mapped_column(Text)


class AwardReopening(Base):
    """A level reopened past its deadline for one top unit, until a day, with the reason."""

    __tablename__ = "award_reopening"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    top_unit: Mapped[str] = mapped_column(String(64))
    until: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    reopened_by: Mapped[int | None] = mapped_column(Integer)
    reopened_at: Mapped[datetime] = mapped_column(Instant)


class CounterBasis(Base):
    """The unit catalog a campaign's counters are kept in. When the campaign moves to another
    (`catalog` in campaigns.yaml, or `auto` past a change of map), its counters are recounted
    from the submissions, which keep the unit and catalog they were filed under."""

    __tablename__ = "counter_basis"

    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    catalog: Mapped[str] = mapped_column(String(16))


class SupportTicket(Base):
    """A question to the support team (Tổ hỗ trợ sáng kiến), tied to the asker's unit."""

    __tablename__ = "support_ticket"
    __table_args__ = (Index("ix_support_ticket_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(64))  # whose helpers are asked now
    status: Mapped[str] = mapped_column(String(16))  # open, claimed, closed
    claimed_by: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Instant)
    escalated_at: Mapped[datetime | None] = mapped_column(Instant)
    first_reply_at: Mapped[datetime | None] = mapped_column(Instant)
    closed_at: Mapped[datetime | None] = mapped_column(Instant)


class TicketMessage(Base):
    __tablename__ = "ticket_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_ticket.id"), index=True)
    person_id: Mapped[int] = mapped_column(Integer)
    from_helper: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Instant)


class RelayMessage(Base):
    """Which ticket a notification shown in a helper's chat belongs to (for Telegram replies)."""

    __tablename__ = "relay_message"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_ticket.id"))
