"""`/nhanquyen CODE`: a role is taken in the chat it will be used from, with a one-time code
the operator issued (`sangkien grant`), never given to whoever typed a phone number."""

from __future__ import annotations

from bot.access import HELPER, OFFICER, ROLE_NAMES
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.guard import TOO_MANY, count_failure, locked_out
from bot.store.models import RoleClaim
from bot.store.uow import MAX_CODE_FAILURES
from rules.phone import mask_phone
from rules.text import clean

CLAIM = "claim"
HOW_TO = (
    "Gửi /nhanquyen kèm mã nhận quyền mà quản trị viên đã gửi riêng cho bạn, "
    "ví dụ: /nhanquyen 12-ABCD2345EFGH."
)
WRONG = "Mã nhận quyền không đúng, đã dùng hoặc đã hết hạn. Vui lòng xin quản trị viên mã mới."
FOR_ANOTHER = (
    "Mã này được cấp cho số điện thoại {phone}, đã xác minh qua Telegram. Hãy đăng nhập trên "
    "Telegram bằng nút “📱 Gửi số điện thoại của tôi” với đúng số đó, rồi gửi lại mã."
)


async def claim_role_command(ctx: Ctx, step: Step | None) -> Outcome:
    here = step.key if step else "menu"
    person = ctx.person
    if person is None:
        return Goto("phone", "Vui lòng đăng nhập trước khi nhận quyền.")
    code = clean(ctx.inbound.text or "").partition(" ")[2].replace(" ", "")
    if not code:
        return Goto(here, HOW_TO)
    if await locked_out(ctx, CLAIM):
        return Stay(TOO_MANY)
    claim, right = await ctx.uow.claims.find(code)
    if claim is None or not _open(ctx, claim):
        await count_failure(ctx, CLAIM)
        ctx.uow.audit.record(ctx.now, "role.claim_refused", person_id=person.id)
        return Stay(WRONG)
    if not right:
        return await _wrong_secret(ctx, claim)
    if claim.phone is not None and (
        person.phone != claim.phone or person.phone_verified_at is None
    ):
        ctx.uow.audit.record(
            ctx.now, "role.claim_refused", person_id=person.id, subject=str(claim.id)
        )
        return Stay(FOR_ANOTHER.format(phone=mask_phone(claim.phone)))
    await ctx.uow.roles.grant(
        person.id, claim.role, claim.unit_code, ctx.now, phone=person.phone, claim_id=claim.id
    )
    claim.used_at, claim.used_by = ctx.now, person.id
    ctx.uow.audit.record(
        ctx.now,
        "role.claimed",
        person_id=person.id,
        channel=ctx.inbound.channel,
        subject=f"{claim.role}@{claim.unit_code}",
        detail={"claim": claim.id},
    )
    where = ctx.services.catalog.where(claim.unit_code)
    return Goto(here, f"Bạn đã nhận quyền {ROLE_NAMES[claim.role]} {where}. {_next(claim)}")


def _open(ctx: Ctx, claim: RoleClaim) -> bool:
    return (
        claim.used_at is None
        and claim.revoked_at is None
        and claim.expires_at > ctx.now
        and claim.failures < MAX_CODE_FAILURES
    )


async def _wrong_secret(ctx: Ctx, claim: RoleClaim) -> Outcome:
    """Someone knows the claim's number but not its secret: the claim counts it too."""
    await count_failure(ctx, CLAIM)
    claim.failures += 1
    ctx.uow.audit.record(
        ctx.now,
        "role.claim_burnt" if claim.failures >= MAX_CODE_FAILURES else "role.claim_refused",
        person_id=ctx.person_id,
        subject=str(claim.id),
    )
    return Stay(WRONG)


def _next(claim: RoleClaim) -> str:
    if claim.role == HELPER:
        return "Gõ /ve để xem các câu hỏi đang chờ."
    if claim.role == OFFICER:
        return "Gõ /duyet để duyệt sáng kiến, /thongke để xem số liệu."
    return "Gõ /duyet, /thongke hoặc /ve để bắt đầu."
