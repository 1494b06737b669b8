"""The main menu, cancelling and resuming a draft, the worker's submissions, and help."""

from __future__ import annotations

from bot.dialogs.account import profile_complete
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.submission import new_draft
from bot.dialogs.types import NO_KEYS, YES_KEYS, Expect, Option
from rules.dates import format_date
from rules.verdict import Rejected

NEW, RESUME, DROP, MINE, HELP = "new", "resume", "drop", "mine", "help"
STATUS_NAMES = {
    "submitted": "Đã gửi",
    "under_review": "Đang xem xét",
    "needs_info": "Cần bổ sung",
    "accepted": "Hợp lệ",
    "rejected": "Không hợp lệ",
    "withdrawn": "Đã rút",
}


class MenuStep(Step):
    key = "menu"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        campaign = ctx.services.campaign
        window = campaign.window(ctx.now)
        status = (
            window.message
            if isinstance(window, Rejected)
            else f"Đang mở: {window.value.describe()}."
        )
        return f"Chương trình “{campaign.short_name}”.\n{status}\n\nBạn muốn làm gì?"

    def options(self, ctx: Ctx) -> list[Option]:
        first = (
            [
                Option(f"Tiếp tục bản nháp: {_draft_title(ctx)}", RESUME),
                Option("Huỷ bản nháp", DROP),
            ]
            if ctx.has_draft
            else [Option("Nộp sáng kiến mới", NEW)]
        )
        return [*first, Option("Sáng kiến đã gửi", MINE), Option("Hỗ trợ, hỏi đáp", HELP)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == NEW:
            return start_submission(ctx)
        if value == RESUME:
            return resume(ctx)
        if value == DROP:
            return cancel(ctx)
        if value == MINE:
            return Goto("mine")
        if value == HELP:
            return open_help(ctx)
        return await super().on_choice(ctx, value)


def _draft_title(ctx: Ctx) -> str:
    title = str(ctx.draft.get("title") or "chưa có tên")
    return title if len(title) <= 40 else title[:40] + "…"


def start_submission(ctx: Ctx) -> Outcome:
    if ctx.has_draft:
        return resume(ctx)
    window = ctx.services.campaign.window(ctx.now)
    if isinstance(window, Rejected):
        return Stay(window.message)
    ctx.state["draft"] = new_draft()
    return Goto(
        "profile" if profile_complete(ctx) else "name",
        "Bắt đầu sáng kiến mới. Bản nháp được lưu sau mỗi câu trả lời; "
        "gõ /menu để tạm dừng, /tieptuc để làm tiếp.",
    )


def resume(ctx: Ctx) -> Outcome:
    if not ctx.has_draft:
        return Goto("menu", "Bạn chưa có bản nháp nào.")
    return Goto(ctx.draft.get("step") or "name", "Tiếp tục bản nháp của bạn.")


def cancel(ctx: Ctx) -> Outcome:
    if not ctx.has_draft:
        return Goto("menu", "Bạn không có bản nháp nào để huỷ.")
    step = ctx.state.get("step")
    if step != "cancel_confirm":
        ctx.state["cancel_return"] = step
    return Goto("cancel_confirm")


def open_help(ctx: Ctx) -> Outcome:
    step = ctx.state.get("step")
    if step not in ("help", "faq"):
        ctx.state["help_return"] = step
    return Goto("help")


class CancelConfirmStep(Step):
    key = "cancel_confirm"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return f"Huỷ bản nháp “{_draft_title(ctx)}”? Nội dung đã nhập sẽ bị xoá."

    def options(self, ctx: Ctx) -> list[Option]:
        return [
            Option("Có, huỷ bản nháp", "yes", YES_KEYS),
            Option("Không, giữ lại", "no", NO_KEYS),
        ]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        back_to = ctx.state.pop("cancel_return", None) or "menu"
        if value == "no":
            return Goto(back_to, "Đã giữ lại bản nháp.")
        if value != "yes":
            ctx.state["cancel_return"] = back_to
            return await super().on_choice(ctx, value)
        ctx.state["draft"] = None
        ctx.state.pop("edit_until", None)
        return Goto("menu", "Đã huỷ bản nháp.")


class MySubmissionsStep(Step):
    key = "mine"
    back = "menu"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        rows = ctx.view.get("rows", [])
        if not rows:
            return "Bạn chưa gửi sáng kiến nào."
        return "Sáng kiến bạn đã gửi (mới nhất trước):\n" + "\n".join(rows)

    async def prepare(self, ctx: Ctx) -> None:
        assert ctx.person is not None
        items = await ctx.uow.submissions.of_person(ctx.person.id)
        tz = ctx.now.tzinfo
        ctx.view["rows"] = [
            f"• {s.code} · {s.title} · {STATUS_NAMES.get(s.status, s.status)} · "
            f"{format_date(s.submitted_at.astimezone(tz).date())}"
            for s in items
        ]


class HelpStep(Step):
    key = "help"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        campaign = ctx.services.campaign
        phases = "\n".join(f"• {p.describe()}" for p in campaign.phases)
        return (
            f"Hỗ trợ – Chương trình “{campaign.short_name}” ({campaign.guidance}).\n{phases}\n\n"
            "Các lệnh: /menu về menu chính · /tieptuc làm tiếp bản nháp · /huy huỷ bản nháp · "
            "/quaylai về bước trước · /hotro mở hỗ trợ.\nChọn một câu hỏi thường gặp:"
        )

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option(q, f"faq:{i}") for i, (q, _a) in enumerate(ctx.services.campaign.faq)]

    def can_go_back(self, ctx: Ctx) -> bool:
        return True

    async def on_back(self, ctx: Ctx) -> Outcome:
        return Goto(ctx.state.pop("help_return", None) or "menu")

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        faq = ctx.services.campaign.faq
        _, _, index = value.partition("faq:")
        if index.isdigit() and int(index) < len(faq):
            question, answer = faq[int(index)]
            return Stay(f"❓ {question}\n{answer}")
        return await super().on_choice(ctx, value)
