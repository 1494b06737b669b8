"""Submission lifecycle: filing, status changes, notifying the author, keeping the counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.counters import Counted, count_change, count_new
from bot.store.models import Attachment, StatusChange, Submission
from bot.store.uow import SIMILAR_WINDOW, Candidate, UnitOfWork
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


class Nearby:
    """The near-duplicate candidates of the filings of one transaction: each unit's and each
    person's latest filings fetched once, and every filing added as it is made, so that the
    rows of a file filed together (bot/intake) are also compared with each other."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._of_unit: dict[str, list[Candidate]] = {}
        self._of_person: dict[int, list[Candidate]] = {}

    async def fetch(self, submissions: Sequence[Submission]) -> None:
        """The candidates of each unit and person among `submissions`, read before they are
        inserted (a query after the insert would find them as their own candidates)."""
        for submission in submissions:
            if submission.fingerprint is None:
                submission.fingerprint = fingerprint(submission.title, submission.description)
        people = {s.person_id for s in submissions} - self._of_person.keys()
        units = {s.unit_code for s in submissions} - self._of_unit.keys()
        if len(people) == 1 and len(units) == 1:  # one filing from the chat: one statement
            (person,), (unit,) = people, units
            parts = await self._uow.submissions.similar_candidates(person, unit)
            self._of_person[person], self._of_unit[unit] = parts
            return
        if people:
            self._of_person.update(await self._uow.submissions.candidates_of_people(people))
        for unit in sorted(units):
            self._of_unit[unit] = (await self._uow.submissions.similar_candidates(None, unit))[1]

    def closest(self, submission: Submission) -> Similar | None:
        """The closest of the latest filings by the same person or of the same unit (fetched
        before), if near enough to be worth a second look."""
        person, unit = self._of_person[submission.person_id], self._of_unit[submission.unit_code]
        candidates = sorted({row[0]: row for row in person + unit}.values(), key=lambda r: -r[0])
        stored = submission.fingerprint
        assert stored is not None, "fetch() gives each its fingerprint"
        found = most_similar(submission.title, stored, [(row[2], row[3]) for row in candidates])
        if found is None:
            return None
        _, code, match_title, _ = candidates[found[0]]
        return Similar(code, match_title)

    def add(self, submission: Submission) -> None:
        """A filing just made (its code given) becomes a candidate for the next ones."""
        assert submission.code is not None and submission.fingerprint is not None
        row = (submission.id, submission.code, submission.title, submission.fingerprint)
        for rows in (
            self._of_unit.get(submission.unit_code),
            self._of_person.get(submission.person_id),
        ):
            if rows is not None:
                rows.insert(0, row)
                del rows[SIMILAR_WINDOW:]


async def file(
    uow: UnitOfWork,
    catalog: CatalogVersion,
    filings: Sequence[tuple[Submission, list[Attachment]]],
    prefix: str,
) -> None:
    """File submissions in one transaction: each checked for near-duplicates (of the earlier
    ones too), inserted and given its code; then the counters moved once for all of them."""
    nearby = Nearby(uow)
    await nearby.fetch([submission for submission, _ in filings])

    def compare(submission: Submission) -> None:
        similar = nearby.closest(submission)
        submission.similar_to = similar.code if similar else None
        nearby.add(submission)

    await uow.submissions.add(filings, prefix, before_attachments=compare)
    await count_new(uow.session, catalog, [submission for submission, _ in filings])


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
