"""Generic steps declared as data: a typed text field and a pick-one field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.types import Expect, Option
from rules.fields import is_skip
from rules.verdict import Rejected, Verdict

SKIP = "__skip"
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
        current = ctx.draft.get(self.field) if ctx.has_draft else None
        if current in (None, "") or not ctx.state.get("edit_until"):
            return prompt
        return f"{prompt}\n\nĐang lưu: {_shown(current)}"

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option("Bỏ qua", SKIP)] if self.optional else []

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == SKIP and self.optional:
            ctx.draft[self.field] = None
            return Goto(self.next)
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        if self.optional and is_skip(text):
            return await self.on_choice(ctx, SKIP)
        verdict = self.parse(ctx, text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        ctx.draft[self.field] = _jsonable(verdict.value)
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


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"
