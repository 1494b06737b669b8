"""Support in the chat: askers' tickets from /hotro, and the helpers' commands."""

from __future__ import annotations

from datetime import timedelta

from bot import support
from bot.access import HELPER, Scope, scope_of
from bot.dialogs.engine import Ctx, Outcome, Stay, Step, deny, notice_here
from bot.dialogs.submission import STEP_NAMES
from bot.store.models import SupportTicket
from rules.fields import parse_long_text
from rules.text import clean
from rules.verdict import Rejected

BLOCKED = "Tin nhắn của bạn hiện không được chuyển tới tổ hỗ trợ."
NOT_FOUND = "Không tìm thấy phiếu này, hoặc phiếu nằm ngoài phạm vi bạn được phân quyền."
NEED_LOGIN = "Vui lòng đăng nhập (gõ /start) trước khi hỏi tư vấn viên."
DENIED = "Lệnh này dành cho tổ hỗ trợ sáng kiến được phân quyền."


def _context(ctx: Ctx) -> str | None:
    step = ctx.state.get("help_return")
    if not ctx.has_draft or not step:
        return None
    title = ctx.draft.get("title") or "chưa có tên"
    if len(title) > 100:  # the ticket keeps 200 characters of context
        title = title[:99] + "…"
    where = STEP_NAMES.get(ctx.draft.get("step") or step) or STEP_NAMES.get(step)
    return f"bản nháp “{title}”, bước “{where}”" if where else f"bản nháp “{title}”"


async def ask(ctx: Ctx, question: str) -> Outcome:
    """Open a ticket, or add to the asker's open one."""
    person = ctx.person
    if person is None:
        return Stay(NEED_LOGIN)
    if person.blocked_at is not None:
        return Stay(BLOCKED)
    verdict = parse_long_text(question, "câu hỏi", 1000)
    if isinstance(verdict, Rejected):
        return Stay(verdict.message)
    services = ctx.services
    ticket = await support.open_of_person(ctx.uow, person.id)
    if ticket is not None:
        await support.follow_up(
            ctx.uow,
            services.catalog,
            ticket,
            person,
            verdict.value,
            ctx.now,
            services.helper_groups,
        )
        return Stay(f"Đã chuyển tin nhắn tới tổ hỗ trợ (phiếu {support.ticket_code(ticket.id)}).")
    ticket, reached = await support.open_ticket(
        ctx.uow,
        services.catalog,
        person,
        verdict.value,
        _context(ctx),
        ctx.now,
        services.helper_groups,
    )
    ctx.local.pop("pending", None)
    ctx.local.pop("asking", None)
    code = support.ticket_code(ticket.id)
    if not reached:
        return Stay(
            f"Câu hỏi đã được lưu, số phiếu {code}. Hiện chưa có người trực hỗ trợ cho đơn vị "
            "của bạn trên kênh này, nên câu trả lời có thể chậm; khi có người nhận, câu trả lời "
            "sẽ đến trong cuộc trò chuyện này. Trong lúc chờ, bạn có thể xem các câu hỏi thường "
            "gặp. Chọn “Quay lại” để làm tiếp việc đang dở."
        )
    return Stay(
        f"Đã gửi câu hỏi tới tổ hỗ trợ, số phiếu {code}. Câu trả lời sẽ đến ngay trong cuộc "
        "trò chuyện này. Chọn “Quay lại” để làm tiếp việc đang dở."
    )


async def _helper_scope(ctx: Ctx) -> Scope:
    return await scope_of(ctx.uow, ctx.person_id, HELPER)


async def _ticket_arg(
    ctx: Ctx, step: Step | None, action: str
) -> tuple[Scope, SupportTicket, str] | Outcome:
    """Check the role, parse `<ticket> [text]`, and load the ticket if the scope covers it."""
    scope = await _helper_scope(ctx)
    if not scope:
        return deny(ctx, step, action, DENIED)
    _command, _, rest = clean(ctx.inbound.text or "").partition(" ")
    number, _, text = rest.partition(" ")
    ticket_id = support.parse_ticket(number) if number else None
    ticket = None
    if ticket_id is not None:
        ticket = await support.get_visible(ctx.uow, ctx.services.catalog, scope, ticket_id)
    if ticket is None:
        return deny(
            ctx,
            step,
            action,
            NOT_FOUND + f" Cú pháp: {action} HT-000123 …",
            {"ticket": number[:20]},
        )
    return scope, ticket, text


async def answer_command(ctx: Ctx, step: Step | None) -> Outcome:
    loaded = await _ticket_arg(ctx, step, "/tl")
    if not isinstance(loaded, tuple):
        return loaded
    _scope, ticket, text = loaded
    code = support.ticket_code(ticket.id)
    if ticket.status == support.CLOSED:
        return notice_here(step, f"Phiếu {code} đã đóng.")
    canned = ctx.services.campaign.canned
    if text.startswith("#") and text[1:].isdigit():
        index = int(text[1:]) - 1
        if not 0 <= index < len(canned):
            return notice_here(step, f"Không có mẫu số {text[1:]}. Gõ /mau để xem các mẫu.")
        text = canned[index]
    verdict = parse_long_text(text, "câu trả lời", 2000)
    if isinstance(verdict, Rejected):
        return notice_here(step, verdict.message)
    assert ctx.person is not None
    await support.answer(ctx.uow, ticket, ctx.person.id, verdict.value, ctx.now)
    return notice_here(step, f"Đã gửi câu trả lời cho phiếu {code}.")


async def claim_command(ctx: Ctx, step: Step | None) -> Outcome:
    loaded = await _ticket_arg(ctx, step, "/nhan")
    if not isinstance(loaded, tuple):
        return loaded
    _scope, ticket, _text = loaded
    assert ctx.person is not None
    if ticket.status == support.CLOSED:
        return notice_here(step, f"Phiếu {support.ticket_code(ticket.id)} đã đóng.")
    ticket.status, ticket.claimed_by = support.CLAIMED, ctx.person.id
    return notice_here(step, f"Bạn đã nhận xử lý phiếu {support.ticket_code(ticket.id)}.")


async def close_command(ctx: Ctx, step: Step | None) -> Outcome:
    loaded = await _ticket_arg(ctx, step, "/dong")
    if not isinstance(loaded, tuple):
        return loaded
    _scope, ticket, _text = loaded
    assert ctx.person is not None
    await support.close(ctx.uow, ticket, ctx.person.id, ctx.now)
    return notice_here(step, f"Đã đóng phiếu {support.ticket_code(ticket.id)}.")


async def block_command(ctx: Ctx, step: Step | None) -> Outcome:
    loaded = await _ticket_arg(ctx, step, "/chan")
    if not isinstance(loaded, tuple):
        return loaded
    _scope, ticket, _text = loaded
    asker = await ctx.uow.people.person(ticket.person_id)
    assert asker is not None and ctx.person is not None
    asker.blocked_at = ctx.now
    ctx.uow.audit.record(
        ctx.now, "person.blocked", person_id=ctx.person.id, subject=support.ticket_code(ticket.id)
    )
    await support.close(ctx.uow, ticket, ctx.person.id, ctx.now)
    return notice_here(
        step,
        f"Đã chặn người hỏi phiếu {support.ticket_code(ticket.id)}; tin nhắn "
        "của họ sẽ không được chuyển tới tổ hỗ trợ.",
    )


async def queue_command(ctx: Ctx, step: Step | None) -> Outcome:
    scope = await _helper_scope(ctx)
    if not scope:
        return deny(ctx, step, "/ve", DENIED)
    tickets = await support.open_in_scope(ctx.uow, ctx.services.catalog, scope)
    if not tickets:
        return notice_here(step, "Không có câu hỏi nào đang mở trong phạm vi của bạn.")
    lines = ["Câu hỏi đang mở (cũ nhất trước):"]
    for ticket in tickets:
        waited = _minutes(ctx.now - ticket.created_at)
        state = "đã nhận" if ticket.status == support.CLAIMED else "chờ"
        lines.append(
            f"• {support.ticket_code(ticket.id)} · {state} · {waited} · "
            f"{ctx.services.catalog.describe(ticket.unit_code)}"
        )
    return notice_here(step, "\n".join(lines))


async def canned_command(ctx: Ctx, step: Step | None) -> Outcome:
    if not await _helper_scope(ctx):
        return deny(ctx, step, "/mau", DENIED)
    canned = ctx.services.campaign.canned
    if not canned:
        return notice_here(step, "Chưa có câu trả lời mẫu.")
    lines = ["Câu trả lời mẫu (gửi bằng /tl HT-000123 #số):"]
    lines += [f"#{i}. {text}" for i, text in enumerate(canned, 1)]
    return notice_here(step, "\n".join(lines))


def _minutes(waited: timedelta) -> str:
    minutes = int(waited.total_seconds() // 60)
    return f"{minutes // 60} giờ {minutes % 60} phút" if minutes >= 60 else f"{minutes} phút"
