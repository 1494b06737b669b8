"""Generic steps declared as data: a typed text field and a pick-one field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.types import Expect, Option
from rules.dates import format_date
from rules.fields import format_money_vnd, is_skip
from rules.text import fold
from rules.verdict import Rejected, Verdict

SKIP = "__skip"
KEEP = "__keep"  # while editing: leave the saved value as it is
KEEP_WORDS = frozenset({"giu nguyen", "giu", "khong doi", "nhu cu", "van vay", "giu nhu cu"})
Parser = Callable[[Ctx, str], Verdict[Any]]
Prompt = str | Callable[[Ctx], str]


def render_prompt(prompt: Prompt, ctx: Ctx) -> str:
    return prompt if isinstance(prompt, str) else prompt(ctx)


@dataclass(eq=False)
class TextField(Step):
    """Asks for one value, parses it with a rule, stores it in the draft, moves on."""

    key: str
    prompt: Prompt
    field: str
    parse: Parser
    next: str
    back: str | None = None
    optional: bool = False
    in_draft: bool = True

    def text(self, ctx: Ctx) -> str:
        prompt = render_prompt(self.prompt, ctx)
        current = self._current(ctx)
        if current is None:
            return prompt
        return (
            f"{prompt}\n\nĐang lưu: {_shown(current)}\nGõ câu trả lời mới, hoặc chọn “Giữ nguyên”."
        )

    def _current(self, ctx: Ctx) -> Any:
        """The saved value while the worker edits from the review card; None otherwise."""
        if not ctx.state.get("edit_until") or not ctx.has_draft:
            return None
        current = ctx.draft.get(self.field)
        return None if current in (None, "") else current

    def options(self, ctx: Ctx) -> list[Option]:
        if self._current(ctx) is not None:
            keep = [Option("Giữ nguyên", KEEP)]
            return [*keep, Option("Xóa nội dung này", SKIP)] if self.optional else keep
        return [Option("Bỏ qua", SKIP)] if self.optional else []

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == KEEP and self._current(ctx) is not None:
            return Goto(self.next)
        if value == SKIP and self.optional:
            ctx.draft[self.field] = None
            return Goto(self.next)
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        editing = bool(ctx.state.get("edit_until")) and ctx.has_draft
        if editing and fold(text) in KEEP_WORDS:
            return Goto(self.next)  # keeps what is saved, even nothing: never the words
        if self._current(ctx) is not None and is_skip(text):
            return Goto(self.next)  # skipping a question while editing keeps its answer
        if self.optional and is_skip(text):
            return await self.on_choice(ctx, SKIP)
        verdict = self.parse(ctx, text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        ctx.draft[self.field] = jsonable(verdict.value)
        return Goto(self.next)


@dataclass(eq=False)
class ChoiceField(Step):
    """Offers a list of codes with names; stores the chosen code."""

    key: str
    prompt: Prompt
    field: str
    choices: Callable[[Ctx], list[Option]]
    next: str
    back: str | None = None
    in_draft: bool = True
    expects: Expect = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return render_prompt(self.prompt, ctx)

    def options(self, ctx: Ctx) -> list[Option]:
        return self.choices(ctx)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value not in {option.value for option in self.choices(ctx)}:
            return await super().on_choice(ctx, value)
        ctx.draft[self.field] = value
        return Goto(self.next)


def jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _shown(value: Any) -> str:
    """A saved answer as the review card writes it: money with its dots, days as dd/mm/yyyy."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10_000:
        return format_money_vnd(value)  # the only int fields this large are amounts
    text = str(value)
    if ISO_DAY.fullmatch(text):
        return format_date(date.fromisoformat(text))
    return text if len(text) <= 200 else text[:200] + "…"
