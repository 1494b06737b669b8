"""One person, many channels: `/lienket` shows a one-time code, `/lienket CODE` redeems it."""

from __future__ import annotations

from datetime import timedelta

from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from rules.text import clean

CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
HOW_TO = (
    "Để dùng chung hồ sơ giữa Zalo và Telegram: trên tài khoản đã đăng nhập, gửi /lienket để "
    "lấy mã; rồi trên tài khoản kia gửi /lienket kèm mã, ví dụ: /lienket 482913."
)


def _argument(ctx: Ctx) -> str:
    text = clean(ctx.inbound.text or "")
    return text.partition(" ")[2].replace(" ", "")


async def link_command(ctx: Ctx, step: Step | None) -> Outcome:
    here = step.key if step else "menu"
    if not ctx.consented:
        return Goto("consent", "Vui lòng đọc và đồng ý với thông báo dưới đây trước khi liên kết.")
    code = _argument(ctx)
    if not code:
        return await _issue(ctx, here)
    return await _redeem(ctx, code, here)


async def _issue(ctx: Ctx, here: str) -> Outcome:
    if ctx.person is None:
        return Goto(here, HOW_TO)
    code = await ctx.uow.links.issue(ctx.person.id, ctx.now, CODE_TTL)
    ctx.uow.audit.record(
        ctx.now, "link.issued", person_id=ctx.person.id, channel=ctx.inbound.channel
    )
    minutes = int(CODE_TTL.total_seconds() // 60)
    return Goto(
        here,
        (
            f"Mã liên kết của bạn: {code}\nMã dùng một lần, hết hạn sau {minutes} phút. Trên kênh "
            f"kia (Zalo hoặc Telegram), gửi: /lienket {code}\nĐừng đưa mã này cho người khác."
        ),
    )


def _recent_failures(ctx: Ctx) -> list[str]:
    since = (ctx.now - FAILURE_WINDOW).isoformat()
    return [at for at in ctx.state.get("link_failures", []) if at > since]


async def _redeem(ctx: Ctx, code: str, here: str) -> Outcome:
    failures = _recent_failures(ctx)
    if len(failures) >= MAX_FAILURES:
        return Stay("Bạn đã nhập sai mã quá nhiều lần. Vui lòng thử lại sau một giờ.")
    link = await ctx.uow.links.peek(code, ctx.now) if code.isdigit() else None
    if link is None:
        ctx.state["link_failures"] = [*failures, ctx.now.isoformat()]
        ctx.uow.audit.record(ctx.now, "link.refused", channel=ctx.inbound.channel)
        return Stay(
            "Mã liên kết không đúng hoặc đã hết hạn. Hãy lấy mã mới bằng /lienket "
            "trên tài khoản đã đăng nhập."
        )
    current = ctx.person
    if current is not None and current.id == link.person_id:
        return Goto(here, "Tài khoản này đã được liên kết với hồ sơ của bạn.")
    if current is not None and await ctx.uow.submissions.count_of_person(current.id):
        return Stay(
            "Tài khoản này đã có sáng kiến gửi riêng nên không gộp được. Vui lòng gõ "
            "/hotro để được tổ hỗ trợ giúp."
        )
    identity = ctx.identity
    assert identity is not None
    person = await ctx.uow.people.person(link.person_id)
    assert person is not None
    await ctx.uow.links.use(link, ctx.now)
    identity.person_id = person.id
    ctx.person = person
    ctx.uow.audit.record(ctx.now, "link.used", person_id=person.id, channel=ctx.inbound.channel)
    return Goto("menu", "Đã liên kết. Từ nay hồ sơ và sáng kiến của bạn dùng chung trên các kênh.")
