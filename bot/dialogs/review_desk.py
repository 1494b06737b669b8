"""/duyet: the officer's desk. Looking at an item changes nothing; “Nhận xem xét” takes it,
a decision is a compare-and-set, the decider (or an admin) may undo it the same day, and
nobody reviews their own initiative."""

from __future__ import annotations

import re

from bot.access import ADMIN, ALL_UNITS, DENIED, OUT_OF_SCOPE, SEES_PHONES, Scope
from bot.awards import season
from bot.dialogs.engine import PICK, Ctx, Goto, Outcome, Stay, Step, deny, notice_here
from bot.dialogs.officer import officer_scope, unit_in_scope
from bot.dialogs.submission import draft_from, summary_card
from bot.dialogs.types import Expect, Option, OutgoingFile
from bot.review import (
    ACCEPTED,
    EVERY_STATUS,
    NEEDS_INFO,
    REJECTED,
    STATUS_NAMES,
    SUBMITTED,
    UNDER_REVIEW,
    change_status,
    last_change,
    named_status,
    undo_decision,
)
from bot.store.models import StatusChange, Submission
from rules.fields import parse_long_text
from rules.files import attachment_name, extension_for
from rules.phone import national, phone_origin
from rules.text import clean, fold
from rules.verdict import Rejected

TAKE, UNDO, SKIP, TO_MENU = "take", "undo", "skip", "menu"
PROPOSE, UNPROPOSE = "propose:", "unpropose:"  # and the level's code
PENDING = (SUBMITTED, UNDER_REVIEW)
DECIDED = (ACCEPTED, NEEDS_INFO, REJECTED)
DECISIONS = {"accept": ACCEPTED, "return": NEEDS_INFO, "reject": REJECTED}
NOTE_PROMPTS = {
    NEEDS_INFO: "Ghi rõ tác giả cần bổ sung gì (tối đa 500 ký tự). Nội dung này được gửi cho "
    "tác giả.",
    REJECTED: "Ghi lý do sáng kiến không hợp lệ (tối đa 500 ký tự). Lý do được gửi cho tác giả.",
}
# SK-2022-000123, also typed "sk 2022 123"
CODE = re.compile(r"([A-Z]{1,8})[\s\-]*(\d{4})[\s\-]*(\d{1,9})")
CODE_TYPED = re.compile(CODE.pattern, re.IGNORECASE)
NOTHING_PENDING = "Không còn sáng kiến nào chờ duyệt trong phạm vi của bạn."
OWN = "Đây là sáng kiến của bạn: người khác trong đơn vị sẽ duyệt, bạn không tự duyệt được."
HOW_TO = (
    "Gõ /duyet để lấy sáng kiến chờ duyệt, /duyet SK-2022-000123 để mở một mã, /duyet kèm tên "
    "đơn vị hoặc trạng thái (ví dụ: /duyet cần bổ sung) để lọc."
)


async def review_command(ctx: Ctx, step: Step | None) -> Outcome:
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/duyet", DENIED)
    ctx.state.update(review_skip=[], review_filter=None)
    ctx.state.pop("review_sent", None)
    argument = clean(ctx.inbound.text or "").partition(" ")[2]
    if not argument:
        await load_next(ctx, scope)
        return Goto(ReviewDeskStep.key)
    code = submission_code(argument)
    if code and CODE.fullmatch(argument.upper()):
        return await _open_code(ctx, step, scope, code)
    status, rest = named_status(fold(argument))
    if status is not None and status != EVERY_STATUS and not rest:
        ctx.state["review_filter"] = {"statuses": [status]}
    else:
        unit = unit_in_scope(ctx, scope, argument)
        if isinstance(unit, Rejected):
            return notice_here(step, f"{unit.message}\n{HOW_TO}")
        ctx.state["review_filter"] = {"unit": None if unit == ALL_UNITS else unit}
    await load_next(ctx, scope)
    return Goto(ReviewDeskStep.key)


def submission_code(text: str) -> str | None:
    """The first submission code in what was typed, as stored: “sk 2022 12” -> SK-2022-000012."""
    found = CODE.search(text.upper())
    if found is None:
        return None
    prefix, year, number = found.groups()
    return f"{prefix}-{year}-{int(number):06d}"


def after_code(text: str) -> str:
    """What was typed after the first submission code: “SK-2021-000123 2” -> “ 2”."""
    found = CODE_TYPED.search(text)  # on the text itself: its positions are the text's
    return text[found.end() :] if found else ""


async def _open_code(ctx: Ctx, step: Step | None, scope: Scope, code: str) -> Outcome:
    item = await ctx.uow.submissions.by_code(code)
    if item is None or not scope.covers(ctx.services.catalog, item.unit_code):
        return notice_here(step, f"Không tìm thấy {code[:24]} trong phạm vi bạn được phân quyền.")
    ctx.state["review_item"] = item.id
    return Goto(ReviewDeskStep.key)


async def load_next(ctx: Ctx, scope: Scope) -> None:
    """Put the oldest item of the officer's queue on the desk (nothing changes for it)."""
    wanted = ctx.state.get("review_filter") or {}
    catalog = ctx.services.catalog
    unit = wanted.get("unit")
    units = scope.units(catalog) if unit is None else catalog.within(unit)
    submission = await ctx.uow.submissions.next_pending(
        ctx.services.campaign.code,
        units,
        list(ctx.state.get("review_skip", [])),
        tuple(wanted.get("statuses") or PENDING),
        ctx.person_id,
    )
    ctx.state["review_item"] = submission.id if submission else None


class ReviewDeskStep(Step):
    key = "duyet"
    expects = Expect.CHOICE

    async def prepare(self, ctx: Ctx) -> None:
        # The scope is read again for every screen: a role revoked or narrowed since the card
        # was put on the desk shows nothing more from the next message on.
        scope = await officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        if item is not None and not scope.covers(ctx.services.catalog, item.unit_code):
            ctx.state["review_item"] = item = None
            ctx.view["gone"] = OUT_OF_SCOPE if scope else DENIED
        ctx.view["item"] = item
        if item is None:
            return
        ctx.view["undoable"] = await _undoable(ctx, scope, item)
        campaign = ctx.services.campaign.code
        ctx.view["nominated"] = [n.level for n in await season.active(ctx.uow, campaign, item.id)]
        dispute = await season.open_dispute(ctx.uow, item.id)
        ctx.view["dispute"] = (
            f"{season.DISPUTE_NAMES.get(dispute.kind, dispute.kind)}: {dispute.note}"
            if dispute
            else None
        )
        attachments = await ctx.uow.submissions.attachments(item.id)
        ctx.view["answers"] = draft_from(item, attachments)
        author = await ctx.uow.people.person(item.person_id)
        if (
            author is not None
            and author.phone
            and scope.holds(ctx.services.catalog, item.unit_code, SEES_PHONES)
        ):
            how = phone_origin(author.phone_verified_at is not None)
            ctx.view["phone"] = f"{national(author.phone)} ({how})"
        if ctx.state.get("review_sent") != item.id:
            # the attachments go with the card once, not with every later message
            ctx.state["review_sent"] = item.id
            files = ctx.services.files
            # found, not just named: with a bucket, an upload made on another machine is
            # fetched into this one's folder first
            found = [
                (a, await files.find(f"{a.sha256}.{extension_for(a.mime)}"))
                for a in attachments
                if a.kind == "file" and a.sha256
            ]
            ctx.view["files"] = [
                OutgoingFile(
                    str(path),
                    attachment_name(a.filename, a.mime),
                    a.mime or "application/octet-stream",
                )
                for a, path in found
                if path is not None
            ]

    def text(self, ctx: Ctx) -> str:
        item: Submission | None = ctx.view.get("item")
        if item is None:
            return str(ctx.view.get("gone") or NOTHING_PENDING)
        lines = [f"Sáng kiến {item.code} ({STATUS_NAMES.get(item.status, item.status)})"]
        if item.person_id == ctx.person_id:
            lines.append(f"⚠️ {OWN}")
        if ctx.view.get("phone"):
            lines.append(f"Điện thoại tác giả: {ctx.view['phone']}")
        if item.similar_to:
            lines.append(f"⚠️ Gần giống sáng kiến đã gửi: {item.similar_to}")
        for code in ctx.view.get("nominated", []):
            level = ctx.services.campaign.award_level(code)
            lines.append(f"⭐ Đã đề nghị khen thưởng: {level.name if level else code}")
        if ctx.view.get("dispute"):
            lines.append(f"⚠️ Đang có {ctx.view['dispute']}")
        if item.status_note:
            lines.append(f"Ghi chú lần trước: {item.status_note}")
        return "\n".join(lines) + "\n\n" + summary_card(ctx, ctx.view["answers"])

    def options(self, ctx: Ctx) -> list[Option]:
        item: Submission | None = ctx.view.get("item")
        if item is None:
            return [Option("Về menu", TO_MENU)]
        actions = []
        if item.status in PENDING and item.person_id != ctx.person_id:
            if item.status == SUBMITTED:
                actions.append(Option("👋 Nhận xem xét", TAKE))
            actions += [
                Option("✅ Hợp lệ", "accept"),
                Option("↩ Yêu cầu bổ sung", "return"),
                Option("❌ Không hợp lệ", "reject"),
            ]
        if ctx.view.get("undoable"):
            actions.append(Option("↶ Hoàn tác quyết định", UNDO))
        if item.status == ACCEPTED and item.person_id != ctx.person_id:
            nominated = ctx.view.get("nominated", [])
            for level in ctx.services.campaign.award_levels:
                if level.code in nominated:
                    actions.append(
                        Option(f"Rút đề nghị: {level.short_name}", UNPROPOSE + level.code)
                    )
                elif not ctx.view.get("dispute"):
                    actions.append(Option(f"⭐ Đề nghị: {level.short_name}", PROPOSE + level.code))
        return [*actions, Option("⏭ Mục tiếp theo", SKIP), Option("Về menu", TO_MENU)]

    async def on_stale(self, ctx: Ctx) -> Outcome | None:
        """A decision pressed on a card someone has decided meanwhile: say who won."""
        item: Submission | None = ctx.view.get("item")
        if item is None or item.status not in DECIDED:
            return None
        return _decided_meanwhile(item)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        # With the card gone (nothing left, or the role taken away) say why, not "pick one".
        return Goto(self.key) if ctx.view.get("item") is None else Stay(PICK)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == TO_MENU:
            return Goto("menu")
        scope = await officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        if item is None or not scope.covers(ctx.services.catalog, item.unit_code):
            return deny(ctx, self, "duyet", OUT_OF_SCOPE if scope else DENIED)
        if value == SKIP:
            ctx.state["review_skip"] = [*ctx.state.get("review_skip", []), item.id]
            await load_next(ctx, scope)
            return Goto(self.key)
        if value == UNDO:
            return await _undo(ctx, scope, item)
        if item.person_id == ctx.person_id:
            return deny(ctx, self, "duyet.own", OWN)
        if value == TAKE:
            return await _take(ctx, item)
        if value.startswith((PROPOSE, UNPROPOSE)):
            return await _propose(ctx, scope, item, value)
        decision = DECISIONS.get(value)
        if decision is None:
            return await super().on_choice(ctx, value)
        if decision in NOTE_PROMPTS:
            ctx.state["review_decision"] = decision
            return Goto("duyet_note")
        return await decide(ctx, scope, item, decision, None)


def _decided_meanwhile(item: Submission) -> Outcome:
    """Another officer changed the item first: say what they decided."""
    done = STATUS_NAMES.get(item.status, item.status)
    return Goto(ReviewDeskStep.key, f"Sáng kiến {item.code} đã có người xử lý: {done}.")


async def _take(ctx: Ctx, item: Submission) -> Outcome:
    taken = await change_status(
        ctx.uow, ctx.services.catalog, item, UNDER_REVIEW, None, ctx.person_id, ctx.now
    )
    if not taken:
        return _decided_meanwhile(item)
    return Goto(
        ReviewDeskStep.key, f"Bạn đã nhận xem xét {item.code}; tác giả được báo đang xem xét."
    )


async def _propose(ctx: Ctx, scope: Scope, item: Submission, value: str) -> Outcome:
    """Nominate the initiative on the desk at a level, or withdraw it (the level's rules:
    bot/awards/season.py)."""
    withdrawing = value.startswith(UNPROPOSE)
    level = season.level_named(ctx.services.campaign, value.partition(":")[2])
    if isinstance(level, Rejected):
        return Goto(ReviewDeskStep.key, level.message)
    request = season.Request(
        ctx.services.campaign,
        ctx.services.catalog,
        level.value,
        item,
        season.Actor(ctx.person_id, scope, ctx.inbound.channel),
        ctx.now,
    )
    done = await season.nominate_or_withdraw(
        ctx.uow, request, withdrawing=withdrawing, criterion=None, via="từ thẻ duyệt"
    )
    return Goto(ReviewDeskStep.key, done)


async def _undoable(ctx: Ctx, scope: Scope, item: Submission) -> StatusChange | None:
    """The decision on the desk, if this officer may undo it: their own the same day, or any
    by an admin of the item's unit."""
    if item.status not in DECIDED:
        return None
    decision = await last_change(ctx.uow, item)
    if decision is None or decision.old_status not in PENDING:
        return None
    same_day = decision.at.astimezone(ctx.now.tzinfo).date() == ctx.today
    mine = decision.by_person_id == ctx.person_id and same_day
    admin_here = scope.holds(ctx.services.catalog, item.unit_code, frozenset({ADMIN}))
    return decision if mine or admin_here else None


async def _undo(ctx: Ctx, scope: Scope, item: Submission) -> Outcome:
    decision = await _undoable(ctx, scope, item)
    if decision is None:
        return deny(
            ctx,
            ReviewDeskStep(),
            "duyet.undo",
            "Chỉ người đã quyết định (trong ngày) hoặc quản trị viên mới hoàn tác được.",
        )
    assert ctx.person_id is not None
    undone = await undo_decision(
        ctx.uow, ctx.services.catalog, item, decision, ctx.person_id, ctx.now
    )
    if not undone:
        return Goto(ReviewDeskStep.key, f"Sáng kiến {item.code} vừa được người khác xử lý.")
    back = STATUS_NAMES[decision.old_status]
    return Goto(ReviewDeskStep.key, f"Đã hoàn tác: {item.code} trở lại “{back}”.")


async def decide(
    ctx: Ctx, scope: Scope, item: Submission, decision: str, note: str | None
) -> Outcome:
    assert ctx.person is not None
    changed = await change_status(
        ctx.uow, ctx.services.catalog, item, decision, note, ctx.person.id, ctx.now
    )
    await load_next(ctx, scope)
    if not changed:
        return _decided_meanwhile(item)
    return Goto(
        ReviewDeskStep.key, f"Đã ghi: {item.code} – {STATUS_NAMES[decision]}. Tác giả đã được báo."
    )


class ReviewNoteStep(Step):
    key = "duyet_note"
    back = "duyet"

    def text(self, ctx: Ctx) -> str:
        return NOTE_PROMPTS.get(ctx.state.get("review_decision", ""), NOTE_PROMPTS[NEEDS_INFO])

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        verdict = parse_long_text(text, "ghi chú", 500)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        scope = await officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        decision = ctx.state.pop("review_decision", None)
        if (
            item is None
            or decision not in NOTE_PROMPTS
            or not scope.covers(ctx.services.catalog, item.unit_code)
        ):
            return deny(ctx, None, "duyet_note", OUT_OF_SCOPE if scope else DENIED)
        if item.person_id == ctx.person_id:
            return deny(ctx, None, "duyet.own", OWN)
        return await decide(ctx, scope, item, decision, verdict.value)
