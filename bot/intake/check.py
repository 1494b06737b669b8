"""Every row of a table checked by the rules the chat applies to each answer: the form's own
steps (bot/dialogs/submission.py) parse the texts, so a row passes here exactly when its
answers would have passed there. What a row lacks may come from values for the whole file
(the unit it is filed at, the target group, the solution type, the recognition)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogs.engine import Ctx, Services, Step, labels_holding, option_named
from bot.dialogs.fields import ChoiceField, TextField, jsonable
from bot.dialogs.submission import STEP_NAMES, submission_steps
from bot.dialogs.types import Inbound, Option
from bot.intake import columns as col
from bot.intake.read import Table
from bot.store.models import Submission
from rules import fields as rf
from rules.campaigns import recognition_warning
from rules.similar import fingerprint
from rules.text import fold, match_key
from rules.verdict import Rejected

BATCH = 100  # rows checked between two turns of the event loop
TEXT_STEPS = (
    "name",
    "birth_year",
    "position",
    "workplace",
    "title",
    "started_on",
    "ended_on",
    "description",
    "benefit_vnd",
    "benefit_social",
    "applied_scope",
    "recognized_by",
    "recognition_doc",
    "recognized_on",
    "awards",
)
CHOICE_STEPS = ("target_group", "solution_type")
NAMES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class Defaults:
    """Values for the whole file, for rows that do not give their own."""

    unit: str | None  # where rows naming no unit are filed (None: each row must name one)
    target_group: str | None = None
    solution_type: str | None = None
    recognition: str | None = None  # as the column writes it: “…, số … ngày …”


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # as the form names it
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(slots=True)
class Row:
    number: int  # the row's number in the file
    cells: tuple[str, ...]
    draft: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warning: str | None = None  # kept, as the chat keeps it, for the reviewer to weigh
    filed_as: str | None = None  # the code it was filed under already
    same_as: int | None = None  # an earlier row of the file with the same initiative
    known_as: tuple[str, int, bytes] | None = None

    @property
    def valid(self) -> bool:
        return not self.problems and self.filed_as is None and self.same_as is None

    def key(self) -> tuple[str, int, bytes]:
        """Who wrote it and what it says: the same initiative filed twice has the same key."""
        if self.known_as is None:
            d = self.draft
            said = fingerprint(d["title"], d["description"])
            self.known_as = (fold(d["author_name"]), int(d["birth_year"]), said)
        return self.known_as


@dataclass(slots=True)
class Checked:
    table: Table
    rows: list[Row]
    closed: str | None  # why nothing can be filed now (the campaign is not open)

    @property
    def valid(self) -> list[Row]:
        return [r for r in self.rows if r.valid]

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.problems or r.same_as is not None]

    @property
    def already(self) -> list[Row]:
        return [r for r in self.rows if r.filed_as is not None and not r.problems]


def needs(table: Table) -> dict[str, int]:
    """The values for the whole file some rows lack (a column, or cells), with how many."""
    lacking = {}
    for column in (col.GROUP, col.KIND, col.RECOGNITION):
        empty = sum(1 for _n, cells in table.rows if not table.cell(cells, column))
        if empty:
            lacking[column] = empty
    return lacking


class Checker:
    """Checks the rows of one file for one unit, on behalf of one filer."""

    def __init__(
        self,
        services: Services,
        defaults: Defaults,
        allowed: Callable[[str], bool],
        now: datetime,
    ) -> None:
        self.services, self.defaults, self.allowed, self.now = services, defaults, allowed, now
        form = {step.key: step for step in submission_steps()}
        self.texts = [_as(form[key], TextField) for key in TEXT_STEPS]
        self.choices = [_as(form[key], ChoiceField) for key in CHOICE_STEPS]

    @property
    def fields(self) -> list[str]:
        """The draft's fields the form's questions fill, in the form's order."""
        return [step.field for step in (*self.choices, *self.texts)]

    @cached_property
    def units(self) -> dict[str, str]:
        """The units a row may name, by their labels (only built when a row names one)."""
        catalog, root = self.services.catalog, self.defaults.unit
        known = catalog.within(root) if root else list(catalog.units)
        return {match_key(catalog.describe(code)): code for code in known}

    async def check(self, table: Table) -> Checked:
        window = self.services.campaign.window(self.now)
        rows = []
        for start in range(0, len(table.rows), BATCH):
            rows += [self.row(table, n, cells) for n, cells in table.rows[start : start + BATCH]]
            await asyncio.sleep(0)  # other chats are answered between batches
        _mark_repeats(rows)
        closed = window.message if isinstance(window, Rejected) else None
        return Checked(table, rows, closed)

    def row(self, table: Table, number: int, cells: tuple[str, ...]) -> Row:
        answers = self._answers(table, cells)
        said = table.cell(cells, col.RECOGNITION) or self.defaults.recognition or ""
        row = self.answered(Row(number, cells), answers, said, table.cell(cells, col.UNIT))
        row.draft["attachments"] = _links(table.cell(cells, col.ATTACHMENTS))
        return row

    def answered(self, row: Row, answers: dict[str, str], recognition: str, unit: str = "") -> Row:
        """A row whose answers are known, question by question (a table's cells, a form read
        from a photo): each checked by its step's rule, the good ones in `row.draft`."""
        row.draft.update(id=str(uuid.uuid4()), for_member=True)
        self._recognition(recognition, answers, row)
        ctx = Ctx(Inbound("intake", "-", "-"), self.services, {"draft": row.draft}, self.now)
        for step in self.choices:
            self._choose(ctx, step, answers.get(step.key, ""), row)
        for step in self.texts:
            self._parse(ctx, step, answers.get(step.key, ""), row)
        self._unit(unit, row)
        self._co_authors(answers, row)
        self._benefit(row)
        row.draft.update(declared_no_ip=True, declared_public_order=True)
        recognized = row.draft.get("recognized_on")
        if recognized and not row.problems:
            row.warning = recognition_warning(
                self.services.campaign, date.fromisoformat(recognized)
            )
        return row

    def _answers(self, table: Table, cells: tuple[str, ...]) -> dict[str, str]:
        """The texts each question of the form would have been answered with."""
        author = col.author_parts(table.cell(cells, col.AUTHOR))
        start, end = col.period_parts(table.cell(cells, col.PERIOD))
        effect = col.effect_parts(table.cell(cells, col.EFFECT))
        answers = {
            "name": author.name,
            "birth_year": author.birth_year,
            "position": author.position,
            "workplace": author.workplace,
            "title": table.cell(cells, col.TITLE),
            "started_on": start,
            "ended_on": end,
            "description": table.cell(cells, col.DESCRIPTION),
            "benefit_vnd": table.cell(cells, col.VALUE) or effect.value,
            "benefit_social": effect.social,
            "applied_scope": effect.scope,
            "awards": table.cell(cells, col.AWARDS),
            "target_group": table.cell(cells, col.GROUP) or self.defaults.target_group or "",
            "solution_type": table.cell(cells, col.KIND) or self.defaults.solution_type or "",
            "author_share": author.share,
        }
        answers.update({f"co_author_{i}": a for i, a in enumerate(author.co_authors)})
        return answers

    @staticmethod
    def _recognition(said: str, answers: dict[str, str], row: Row) -> None:
        """“…, số … ngày …” split into the three questions it answers."""
        recognition = col.recognition_parts(said) if said else None
        if recognition is not None:
            answers.update(
                recognized_by=recognition.by,
                recognition_doc=recognition.doc,
                recognized_on=recognition.day,
            )
        elif said:
            row.problems.append(
                Problem(
                    col.COLUMN_NAMES[col.RECOGNITION],
                    "cần ghi nơi công nhận, số và ngày văn bản, ví dụ: "
                    f"{col.RECOGNITION_EXAMPLE}.",
                )
            )

    def _parse(self, ctx: Ctx, step: TextField, text: str, row: Row) -> None:
        name = STEP_NAMES[step.key]
        if not text.strip() or (step.optional and rf.is_skip(text)):
            if not step.optional and not _reported(row, step.key):
                row.problems.append(Problem(name, "chưa có."))
            return
        if step.key == "ended_on" and "started_on" not in row.draft:
            return  # the start's own problem is reported; the end is measured from it
        verdict = step.parse(ctx, text)
        if isinstance(verdict, Rejected):
            row.problems.append(Problem(name, verdict.message))
            return
        row.draft[step.field] = jsonable(verdict.value)

    def _choose(self, ctx: Ctx, step: ChoiceField, text: str, row: Row) -> None:
        name = STEP_NAMES[step.key]
        options = step.choices(ctx)
        picked = pick(options, text)
        if picked is None:
            listed = "; ".join(o.label for o in options)
            said = f"“{text}” không khớp mục nào" if text else "chưa có"
            row.problems.append(Problem(name, f"{said}. Chọn một trong: {listed}."))
            return
        row.draft[step.field] = picked.value

    def _unit(self, text: str, row: Row) -> None:
        catalog = self.services.catalog
        code: str | None = self.defaults.unit
        if text:
            found = catalog.exact(text)
            code = self.units.get(match_key(text)) or (found.code if found else None)
        if code is None or not catalog.knows(code):
            said = f"không tìm thấy đơn vị “{text}”." if text else "chưa có."
            row.problems.append(Problem("Đơn vị", said))
        elif not self.allowed(code):
            row.problems.append(
                Problem("Đơn vị", f"{catalog.label(code)} nằm ngoài phạm vi bạn được nộp hộ.")
            )
        else:
            row.draft["unit_code"] = code

    def _co_authors(self, answers: dict[str, str], row: Row) -> None:
        typed = [v for k, v in answers.items() if k.startswith("co_author_")]
        if not typed:
            return
        name = STEP_NAMES["coauthors"]
        if len(typed) > rf.MAX_CO_AUTHORS:
            row.problems.append(Problem(name, f"tối đa {rf.MAX_CO_AUTHORS} người."))
            return
        listed = []
        for text in typed:
            verdict = rf.parse_co_author(text, self.now.year)
            if isinstance(verdict, Rejected):
                row.problems.append(Problem(name, f"“{text}”: {verdict.message}"))
                return
            listed.append(verdict.value)
        share = rf.parse_share(answers.get("author_share") or "")
        others = sum(int(str(a["share"])) for a in listed)
        if isinstance(share, Rejected) or share.value + others != 100:
            row.problems.append(
                Problem(
                    STEP_NAMES["author_share"],
                    f"tỷ lệ đóng góp của tác giả và các đồng tác giả cần cộng lại đủ 100% "
                    f"(các đồng tác giả đã chiếm {others}%); ghi “(đóng góp …%)” sau tên "
                    "tác giả.",
                )
            )
            return
        row.draft.update(co_authors=listed, author_share=share.value)

    def _benefit(self, row: Row) -> None:
        d = row.draft
        stated = d.get("benefit_vnd") is not None or bool(d.get("benefit_social"))
        if not stated and not any(_reported(row, k) for k in ("benefit_vnd", "benefit_social")):
            row.problems.append(
                Problem(
                    col.COLUMN_NAMES[col.EFFECT],
                    "cần có giá trị làm lợi bằng tiền hoặc lợi ích xã hội.",
                )
            )


def _as(step: Step, kind: type[Any]) -> Any:
    assert isinstance(step, kind), step.key
    return step


def _reported(row: Row, key: str) -> bool:
    return any(p.field == STEP_NAMES[key] for p in row.problems)


def pick(options: list[Option], text: str) -> Option | None:
    """The option a cell names, as the chat reads a typed choice: its label, code, one of
    its keys, or words found in one label only."""
    if not text:
        return None
    key = match_key(text)
    named = option_named(options, key) or next((o for o in options if o.value == text), None)
    if named is not None:
        return named
    holding = labels_holding(options, key)
    return holding[0] if len(holding) == 1 else None


def _links(text: str) -> list[dict[str, Any]]:
    """The Google Drive links a row lists; names of files the bot keeps are not files here."""
    found = []
    for line in (part.strip() for part in text.replace(";", "\n").splitlines()):
        verdict = rf.parse_drive_link(line) if line else None
        if verdict is not None and not isinstance(verdict, Rejected):
            found.append({"kind": "link", "url": verdict.value})
    return found


def _mark_repeats(rows: list[Row]) -> None:
    first: dict[tuple[str, int, bytes], int] = {}
    for row in rows:
        if row.problems:
            continue
        key = row.key()
        if key in first:
            row.same_as = first[key]
            row.problems.append(
                Problem("Dòng", f"trùng sáng kiến ở dòng {first[key]} của tệp (bỏ qua).")
            )
        else:
            first[key] = row.number


async def mark_filed(session: AsyncSession, campaign: str, rows: Iterable[Row]) -> None:
    """Rows already filed in this campaign (same author, birth year, title and description
    as the fingerprint sees them): marked with the code they were filed under."""
    waiting = [r for r in rows if not r.problems and r.filed_as is None]
    names = sorted({r.draft["author_name"] for r in waiting})
    filed: dict[tuple[str, int, bytes], str] = {}
    for start in range(0, len(names), NAMES_PER_QUERY):
        found = await session.execute(
            select(
                Submission.author_name,
                Submission.author_birth_year,
                Submission.fingerprint,
                Submission.title,
                Submission.description,
                Submission.code,
            ).where(
                Submission.campaign == campaign,
                Submission.author_name.in_(names[start : start + NAMES_PER_QUERY]),
            )
        )
        for name, year, stored, title, text, code in found:
            print_ = stored or fingerprint(title, text)
            filed.setdefault((fold(name), year, print_), code or "")
    for row in waiting:
        code = filed.get(row.key())
        if code is not None:
            row.filed_as = code


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


async def check_table(
    session: AsyncSession,
    services: Services,
    table: Table,
    defaults: Defaults,
    allowed: Callable[[str], bool],
    now: datetime,
    meanwhile: Callable[[], AbstractAsyncContextManager[None]] = _nothing,
) -> Checked:
    """The rows checked by the form's rules, and those filed already marked. The rules run
    inside `meanwhile()`: in a chat, the unit of work's `paused`, so that on SQLite other
    chats write while a large file is checked (its batches yield, but not the writer)."""
    async with meanwhile():
        checked = await Checker(services, defaults, allowed, now).check(table)
    await mark_filed(session, services.campaign.code, checked.rows)
    return checked
