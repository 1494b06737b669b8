"""Reaching people, in chat: an officer's /thongbao (preview with the number of people, an
optional file, confirm, progress, cancel) and /baocaothang (the monthly report, on or off),
and everyone's /tatthongbao and /batthongbao."""

from __future__ import annotations

from bot.access import DENIED, Scope
from bot.dialogs.confirm import ConfirmStep, ask_to_confirm
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step, deny, notice_here
from bot.dialogs.officer import command_words, officer_scope
from bot.dialogs.types import IncomingFile
from bot.outbox import queued_file
from bot.reach import announcements, monthly
from bot.reach.announcements import Audience
from rules.campaigns import TZ
from rules.files import ACCEPTED_TEXT, identify_file, safe_filename
from rules.text import fold
from rules.units import WHOLE_COUNTRY
from rules.verdict import Rejected

DRAFT = "broadcast"  # the text waiting for “Có”, with the preview's count and sender
HOW_TO = (
    "Cách dùng: /thongbao <nội dung> để gửi thông báo đến đoàn viên thuộc đơn vị bạn phụ "
    "trách (người đã đồng ý nhận tin); /thongbao hủy <số> để dừng một thông báo đang gửi."
)
CANCEL_WORDS = ("huy", "dung")
MUTED = (
    "Đã tắt thông báo và nhắc việc. Bạn vẫn nhận trả lời của tổ hỗ trợ và kết quả xét sáng "
    "kiến. Bật lại: /batthongbao"
)
UNMUTED = "Đã bật lại thông báo và nhắc việc. Tắt: /tatthongbao"
NOBODY = (
    "Chưa có đoàn viên nào thuộc đơn vị bạn phụ trách nhận được thông báo (người đã đồng ý "
    "nhận tin và chưa tắt thông báo). Thông báo chưa được gửi."
)
NOT_SIGNED_IN = "Bạn cần đăng nhập trước (gửi số điện thoại) để chọn nhận hay không nhận tin."


def _audience(ctx: Ctx, scope: Scope) -> Audience:
    catalog = ctx.services.catalog
    return Audience(
        ctx.services.campaign.code,
        scope.units(catalog),
        WHOLE_COUNTRY if scope.everything else ",".join(scope.roots),
    )


def _sender(ctx: Ctx, scope: Scope) -> str:
    catalog = ctx.services.catalog
    return catalog.union_name(WHOLE_COUNTRY if scope.everything else scope.roots[0])


async def announce_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/thongbao [nội dung | hủy <số>]."""
    scope = await officer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/thongbao", DENIED)
    typed = command_words(ctx).strip()
    first, _, rest = typed.partition(" ")
    if fold(first) in CANCEL_WORDS:
        return notice_here(step, await _cancel(ctx, rest.strip()))
    if not typed:
        return notice_here(step, "\n".join([*await _progress_lines(ctx), HOW_TO]))
    if len(typed) > announcements.LONGEST:
        return notice_here(
            step,
            f"Thông báo dài {len(typed)} ký tự; tối đa {announcements.LONGEST} ký tự để gửi "
            "được trên Zalo. Vui lòng rút gọn rồi gửi lại.",
        )
    reached = await announcements.count_recipients(ctx.uow, _audience(ctx, scope))
    if not reached:
        return notice_here(step, NOBODY)
    ctx.state[DRAFT] = {"text": typed, "reached": reached, "sender": _sender(ctx, scope)}
    return ask_to_confirm(ctx, AnnounceConfirmStep.key)


async def _progress_lines(ctx: Ctx) -> list[str]:
    lines = []
    for shown in await announcements.progress(ctx.uow, ctx.person_id):
        made = shown.broadcast
        state = "đã dừng" if made.cancelled_at else "xong" if not shown.waiting else "đang gửi"
        lines.append(
            f"Thông báo số {made.id} ({made.created_at.astimezone(TZ):%d/%m %H:%M}), {state}: "
            f"đã gửi "
            f"{shown.sent}/{made.recipients}, chờ {shown.waiting}, không gửi được "
            f"{shown.given_up}."
        )
    return lines or ["Bạn chưa gửi thông báo nào."]


async def _cancel(ctx: Ctx, typed: str) -> str:
    if not typed.isdigit():
        return "Cách dùng: /thongbao hủy <số thông báo>, ví dụ: /thongbao hủy 3."
    dropped = await announcements.cancel(ctx.uow, int(typed), ctx.person_id, ctx.now)
    if dropped is None:
        return f"Không có thông báo số {typed} do bạn gửi."
    ctx.uow.audit.record(
        ctx.now,
        "broadcast.cancelled",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
        subject=typed,
        detail={"not_sent": dropped},
    )
    return f"Đã dừng thông báo số {typed}: {dropped} tin chưa gửi sẽ không gửi nữa."


class AnnounceConfirmStep(ConfirmStep):
    key = "announce_confirm"
    yes_label = "Có, gửi thông báo"
    no_label = "Không, chưa gửi"
    kept = "Chưa gửi thông báo."

    def text(self, ctx: Ctx) -> str:
        draft = ctx.state.get(DRAFT) or {}
        attached = draft.get("file")
        extra = (
            f"Tệp gửi kèm: {attached['name']} (gửi tệp khác để thay)."
            if attached
            else f"Muốn gửi kèm một tệp ({ACCEPTED_TEXT}): gửi tệp ngay bây giờ."
        )
        return (
            f"Thông báo sẽ gửi đến {draft.get('reached', 0)} người (đã đồng ý nhận tin, "
            f"chưa tắt thông báo):\n\n{announcements.heading(str(draft.get('sender', '')))}\n"
            f"{draft.get('text', '')}\n\n{extra}\nGửi thông báo này?"
        )

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> Outcome:
        """The file to send with the announcement (one; a second replaces it)."""
        draft = ctx.state.get(DRAFT)
        if not draft:
            return Goto("menu", "Không còn thông báo nào chờ gửi.")
        verdict = identify_file(file.data, ctx.services.max_file_bytes)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        kind = verdict.value
        stored = ctx.services.files.path_for(
            await ctx.services.files.put(file.data, kind.extension), kind.extension
        )
        name = safe_filename(file.filename, kind.extension)
        ctx.state[DRAFT] = {**draft, "file": queued_file(stored, name, kind.mime)}
        return Goto(self.key, f"Đã nhận tệp {name}.")

    async def confirmed(self, ctx: Ctx) -> Outcome:
        scope = await officer_scope(ctx)
        draft = ctx.state.pop(DRAFT, None) or {}
        text = draft.get("text")
        if not scope or not text:
            return Goto("menu", "Không còn thông báo nào chờ gửi.")
        sender = str(draft.get("sender") or _sender(ctx, scope))  # as the preview showed
        attached = draft.get("file")
        made = await announcements.announce(
            ctx.uow, _audience(ctx, scope), text, sender, ctx.person_id, ctx.now, attached
        )
        ctx.uow.audit.record(
            ctx.now,
            "broadcast.created",
            person_id=ctx.person_id,
            channel=ctx.inbound.channel,
            subject=str(made.id),
            detail={
                "recipients": made.recipients,
                "scope": made.unit_code,
                "file": attached["stored"] if attached else None,
            },
        )
        return Goto(
            "menu",
            f"Đã xếp gửi thông báo số {made.id} đến {made.recipients} người; tin trả lời cho "
            f"đoàn viên luôn được gửi trước. Xem tiến độ: /thongbao; dừng: /thongbao hủy "
            f"{made.id}.",
        )


async def mute_command(ctx: Ctx, step: Step | None) -> Outcome:
    return await _set(ctx, step, on=False)


async def unmute_command(ctx: Ctx, step: Step | None) -> Outcome:
    return await _set(ctx, step, on=True)


async def _set(ctx: Ctx, step: Step | None, *, on: bool) -> Outcome:
    if ctx.person_id is None:
        return notice_here(step, NOT_SIGNED_IN)
    await announcements.set_announcements(ctx.uow, ctx.person_id, on, ctx.now)
    ctx.uow.audit.record(
        ctx.now,
        "announcements.on" if on else "announcements.off",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
    )
    return notice_here(step, UNMUTED if on else MUTED)


MONTHLY_WORDS = {"bat": True, "nhan": True, "co": True, "tat": False, "huy": False, "khong": False}


async def monthly_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/baocaothang [bật | tắt]: last month's figures and table, in the chat, each month."""
    scope = await officer_scope(ctx)
    if not scope or ctx.person_id is None:
        return deny(ctx, step, "/baocaothang", DENIED)
    day = ctx.services.campaign.monthly_report_day
    if day is None:
        return notice_here(step, "Chương trình này không gửi báo cáo tháng.")
    word = fold(command_words(ctx))
    if word not in MONTHLY_WORDS:
        on = await monthly.wants_monthly(ctx.uow, ctx.person_id)
        now_text = "Bạn đang nhận báo cáo tháng." if on else "Bạn chưa nhận báo cáo tháng."
        return notice_here(step, f"{now_text} {_monthly_how(ctx, scope, day)}")
    on = MONTHLY_WORDS[word]
    await monthly.set_monthly(ctx.uow, ctx.person_id, on, ctx.now)
    ctx.uow.audit.record(
        ctx.now,
        "monthly_report.on" if on else "monthly_report.off",
        person_id=ctx.person_id,
        channel=ctx.inbound.channel,
    )
    if on:
        return notice_here(step, f"Đã đăng ký báo cáo tháng. {_monthly_how(ctx, scope, day)}")
    return notice_here(step, "Đã thôi nhận báo cáo tháng. Nhận lại: /baocaothang bật")


def _monthly_how(ctx: Ctx, scope: Scope, day: int) -> str:
    label = ctx.services.catalog.union_name(scope.default_unit)
    return (
        f"Ngày {day} hằng tháng (từ 7 giờ sáng), bot gửi số liệu tháng trước của {label} và "
        "bảng tổng hợp (XLSX) vào cuộc trò chuyện này. Bật: /baocaothang bật; tắt: "
        "/baocaothang tắt."
    )
