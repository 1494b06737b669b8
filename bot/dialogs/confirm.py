"""A yes/no question that goes back to where it was asked from when the answer is no."""

from __future__ import annotations

from bot.dialogs.engine import Ctx, Goto, Outcome, Step
from bot.dialogs.types import NO_KEYS, YES_KEYS, Expect, Option

YES, NO = "yes", "no"


def ask_to_confirm(ctx: Ctx, confirm_key: str) -> Outcome:
    """Open the confirmation `confirm_key`, remembering the current step to come back to."""
    current = ctx.state.get("step")
    if current != confirm_key:
        ctx.state[f"{confirm_key}:return"] = current or "menu"
    return Goto(confirm_key)


class ConfirmStep(Step):
    expects = Expect.CHOICE
    yes_label = "Có"
    no_label = "Không, giữ lại"
    kept = "Đã giữ nguyên."

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option(self.yes_label, YES, YES_KEYS), Option(self.no_label, NO, NO_KEYS)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        back = ctx.state.pop(f"{self.key}:return", None) or "menu"
        if value == NO:
            return Goto(back, self.kept)
        if value != YES:
            ctx.state[f"{self.key}:return"] = back
            return await super().on_choice(ctx, value)
        return await self.confirmed(ctx)

    async def confirmed(self, ctx: Ctx) -> Outcome:
        raise NotImplementedError
