"""Complaints about an initiative's content or recognition, and authorship disputes: while one
is open the initiative cannot be nominated and leaves every nomination; its author is told;
marking and lifting are audited (45/HD-CĐYT 4.1: a dossier holds no initiative under one)."""

from __future__ import annotations

from datetime import datetime

from bot.awards.season import DISPUTE_NAMES, Actor, active, end, open_dispute
from bot.store.models import Dispute, Submission
from bot.store.uow import UnitOfWork
from rules.verdict import Ok, Rejected, Verdict

COMPLAINT, AUTHORSHIP = "khieu_nai", "tranh_chap"
MIN_NOTE = 5


async def mark(
    uow: UnitOfWork, item: Submission, kind: str, note: str, actor: Actor, now: datetime
) -> Verdict[str]:
    if len(note.strip()) < MIN_NOTE:
        return Rejected("Cần ghi nội dung khiếu nại hoặc tranh chấp (ít nhất 5 ký tự).")
    if (found := await open_dispute(uow, item.id)) is not None:
        return Rejected(
            f"{item.code} đã được đánh dấu {DISPUTE_NAMES.get(found.kind, found.kind)}."
        )
    uow.session.add(
        Dispute(
            submission_id=item.id,
            kind=kind,
            note=note.strip(),
            marked_by=actor.person_id,
            marked_at=now,
        )
    )
    nominations = await active(uow, item.campaign, item.id)
    end(nominations, actor.person_id, now, DISPUTE_NAMES[kind])
    uow.audit.record(
        now,
        "award.dispute_marked",
        person_id=actor.person_id,
        channel=actor.channel,
        subject=item.code,
        detail={"kind": kind, "nominations_withdrawn": [n.level for n in nominations]},
    )
    await uow.outbox.to_person(
        item.person_id,
        {
            "text": f"Sáng kiến {item.code} “{item.title}” được ghi nhận có "
            f"{DISPUTE_NAMES[kind]}. Trong thời gian xem xét, sáng kiến chưa được đề nghị "
            "khen thưởng. Cán bộ công đoàn sẽ liên hệ với bạn; bạn có thể hỏi tổ hỗ trợ "
            "(/hotro)."
        },
        now,
    )
    left = f"; đã rút {len(nominations)} đề nghị khen thưởng" if nominations else ""
    return Ok(f"Đã đánh dấu {item.code}: {DISPUTE_NAMES[kind]}{left}. Tác giả được báo.")


async def lift(
    uow: UnitOfWork, item: Submission, note: str, actor: Actor, now: datetime
) -> Verdict[str]:
    if len(note.strip()) < MIN_NOTE:
        return Rejected("Cần ghi kết quả giải quyết (ít nhất 5 ký tự).")
    found = await open_dispute(uow, item.id)
    if found is None:
        return Rejected(f"{item.code} không có khiếu nại hay tranh chấp nào đang mở.")
    found.lifted_at, found.lifted_by, found.lift_note = now, actor.person_id, note.strip()
    uow.audit.record(
        now,
        "award.dispute_lifted",
        person_id=actor.person_id,
        channel=actor.channel,
        subject=item.code,
        detail={"kind": found.kind, "note": note.strip()},
    )
    await uow.outbox.to_person(
        item.person_id,
        {
            "text": f"{DISPUTE_NAMES[found.kind].capitalize()} về sáng kiến {item.code} đã "
            f"được giải quyết: {note.strip()}"
        },
        now,
    )
    return Ok(f"Đã gỡ đánh dấu {item.code}. Có thể đề nghị khen thưởng lại.")
