"""The award season in chat: /khenthuong (the levels, nominating, withdrawing), /khieunai,
/tranhchap and /gokhieunai (marking an initiative under complaint or dispute)."""

from __future__ import annotations

from bot.access import DENIED
from bot.awards import disputes, season
from bot.dialogs.engine import Ctx, Outcome, Step, deny, notice_here
from bot.dialogs.officer import command_words, officer_scope
from bot.dialogs.review_desk import after_code, submission_code
from bot.store.models import Submission
from rules.text import fold
from rules.verdict import Rejected

HOW_TO = (
    "Cách dùng: /khenthuong xem các cấp khen thưởng; /khenthuong <cấp> <mã sáng kiến> [số "
    "tiêu chí] để đề nghị; /khenthuong rút <cấp> <mã> để rút. Cấp: {levels}."
)
WITHDRAW_WORDS = ("rut", "bo")


def _how_to(ctx: Ctx) -> str:
    levels = ", ".join(
        f"{level.code} ({level.short_name})" for level in ctx.services.campaign.award_levels
    )
    return HOW_TO.format(levels=levels or "chưa có")


async def _item_in_scope(ctx: Ctx, code: str | None) -> Submission | str:
    scope = await officer_scope(ctx)
    item = await ctx.uow.submissions.by_code(code) if code else None
    if item is None or not scope.covers(ctx.services.catalog, item.unit_code):
        return f"Không tìm thấy {code or 'mã sáng kiến'} trong phạm vi bạn được phân quyền."
    return item


async def awards_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/khenthuong [rút] [cấp mã [tiêu chí]]."""
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/khenthuong", DENIED)
    words = fold(command_words(ctx)).split()
    catalog, campaign = ctx.services.catalog, ctx.services.campaign
    if not words:
        tops = (
            None
            if scope.everything
            else sorted({season.top_unit(catalog, r) for r in scope.roots})
        )
        lines = await season.status_lines(ctx.uow, campaign, catalog, tops, ctx.now)
        return notice_here(step, "\n".join([*lines, "", _how_to(ctx)]))
    withdrawing = words[0] in WITHDRAW_WORDS
    words = words[1:] if withdrawing else words
    level = season.level_named(campaign, words[0] if words else "")
    code = submission_code(" ".join(words[1:]))
    if isinstance(level, Rejected) or code is None:
        problem = level.message if isinstance(level, Rejected) else "Thiếu mã sáng kiến."
        return notice_here(step, f"{problem}\n{_how_to(ctx)}")
    item = await _item_in_scope(ctx, code)
    if isinstance(item, str):
        return notice_here(step, item)
    request = season.Request(
        campaign,
        catalog,
        level.value,
        item,
        season.Actor(ctx.person_id, scope, ctx.inbound.channel),
        ctx.now,
    )
    done = await season.nominate_or_withdraw(
        ctx.uow,
        request,
        withdrawing=withdrawing,
        criterion=_criterion(words[1:]),
        via="bằng /khenthuong",
    )
    return notice_here(step, done)


def _criterion(words: list[str]) -> int | None:
    """The number after the code: “SK-2021-000123 2” -> 2."""
    after = after_code(" ".join(words)).split()
    return int(after[0]) if after and after[0].isdigit() and len(after[0]) <= 2 else None


async def _dispute(ctx: Ctx, step: Step | None, command: str, kind: str | None) -> Outcome:
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, command, DENIED)
    typed = command_words(ctx)
    code = submission_code(typed)
    if code is None:
        what = "kết quả giải quyết" if kind is None else "nội dung"
        return notice_here(step, f"Cách dùng: {command} <mã sáng kiến> <{what}>.")
    item = await _item_in_scope(ctx, code)
    if isinstance(item, str):
        return notice_here(step, item)
    note = after_code(typed).strip(" :-–")
    actor = season.Actor(ctx.person_id, scope, ctx.inbound.channel)
    if kind is None:
        done = await disputes.lift(ctx.uow, item, note, actor, ctx.now)
    else:
        done = await disputes.mark(ctx.uow, item, kind, note, actor, ctx.now)
    return notice_here(step, season.said(done))


async def complaint_command(ctx: Ctx, step: Step | None) -> Outcome:
    return await _dispute(ctx, step, "/khieunai", disputes.COMPLAINT)


async def authorship_command(ctx: Ctx, step: Step | None) -> Outcome:
    return await _dispute(ctx, step, "/tranhchap", disputes.AUTHORSHIP)


async def lift_command(ctx: Ctx, step: Step | None) -> Outcome:
    return await _dispute(ctx, step, "/gokhieunai", None)
