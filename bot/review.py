"""Submission lifecycle: filing, status changes, notifying the author, keeping the counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.counters import Counted, count_change, count_new
from bot.store.models import Attachment, StatusChange, Submission
from bot.store.uow import UnitOfWork
from rules.similar import fingerprint, most_similar
from rules.text import fold_words
from rules.units import CatalogVersion

SUBMITTED, UNDER_REVIEW, NEEDS_INFO = "submitted", "under_review", "needs_info"
ACCEPTED, REJECTED, WITHDRAWN = "accepted", "rejected", "withdrawn"
STATUS_NAMES = {
    SUBMITTED: "Đã gửi",
    UNDER_REVIEW: "Đang xem xét",
    NEEDS_INFO: "Cần bổ sung",
    ACCEPTED: "Hợp lệ",
    REJECTED: "Không hợp lệ",
    WITHDRAWN: "Đã rút",
}
ALLOWED = {
    SUBMITTED: {UNDER_REVIEW, ACCEPTED, NEEDS_INFO, REJECTED, WITHDRAWN},
    UNDER_REVIEW: {ACCEPTED, NEEDS_INFO, REJECTED},
    NEEDS_INFO: {SUBMITTED},
    ACCEPTED: set(),
    REJECTED: set(),
    WITHDRAWN: set(),
}
NEEDS_NOTE = frozenset({NEEDS_INFO, REJECTED})
EVERY_STATUS = "tat ca"
# Status names as typed (folded), longest first so that "không hợp lệ" is not read as "hợp lệ".
STATUS_WORDS = dict(
    sorted(
        {
            **{fold_words(name): code for code, name in STATUS_NAMES.items()},
            "cho duyet": SUBMITTED,
        }.items(),
        key=lambda item: -len(item[0]),
    )
)


def named_status(folded: str) -> tuple[str | None, str]:
    """A status (or “tất cả”) named in folded words, and the words left; (None, words) when
    none is named."""
    padded = f" {folded} "
    for words, code in [(EVERY_STATUS, EVERY_STATUS), *STATUS_WORDS.items()]:
        if f" {words} " in padded:
            return code, padded.replace(f" {words} ", " ", 1).strip()
    return None, folded


@dataclass(frozen=True, slots=True)
class Similar:
    code: str
    title: str


async def find_similar(uow: UnitOfWork, submission: Submission) -> Similar | None:
    """The closest of the latest filings by the same person or of the same unit, if near
    enough to be worth a second look."""
    stored = submission.fingerprint or fingerprint(submission.title, submission.description)
    candidates = await uow.submissions.similar_candidates(
        submission.person_id, submission.unit_code
    )
    found = most_similar(submission.title, stored, [(row[2], row[3]) for row in candidates])
    if found is None:
        return None
    _, code, match_title, _ = candidates[found[0]]
    return Similar(code, match_title)


async def file(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    submission: Submission,
    attachments: list[Attachment],
    prefix: str,
) -> None:
    await uow.submissions.add(submission, attachments, prefix)
    await count_new(uow.session, catalog, submission)


def _message(submission: Submission, new: str, note: str | None) -> str | None:
    head = f"Sáng kiến {submission.code} “{submission.title}”"
    if new == UNDER_REVIEW:
        return f"{head} đang được cán bộ công đoàn xem xét."
    if new == ACCEPTED:
        return f"🎉 {head} đã được công nhận hợp lệ."
    if new == NEEDS_INFO:
        return (
            f"{head} cần bổ sung: {note}\nGõ /cuatoi, mở sáng kiến này và chọn "
            "“Bổ sung” để sửa rồi gửi lại."
        )
    if new == REJECTED:
        return f"{head} không hợp lệ. Lý do: {note}"
    return None


async def change_status(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    submission: Submission,
    new: str,
    note: str | None,
    by_person_id: int | None,
    now: datetime,
    before: Counted | None = None,
) -> bool:
    """Apply an allowed transition, record it, move the counters, tell the author.

    The change is a compare-and-set on the status the caller read: when another officer (or
    the author) changed it first, nothing is written or counted, `submission` is reloaded to
    show what they did, and the answer is False."""
    if new not in ALLOWED.get(submission.status, set()):
        return False
    text = _message(submission, new, note)
    return await _transition(uow, catalog, submission, new, note, by_person_id, now, before, text)


async def last_change(uow: UnitOfWork, submission: Submission) -> StatusChange | None:
    """The change that gave the submission its present status."""
    return await uow.session.scalar(
        select(StatusChange)
        .where(
            StatusChange.submission_id == submission.id,
            StatusChange.new_status == submission.status,
        )
        .order_by(StatusChange.id.desc())
        .limit(1)
    )


async def undo_decision(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    submission: Submission,
    decision: StatusChange,
    by_person_id: int,
    now: datetime,
) -> bool:
    """Put a decided submission back where it was before `decision` (compare-and-set too)."""
    text = (
        f"Quyết định “{STATUS_NAMES[decision.new_status]}” về sáng kiến {submission.code} đã "
        f"được hủy; sáng kiến trở lại trạng thái “{STATUS_NAMES[decision.old_status]}”."
    )
    return await _transition(
        uow, catalog, submission, decision.old_status, "hoàn tác", by_person_id, now, None, text
    )


async def _transition(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    submission: Submission,
    new: str,
    note: str | None,
    by_person_id: int | None,
    now: datetime,
    before: Counted | None,
    text: str | None,
) -> bool:
    old = submission.status
    before = before or Counted.of(submission)
    values = {"status": new, "status_note": note if new in NEEDS_NOTE else None, "updated_at": now}
    result = await uow.session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == old)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await uow.session.refresh(submission)
        return False
    for name, value in values.items():
        set_committed_value(submission, name, value)
    uow.submissions.record_change(
        StatusChange(
            submission_id=submission.id,
            old_status=old,
            new_status=new,
            note=note,
            by_person_id=by_person_id,
            at=now,
        )
    )
    await count_change(uow.session, catalog, before, submission)
    uow.audit.record(now, f"submission.{new}", person_id=by_person_id, subject=submission.code)
    if text:
        # The author, and whoever filed it for them (a member has no chat of their own).
        told = {submission.person_id, submission.filed_by or submission.person_id}
        for person_id in sorted(told - {by_person_id}):
            await uow.outbox.to_person(person_id, {"text": text}, now)
    return True
