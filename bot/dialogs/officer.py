"""Officers: /duyet walks pending submissions; /stats, /bieudo and /xuat for their subtree."""

from __future__ import annotations

from bot.access import DENIED, OFFICER, OUT_OF_SCOPE, SEES_PHONES, Scope, scope_of
from bot.dialogs.engine import PICK, Ctx, Goto, Outcome, Stay, Step, deny, notice_here
from bot.dialogs.submission import draft_from, summary_card
from bot.dialogs.types import Expect, Option, OutgoingFile
from bot.review import (
    ACCEPTED,
    NEEDS_INFO,
    REJECTED,
    STATUS_NAMES,
    SUBMITTED,
    UNDER_REVIEW,
    change_status,
)
from bot.stats.export import export
from bot.stats.report import format_stats
from bot.stats.views import Period, Stats, stats
from bot.store.counters import ALL
from bot.store.models import Submission
from rules.dates import named_period, parse_date
from rules.fields import parse_long_text
from rules.files import extension_for
from rules.phone import national
from rules.text import clean, fold, match_key
from rules.verdict import Ok, Rejected

SKIP, TO_MENU = "skip", "menu"
NOTHING_PENDING = "Không còn sáng kiến nào chờ duyệt trong phạm vi của bạn."
DECISIONS = {
    "accept": ACCEPTED,
    "return": NEEDS_INFO,
    "reject": REJECTED,
}
NOTE_PROMPTS = {
    NEEDS_INFO: "Ghi rõ tác giả cần bổ sung gì (tối đa 500 ký tự). Nội dung này được gửi cho "
    "tác giả.",
    REJECTED: "Ghi lý do sáng kiến không hợp lệ (tối đa 500 ký tự). Lý do được gửi cho tác giả.",
}


async def _officer_scope(ctx: Ctx) -> Scope:
    return await scope_of(ctx.uow, ctx.person_id, OFFICER)


async def load_next(ctx: Ctx, scope: Scope) -> None:
    """Put the oldest pending submission of the scope on the officer's desk."""
    submission = await ctx.uow.submissions.next_pending(
        ctx.services.campaign.code,
        scope.units(ctx.services.catalog),
        0,
        list(ctx.state.get("review_skip", [])),
    )
    ctx.state["review_item"] = submission.id if submission else None
    if submission is not None and submission.status == SUBMITTED:
        await change_status(
            ctx.uow,
            ctx.services.catalog,
            submission,
            UNDER_REVIEW,
            None,
            ctx.person_id,
            ctx.now,
        )


async def review_command(ctx: Ctx, step: Step | None) -> Outcome:
    scope = await _officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/duyet", DENIED)
    ctx.state["review_skip"] = []
    ctx.state.pop("review_sent", None)
    await load_next(ctx, scope)
    return Goto("duyet")


class ReviewQueueStep(Step):
    key = "duyet"
    expects = Expect.CHOICE

    async def prepare(self, ctx: Ctx) -> None:
        # The scope is read again for every screen: a role revoked or narrowed since the card
        # was put on the desk shows nothing more from the next message on.
        scope = await _officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        if item is not None and not scope.covers(ctx.services.catalog, item.unit_code):
            ctx.state["review_item"] = item = None
            ctx.view["gone"] = OUT_OF_SCOPE if scope else DENIED
        ctx.view["item"] = item
        if item is None:
            return
        attachments = await ctx.uow.submissions.attachments(item.id)
        ctx.view["answers"] = draft_from(item, attachments)
        author = await ctx.uow.people.person(item.person_id)
        if author is not None and author.phone and scope.roles & SEES_PHONES:
            how = "đã xác minh" if author.phone_verified_at else "tự khai, chưa xác minh"
            ctx.view["phone"] = f"{national(author.phone)} ({how})"
        if ctx.state.get("review_sent") != item.id:
            # the attachments go with the card once, not with every later message
            ctx.state["review_sent"] = item.id
            files = ctx.services.files
            ctx.view["files"] = [
                OutgoingFile(
                    str(files.path_for(a.sha256, extension_for(a.mime))),
                    a.filename or "tep",
                    a.mime or "application/octet-stream",
                )
                for a in attachments
                if a.kind == "file" and a.sha256
            ]

    def text(self, ctx: Ctx) -> str:
        item: Submission | None = ctx.view.get("item")
        if item is None:
            return (
                ctx.view.get("gone") or "Không còn sáng kiến nào chờ duyệt trong phạm vi của bạn."
            )
        lines = [f"Chờ duyệt: {item.code} ({STATUS_NAMES.get(item.status, item.status)})"]
        if ctx.view.get("phone"):
            lines.append(f"Điện thoại tác giả: {ctx.view['phone']}")
        if item.similar_to:
            lines.append(f"⚠️ Gần giống sáng kiến đã gửi: {item.similar_to}")
        return "\n".join(lines) + "\n\n" + summary_card(ctx, ctx.view["answers"])

    def options(self, ctx: Ctx) -> list[Option]:
        if ctx.view.get("item") is None:
            return [Option("Về menu", TO_MENU)]
        return [
            Option("✅ Hợp lệ", "accept"),
            Option("↩ Yêu cầu bổ sung", "return"),
            Option("❌ Không hợp lệ", "reject"),
            Option("⏭ Bỏ qua", SKIP),
            Option("Về menu", TO_MENU),
        ]

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        # With the card gone (nothing left, or the role taken away) say why, not "pick one".
        return Goto(self.key) if ctx.view.get("item") is None else Stay(PICK)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == TO_MENU:
            return Goto("menu")
        scope = await _officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        if item is None or not scope.covers(ctx.services.catalog, item.unit_code):
            return deny(ctx, self, "duyet", OUT_OF_SCOPE if scope else DENIED)
        if value == SKIP:
            ctx.state["review_skip"] = [*ctx.state.get("review_skip", []), item.id]
            await load_next(ctx, scope)
            return Goto(self.key)
        decision = DECISIONS.get(value)
        if decision is None:
            return await super().on_choice(ctx, value)
        if decision in NOTE_PROMPTS:
            ctx.state["review_decision"] = decision
            return Goto("duyet_note")
        return await decide(ctx, scope, item, decision, None)


async def decide(
    ctx: Ctx, scope: Scope, item: Submission, decision: str, note: str | None
) -> Outcome:
    assert ctx.person is not None
    changed = await change_status(
        ctx.uow, ctx.services.catalog, item, decision, note, ctx.person.id, ctx.now
    )
    await load_next(ctx, scope)
    if not changed:
        done = STATUS_NAMES.get(item.status, item.status)
        return Goto("duyet", f"Sáng kiến {item.code} đã có người xử lý: {done}.")
    return Goto("duyet", f"Đã ghi: {item.code} – {STATUS_NAMES[decision]}. Tác giả đã được báo.")


class ReviewNoteStep(Step):
    key = "duyet_note"
    back = "duyet"

    def text(self, ctx: Ctx) -> str:
        return NOTE_PROMPTS.get(ctx.state.get("review_decision", ""), NOTE_PROMPTS[NEEDS_INFO])

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        verdict = parse_long_text(text, "ghi chú", 500)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        scope = await _officer_scope(ctx)
        item = await ctx.uow.submissions.get(int(ctx.state.get("review_item") or 0))
        decision = ctx.state.pop("review_decision", None)
        if (
            item is None
            or decision not in NOTE_PROMPTS
            or not scope.covers(ctx.services.catalog, item.unit_code)
        ):
            return deny(ctx, None, "duyet_note", OUT_OF_SCOPE if scope else DENIED)
        return await decide(ctx, scope, item, decision, verdict.value)


def parse_scope_args(ctx: Ctx, scope: Scope) -> tuple[str, Period] | str:
    """`/stats [unit] [from] [to]`, or a named period (`tháng 3/2022`, `quý 1/2022`,
    `năm 2022`) in place of the dates; the unit defaults to the scope."""
    words = clean(ctx.inbound.text or "").split(" ")[1:]
    named = named_period(fold(" ".join(words)))
    if isinstance(named, Rejected):
        return named.message
    if named is not None:
        first, last, rest = named
        return _scoped_unit(ctx, scope, rest, Period(first, last))
    dates = []
    unit_words = []
    for word in words:
        verdict = parse_date(word)
        if isinstance(verdict, Ok):
            dates.append(verdict.value)
        else:
            unit_words.append(word)
    if len(dates) > 2 or (len(dates) == 2 and dates[1] < dates[0]):
        return (
            "Thời gian chưa đúng: gửi ngày bắt đầu rồi ngày kết thúc, ví dụ 01/01/2022 31/03/2022."
        )
    period = Period(dates[0] if dates else None, dates[1] if len(dates) > 1 else None)
    return _scoped_unit(ctx, scope, " ".join(unit_words), period)


def _scoped_unit(ctx: Ctx, scope: Scope, query: str, period: Period) -> tuple[str, Period] | str:
    unit = _unit_of(ctx, query, scope)
    if unit is None:
        return f"Không tìm thấy đơn vị “{query[:60]}”. Gửi mã hoặc tên đơn vị."
    if not scope.covers(ctx.services.catalog, unit) or (unit == ALL and not scope.everything):
        return OUT_OF_SCOPE
    return unit, period


def _unit_of(ctx: Ctx, query: str, scope: Scope) -> str | None:
    catalog = ctx.services.catalog
    if not query:
        return scope.default_unit
    if match_key(query) in ("toan quoc", "ca nuoc", "") or query == ALL:
        return ALL
    if query in catalog.units:
        return query
    found = catalog.exact(query) or next(iter(catalog.search(query, 1)), None)
    return found.code if found else None


async def _scoped(ctx: Ctx, step: Step | None, action: str) -> tuple[Scope, str, Period] | Outcome:
    scope = await _officer_scope(ctx)
    if not scope:
        return deny(ctx, step, action, DENIED)
    parsed = parse_scope_args(ctx, scope)
    if isinstance(parsed, str):
        if parsed == OUT_OF_SCOPE:
            return deny(ctx, step, action, OUT_OF_SCOPE)
        return notice_here(step, parsed)
    return scope, *parsed


async def _figures(ctx: Ctx, step: Step | None, action: str) -> Stats | Outcome:
    scoped = await _scoped(ctx, step, action)
    if not isinstance(scoped, tuple):
        return scoped
    _scope, unit, period = scoped
    return await stats(ctx.uow.session, ctx.services.campaign, ctx.services.catalog, unit, period)


async def stats_command(ctx: Ctx, step: Step | None) -> Outcome:
    figures = await _figures(ctx, step, "/stats")
    if not isinstance(figures, Stats):
        return figures
    return notice_here(step, format_stats(figures))


async def chart_command(ctx: Ctx, step: Step | None) -> Outcome:
    figures = await _figures(ctx, step, "/bieudo")
    if not isinstance(figures, Stats):
        return figures
    from bot.stats.chart import render_png  # matplotlib is slow to import; only when asked

    digest = await ctx.services.files.put(render_png(figures), "png")
    path = str(ctx.services.files.path_for(digest, "png"))
    ctx.view["files"] = [OutgoingFile(path, "bieu-do.png", "image/png", photo=True)]
    return notice_here(step, f"Biểu đồ: {figures.scope_label}.")


async def export_command(ctx: Ctx, step: Step | None) -> Outcome:
    scoped = await _scoped(ctx, step, "/xuat")
    if not isinstance(scoped, tuple):
        return scoped
    scope, unit, period = scoped
    personal = bool(scope.roles & SEES_PHONES)
    catalog = ctx.services.catalog
    units = None if unit == ALL else sorted(u.code for u in catalog.subtree(unit))
    label = "Toàn quốc" if unit == ALL else catalog.label(unit)
    files = await export(
        ctx.uow.session,
        ctx.services.campaign,
        catalog,
        units,
        label,
        period,
        with_phones=personal,
    )
    store = ctx.services.files
    store.sweep_exports()
    xlsx, csv = (
        await store.put_export(files.xlsx, "xlsx"),
        await store.put_export(files.csv, "csv"),
    )
    ctx.uow.audit.record(
        ctx.now,
        "export",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
        subject=unit,
        detail={"rows": files.rows},
    )
    ctx.view["files"] = [
        OutgoingFile(
            str(xlsx),
            "tong-hop-sang-kien.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            export=True,
            personal=personal,
        ),
        OutgoingFile(
            str(csv), "tong-hop-sang-kien.csv", "text/csv", export=True, personal=personal
        ),
    ]
    return notice_here(step, f"Bảng tổng hợp: {label}, {files.rows} sáng kiến.")
