"""The rows that passed, filed: each for its author (recorded as a member of their unit, as
/nopho records them) with the officer as the filer, in transactions of BATCH rows, so that
other chats are answered and other writers let in between them. A row already filed (the same
author and initiative, bot.intake.check.mark_filed) is skipped and counted: applying a file
twice, or again after a crash half-way, files each initiative once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.dialogs.engine import Services
from bot.dialogs.submission import Filing, file_drafts
from bot.intake.check import Checked, Row, mark_filed
from bot.store.uow import UnitOfWork

BATCH = 25  # rows per transaction: on SQLite other chats wait for one batch at most


@dataclass(slots=True)
class Applied:
    filed: list[str] = field(default_factory=list)  # the codes given, in the file's order
    skipped: int = 0  # filed before (by this file or otherwise)


@dataclass(frozen=True, slots=True)
class Filer:
    person_id: int
    channel: str  # where the filing was asked from: a chat's channel, or "cli"
    name: str  # the file's name, for the audit


async def apply(
    new_uow: Callable[[], UnitOfWork],
    services: Services,
    checked: Checked,
    filer: Filer,
    now: datetime,
) -> Applied:
    """File the valid rows of a checked file; the campaign must be open (`checked.closed`)."""
    phase = services.campaign.phase_at(now)
    assert phase is not None and checked.closed is None, "apply only while the campaign is open"
    applied = Applied(skipped=len(checked.already))
    rows = checked.valid
    for start in range(0, len(rows), BATCH):
        async with new_uow() as uow:
            batch = rows[start : start + BATCH]
            await mark_filed(uow.session, services.campaign.code, batch)  # since the check
            fresh = [row for row in batch if row.filed_as is None]
            applied.skipped += len(batch) - len(fresh)
            authors = await uow.people.members([_author(r) for r in fresh], filer.person_id, now)
            drafts = [
                (
                    row.draft,
                    Filing(authors[_author(row)].id, filer.person_id, filer.channel, phase, now),
                )
                for row in fresh
            ]
            for row, submission in zip(
                fresh, await file_drafts(uow, services, drafts), strict=True
            ):
                uow.audit.record(
                    now,
                    "submission.created",
                    person_id=filer.person_id,
                    channel=filer.channel,
                    subject=submission.code,
                    detail={"for_member": submission.person_id, "intake_row": row.number},
                )
                applied.filed.append(submission.code or "")
            await uow.commit()
        await asyncio.sleep(0)
    async with new_uow() as uow:
        uow.audit.record(
            now,
            "intake.applied",
            person_id=filer.person_id,
            channel=filer.channel,
            subject=filer.name[:200],
            detail={"filed": len(applied.filed), "skipped": applied.skipped},
        )
        await uow.commit()
    return applied


def _author(row: Row) -> tuple[str, int, str]:
    d = row.draft
    return d["author_name"], int(d["birth_year"]), d["unit_code"]
