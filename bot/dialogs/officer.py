"""Officers' figures: /stats, /bieudo and /xuat for their subtree (/duyet: review_desk)."""

from __future__ import annotations

import asyncio

from bot.access import DENIED, OFFICER, OUT_OF_SCOPE, SEES_PHONES, Scope, scope_of
from bot.dialogs.engine import Ctx, Outcome, Step, deny, notice_here
from bot.dialogs.types import OutgoingFile
from bot.review import EVERY_STATUS, STATUS_NAMES, named_status
from bot.stats.export import EVERY, VALID, XLSX_MIME, ExportRequest
from bot.stats.report import format_group, format_stats
from bot.stats.views import Period, Stats, group_ranking, group_units, stats
from bot.store.counters import ALL
from rules.campaigns import Campaign
from rules.dates import named_period, parse_date
from rules.text import clean, fold, match_key
from rules.verdict import Ok, Rejected

PROPOSED_WORDS = " de nghi khen thuong "


async def officer_scope(ctx: Ctx) -> Scope:
    return await scope_of(ctx.uow, ctx.person_id, OFFICER)


def command_words(ctx: Ctx) -> str:
    return clean(ctx.inbound.text or "").partition(" ")[2]


def parse_scope_args(ctx: Ctx, scope: Scope, typed: str) -> tuple[str, Period] | str:
    """`/stats [unit] [from] [to]`, or a named period (`tháng 3/2022`, `quý 1/2022`,
    `năm 2022`) in place of the dates; the unit defaults to the scope."""
    words = typed.split(" ") if typed else []
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
    unit = unit_in_scope(ctx, scope, query)
    return unit.message if isinstance(unit, Rejected) else (unit, period)


def unit_in_scope(ctx: Ctx, scope: Scope, query: str) -> str | Rejected:
    """The unit a code or name means (the scope's own when empty), if the scope covers it."""
    unit = _unit_of(ctx, query, scope)
    if unit is None:
        return Rejected(f"Không tìm thấy đơn vị “{query[:60]}”. Gửi mã hoặc tên đơn vị.")
    if not scope.covers(ctx.services.catalog, unit) or (unit == ALL and not scope.everything):
        return Rejected(OUT_OF_SCOPE)
    return unit


def _unit_of(ctx: Ctx, query: str, scope: Scope) -> str | None:
    catalog = ctx.services.catalog
    if not query:
        return scope.default_unit
    if match_key(query) in ("toan quoc", "ca nuoc", "") or query == ALL:
        return ALL
    if catalog.knows(query):  # a code, of this map or an older one (roles granted there)
        return query
    found = catalog.exact(query) or next(iter(catalog.search(query, 1)), None)
    return found.code if found else None


async def scoped(
    ctx: Ctx, step: Step | None, action: str, typed: str | None = None
) -> tuple[Scope, str, Period] | Outcome:
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, action, DENIED)
    parsed = parse_scope_args(ctx, scope, command_words(ctx) if typed is None else typed)
    if isinstance(parsed, str):
        if parsed == OUT_OF_SCOPE:
            return deny(ctx, step, action, OUT_OF_SCOPE)
        return notice_here(step, parsed)
    return scope, *parsed


async def _figures(ctx: Ctx, step: Step | None, action: str) -> Stats | Outcome:
    found = await scoped(ctx, step, action)
    if not isinstance(found, tuple):
        return found
    _scope, unit, period = found
    return await stats(ctx.uow.session, ctx.services.campaign, ctx.services.catalog, unit, period)


async def stats_command(ctx: Ctx, step: Step | None) -> Outcome:
    folded = fold(command_words(ctx))
    if folded.startswith(("khoi ", "cum ")):
        return await _group_stats(ctx, step, folded.partition(" ")[2])
    figures = await _figures(ctx, step, "/stats")
    if not isinstance(figures, Stats):
        return figures
    return notice_here(step, format_stats(figures))


async def _group_stats(ctx: Ctx, step: Step | None, words: str) -> Outcome:
    """`/stats khối <tên> [kỳ]`: the units of a cụm or khối thi đua ranked."""
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/stats", DENIED)
    campaign, catalog = ctx.services.campaign, ctx.services.catalog
    period, name = Period(), words
    named = named_period(words)
    if isinstance(named, Rejected):
        return notice_here(step, named.message)
    if named is not None:
        period, name = Period(named[0], named[1]), named[2]
    group = campaign.group(name)
    if group is None:
        if not campaign.groups:
            return notice_here(
                step,
                f"Không có cụm, khối thi đua “{name[:60]}”: chương trình chưa có cụm, khối thi "
                "đua nào. Quản trị viên nhập danh sách cụm, khối thì mới xem được.",
            )
        known = "; ".join(g.name for g in campaign.groups)
        return notice_here(step, f"Không có cụm, khối thi đua “{name[:60]}”. Có: {known}.")
    if not all(scope.covers(catalog, unit) for unit in group_units(catalog, group)):
        return deny(ctx, step, "/stats", OUT_OF_SCOPE)
    rows = await group_ranking(ctx.uow.session, campaign, catalog, group, period)
    return notice_here(step, format_group(campaign, group, period.text(), rows))


async def chart_command(ctx: Ctx, step: Step | None) -> Outcome:
    figures = await _figures(ctx, step, "/bieudo")
    if not isinstance(figures, Stats):
        return figures
    from bot.stats.chart import render_pngs  # matplotlib is slow to import; only when asked

    files = ctx.services.files
    pages = await asyncio.to_thread(render_pngs, figures)
    ctx.view["files"] = [
        OutgoingFile(
            str(files.path_for(await files.put(png, "png"), "png")),
            f"bieu-do-{number}.png" if len(pages) > 1 else "bieu-do.png",
            "image/png",
            photo=True,
        )
        for number, png in enumerate(pages, 1)
    ]
    more = f" ({len(pages)} trang)" if len(pages) > 1 else ""
    return notice_here(step, f"Biểu đồ: {figures.scope_label}{more}.")


def nominated_levels(campaign: Campaign, typed: str) -> tuple[tuple[str, ...], str]:
    """“đề nghị khen thưởng [cấp tỉnh]” in folded words: the award levels meant (all of
    them, or the one named after), and the words left."""
    if PROPOSED_WORDS not in f" {typed} ":
        return (), typed
    before, _, after = f" {typed} ".partition(PROPOSED_WORDS)
    for level in campaign.award_levels:
        for name in (fold(level.short_name), level.code):
            if f" {after} ".startswith(f" {name} "):
                return (level.code,), f"{before} {after[len(name) :]}".strip()
    return tuple(level.code for level in campaign.award_levels), f"{before} {after}".strip()


async def export_command(ctx: Ctx, step: Step | None) -> Outcome:
    """`/xuat [unit] [period] [status]`: the award file; valid (“Hợp lệ”) submissions unless a
    status or “tất cả” is named."""
    typed = fold(command_words(ctx))
    levels, typed = nominated_levels(ctx.services.campaign, typed)
    status, rest = named_status(typed)
    statuses = EVERY if status == EVERY_STATUS else (status,) if status else VALID
    found = await scoped(ctx, step, "/xuat", rest if status or levels else None)
    if not isinstance(found, tuple):
        return found
    scope, unit, period = found
    catalog = ctx.services.catalog
    personal = scope.holds(catalog, unit, SEES_PHONES)
    request = ExportRequest(
        ctx.services.campaign,
        catalog,
        unit,
        period,
        with_phones=personal,
        statuses=statuses,
        levels=levels,
    )
    # A long read: the update's own transaction is committed first and the writers are let
    # in meanwhile, so that other chats are answered while the file is made.
    async with ctx.uow.paused():
        files = await ctx.services.exports.run(request)
    store = ctx.services.files
    await store.sweep_exports()
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
            XLSX_MIME,
            export=True,
            personal=personal,
        ),
        OutgoingFile(
            str(csv), "tong-hop-sang-kien.csv", "text/csv", export=True, personal=personal
        ),
    ]
    which = "" if statuses == EVERY else " " + ", ".join(STATUS_NAMES[s].lower() for s in statuses)
    return notice_here(
        step, f"Bảng tổng hợp: {request.scope_label}, {files.rows} sáng kiến{which}."
    )
