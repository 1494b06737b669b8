"""One person, many channels: `/lienket` shows a one-time code, `/lienket CODE` redeems it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update

from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.guard import TOO_MANY, count_failure, locked_out
from bot.store.committer import PROFILE_FIELDS
from bot.store.models import LinkCode, Person, SupportTicket, TicketMessage
from rules.text import clean

CODE_TTL = timedelta(minutes=10)
LINK = "link"
BURNT = (
    "Mã liên kết bạn vừa lấy đã bị hủy vì có người nhập sai mã nhiều lần. Nếu bạn vẫn cần "
    "liên kết, gửi /lienket để lấy mã mới."
)
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


async def _redeem(ctx: Ctx, code: str, here: str) -> Outcome:
    if await locked_out(ctx, LINK):
        return Stay(TOO_MANY)
    link = await ctx.uow.links.peek(code, ctx.now) if code.isdigit() else None
    if link is None:
        await _wrong_code(ctx)
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
    if current is not None and not await ctx.uow.people.other_identities(current.id, 0):
        await _fold(ctx, current, person)
    ctx.person = person
    ctx.uow.audit.record(ctx.now, "link.used", person_id=person.id, channel=ctx.inbound.channel)
    return Goto("menu", "Đã liên kết. Từ nay hồ sơ và sáng kiến của bạn dùng chung trên các kênh.")


async def _wrong_code(ctx: Ctx) -> None:
    """Counted against the sender and against every live code it might have been aimed at;
    the owners of the codes this burnt are told."""
    await count_failure(ctx, LINK)
    ctx.uow.audit.record(ctx.now, "link.refused", channel=ctx.inbound.channel)
    for owner in await ctx.uow.links.count_wrong_guess(ctx.now):
        await ctx.uow.outbox.to_person(owner, {"text": BURNT}, ctx.now)
        ctx.uow.audit.record(ctx.now, "link.burnt", person_id=owner)


async def _fold(ctx: Ctx, leftover: Person, target: Person) -> None:
    """The person this account was before joining `target`, now used by no account: what it
    held moves to the target (roles, questions to the support team, its number where the
    target has none) and the row is emptied, so that nothing can log into it again."""
    uow, session = ctx.uow, ctx.uow.session
    for grant in await uow.roles.of_person(leftover.id):
        await uow.roles.grant(
            target.id,
            grant.role,
            grant.unit_code,
            grant.granted_at,
            phone=grant.phone,
            claim_id=grant.claim_id,
        )
        await session.delete(grant)
    for model in (SupportTicket, TicketMessage):
        await session.execute(
            update(model).where(model.person_id == leftover.id).values(person_id=target.id)
        )
    await session.execute(delete(LinkCode).where(LinkCode.person_id == leftover.id))
    phone, verified_at = leftover.phone, leftover.phone_verified_at
    for name in ("phone", "phone_verified_at", *PROFILE_FIELDS):
        setattr(leftover, name, None)
    leftover.updated_at = ctx.now
    await session.flush()
    if phone and target.phone in (None, phone):
        target.phone = phone
        target.phone_verified_at = target.phone_verified_at or verified_at
        target.updated_at = ctx.now
    uow.audit.record(ctx.now, "person.merged", person_id=target.id, subject=str(leftover.id))
