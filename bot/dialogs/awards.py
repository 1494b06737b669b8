"""The award season in chat: /khenthuong (the levels, nominating, withdrawing), /khieunai,
/tranhchap and /gokhieunai (marking an initiative under complaint or dispute), /hoso (the
dossier of a level, made in the export process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.access import ADMIN, DENIED, SEES_PHONES, scope_of
from bot.awards import disputes, season
from bot.dialogs.engine import Ctx, Outcome, Step, deny, notice_here
from bot.dialogs.officer import command_words, officer_scope, scoped, unit_in_scope
from bot.dialogs.review_desk import after_code, submission_code
from bot.dialogs.types import OutgoingFile
from bot.store.counters import ALL
from bot.store.models import Submission
from rules.dates import parse_date
from rules.text import fold
from rules.verdict import Ok, Rejected

if TYPE_CHECKING:
    from bot.awards.dossier import DossierFile

HOW_TO = (
    "Cách dùng: /khenthuong xem các cấp khen thưởng; /khenthuong <cấp> <mã sáng kiến> [số "
    "tiêu chí] để đề nghị; /khenthuong rút <cấp> <mã> để rút. Cấp: {levels}."
)
WITHDRAW_WORDS = ("rut", "bo")


def _levels(ctx: Ctx) -> str:
    levels = ctx.services.campaign.award_levels
    return ", ".join(f"{level.code} ({level.short_name})" for level in levels) or "chưa có"


def _first_level(ctx: Ctx) -> str:
    """The level the examples in the how-to lines name."""
    levels = ctx.services.campaign.award_levels
    return levels[0].code if levels else "tinh"


def _how_to(ctx: Ctx) -> str:
    return HOW_TO.format(levels=_levels(ctx))


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


DOSSIER_HOW_TO = "Cách dùng: /hoso <cấp> [đơn vị], ví dụ: /hoso {code}. Cấp: {levels}."


async def dossier_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/hoso <cấp> [đơn vị]: the Tờ trình, the Biên bản họp xét and mẫu 1 of the unit's
    nominations at a level, made in the export process and sent as files."""
    from bot.awards.dossier import DossierRequest, dossier_in_process  # python-docx: 0.08 s

    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/hoso", DENIED)
    campaign, catalog = ctx.services.campaign, ctx.services.catalog
    level_word, _, rest = command_words(ctx).partition(" ")
    level = season.level_named(campaign, fold(level_word))
    if isinstance(level, Rejected):
        how_to = DOSSIER_HOW_TO.format(code=_first_level(ctx), levels=_levels(ctx))
        return notice_here(step, how_to if not level_word else f"{level.message}\n{how_to}")
    found = await scoped(ctx, step, "/hoso", rest)
    if not isinstance(found, tuple):
        return found
    _scope, unit, _period = found
    if unit == ALL:
        return notice_here(step, "Cần ghi đơn vị lập hồ sơ, ví dụ: /hoso tld t01.")
    top = season.top_unit(catalog, unit)
    if not scope.holds(catalog, top, season.NOMINATORS):
        return notice_here(step, f"Hồ sơ khen thưởng do cán bộ của {catalog.describe(top)} lập.")
    asked = DossierRequest(
        campaign,
        catalog,
        level.value,
        top,
        ctx.now,
        with_phones=scope.holds(catalog, top, SEES_PHONES),
    )
    async with ctx.uow.paused():  # the files are made in the export process meanwhile
        made = await ctx.services.exports.call(dossier_in_process, asked)
    if isinstance(made, Rejected):
        return notice_here(step, made.message)
    ctx.view["files"] = [await _stored(ctx, file, asked.with_phones) for file in made.value]
    ctx.uow.audit.record(
        ctx.now,
        "award.dossier",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
        subject=f"{level.value.code}@{top}",
    )
    late = await season.closed_for(ctx.uow, campaign, level.value, top, ctx.now)
    return notice_here(
        step,
        f"Hồ sơ đề nghị khen thưởng cấp “{level.value.name}” của {catalog.describe(top)}: "
        "Tờ trình, Biên bản họp xét, Bảng tổng hợp mẫu 1 (Word và Excel). Số văn bản, ngày "
        "ký và kết quả biểu quyết để trống, điền trước khi ký."
        + (f"\nLưu ý: {late}" if late else ""),
    )


async def _stored(ctx: Ctx, made: DossierFile, personal: bool) -> OutgoingFile:
    extension = made.name.rpartition(".")[2]
    path = await ctx.services.files.put_export(made.data, extension)
    return OutgoingFile(str(path), made.name, made.mime, export=True, personal=personal)


REOPEN_HOW_TO = (
    "Cách dùng: /molai <cấp> [đơn vị] <đến ngày> <lý do>, ví dụ: /molai {code} 20/4/2021 "
    "đơn vị gửi bổ sung hồ sơ. Không ghi đơn vị: đơn vị bạn quản trị."
)


async def reopen_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/molai <cấp> [đơn vị] <đến ngày> <lý do>: an admin reopens a level past its deadline
    for a top unit (or for every one, with “toàn quốc”); audited with the reason."""
    scope = await scope_of(ctx.uow, ctx.person_id, ADMIN)
    if not scope:
        return deny(ctx, step, "/molai", DENIED)
    campaign, catalog = ctx.services.campaign, ctx.services.catalog
    words = command_words(ctx).split()
    how_to = REOPEN_HOW_TO.format(code=_first_level(ctx))
    level = season.level_named(campaign, fold(words[0]) if words else "")
    if isinstance(level, Rejected):
        return notice_here(step, f"{level.message}\n{how_to}" if words else how_to)
    dated = next(
        (
            (index, day.value)
            for index, word in enumerate(words[1:], 1)
            if isinstance(day := parse_date(word), Ok)
        ),
        None,
    )
    if dated is None:
        return notice_here(step, f"Thiếu ngày mở lại đến, dạng ngày/tháng/năm.\n{how_to}")
    index, until = dated
    unit = unit_in_scope(ctx, scope, " ".join(words[1:index]))
    if isinstance(unit, Rejected):
        return notice_here(step, unit.message)
    top = unit if unit == ALL else season.top_unit(catalog, unit)
    asked = season.Reopening(
        campaign, catalog, level.value, top, until, " ".join(words[index + 1 :])
    )
    actor = season.Actor(ctx.person_id, scope, ctx.inbound.channel)
    return notice_here(step, season.said(await season.reopen(ctx.uow, asked, actor, ctx.now)))
