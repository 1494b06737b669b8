"""Consent, login by phone, and the personal details offered again on every submission."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step
from bot.dialogs.types import NO_KEYS, YES_KEYS, Expect, Option
from rules.phone import mask_phone, parse_phone
from rules.verdict import Rejected

CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "Chào bạn! Đây là kênh nộp sáng kiến của tổ chức Công đoàn qua Zalo và Telegram.\n\n"
    "Trước khi bắt đầu, xin bạn đọc thông báo về xử lý dữ liệu cá nhân:\n"
    "• Dữ liệu thu thập: họ tên, năm sinh, số điện thoại, chức vụ, nơi công tác, đơn vị "
    "công đoàn, mã tài khoản Zalo/Telegram và nội dung sáng kiến bạn gửi.\n"
    "• Mục đích: tham gia Chương trình, để cán bộ công đoàn xác minh, thống kê theo đơn vị "
    "và xét khen thưởng. Không dùng cho mục đích khác.\n"
    "• Người được xem: cán bộ công đoàn của đơn vị bạn và các cấp trên trực tiếp.\n"
    "• Thời gian lưu: đến khi Chương trình kết thúc và hết thời hạn lưu trữ hồ sơ; sau đó "
    "dữ liệu cá nhân được xóa hoặc ẩn danh, chỉ giữ số liệu thống kê.\n"
    "• Quyền của bạn: xem, sửa, rút lại đồng ý và yêu cầu xóa dữ liệu bất cứ lúc nào; "
    "yêu cầu được xử lý trong 72 giờ (Nghị định 13/2023/NĐ-CP, Luật Bảo vệ dữ liệu cá nhân "
    "2025).\n\n"
    "Chưa đồng ý thì chưa có dữ liệu cá nhân nào của bạn được lưu. "
    "Bạn có đồng ý không?"
)
CONSENT_SHA256 = hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()
AGREE, DECLINE = "agree", "decline"


class ConsentStep(Step):
    key = "consent"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return CONSENT_TEXT

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option("Tôi đồng ý", AGREE, YES_KEYS), Option("Không đồng ý", DECLINE, NO_KEYS)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == DECLINE:
            return Stay(
                "Bạn chưa đồng ý nên bot chưa lưu thông tin nào của bạn. Khi cần nộp sáng kiến, "
                "hãy chọn “Tôi đồng ý”. Bạn vẫn có thể gõ /hotro để xem hướng dẫn."
            )
        if value != AGREE:
            return Stay("Vui lòng chọn “Tôi đồng ý” hoặc “Không đồng ý”.")
        inbound = ctx.inbound
        identity = ctx.identity or await ctx.uow.people.add_identity(
            inbound.channel, inbound.user_id, ctx.now
        )
        await ctx.uow.people.add_consent(identity.id, CONSENT_VERSION, CONSENT_SHA256, ctx.now)
        ctx.uow.audit.record(
            ctx.now,
            "consent.accepted",
            channel=inbound.channel,
            subject=str(identity.id),
            detail={"version": CONSENT_VERSION},
        )
        ctx.identity, ctx.consented = identity, True
        return Goto("phone", "Cảm ơn bạn đã đồng ý.")


LOST_NUMBER = (
    "Số điện thoại {phone} mà tài khoản này đã nhập vừa được chủ số xác minh trên Telegram, "
    "nên từ nay số này gắn với tài khoản Telegram đó. Bản nháp và sáng kiến của bạn vẫn giữ "
    "nguyên ở tài khoản này. Nếu tài khoản Telegram đó cũng là của bạn, hãy gộp hai tài khoản "
    "bằng /lienket."
)
TOOK_NUMBER = (
    "Số này trước đó đã được nhập từ một tài khoản khác mà chưa xác minh; từ nay số thuộc về "
    "tài khoản này. Nếu tài khoản kia cũng là của bạn (ví dụ trên Zalo), hãy gửi /lienket ở "
    "tài khoản kia để lấy mã, rồi gửi /lienket kèm mã tại đây."
)


class PhoneStep(Step):
    """Login. A typed number is taken as the person's word (a claim): it always makes a new
    person, never logs into anyone else's, and the answer is the same whoever holds it. A
    contact Telegram vouches for (verified) takes the number from whoever held it before."""

    key = "phone"
    expects = Expect.PHONE

    def text(self, ctx: Ctx) -> str:
        text = (
            "Vui lòng gửi số điện thoại di động của bạn để đăng nhập "
            "(ví dụ 0901 234 567). Số này dùng để nhận diện bạn trên mọi kênh."
        )
        if ctx.inbound.channel == "telegram":
            text += " Bấm nút “📱 Gửi số điện thoại của tôi” để Telegram xác minh số của bạn."
        return text

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        verdict = parse_phone(text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        return await self._login(ctx, verdict.value, verified=False)

    async def on_contact(self, ctx: Ctx, phone: str) -> Outcome:
        # Channels hand over only a contact that is the sender's own (Telegram's user_id).
        verdict = parse_phone(phone)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        return await self._login(ctx, verdict.value, verified=True)

    async def _login(self, ctx: Ctx, phone: str, *, verified: bool) -> Outcome:
        identity, uow = ctx.identity, ctx.uow
        if identity is None:
            return Goto("consent")
        displaced = await uow.people.holding(phone) if verified else []
        for other in displaced:
            other.phone, other.phone_verified_at, other.updated_at = None, None, ctx.now
        if displaced:
            await uow.session.flush()  # the number is free before the new person takes it
        person = await uow.people.add_person(phone, ctx.now, verified=verified)
        identity.person_id = person.id
        ctx.person = person
        channel = ctx.inbound.channel
        uow.audit.record(
            ctx.now, "login", person_id=person.id, channel=channel, detail={"verified": verified}
        )
        for other in displaced:
            # the roles stay with their holder: `sangkien roles --phone` still finds them
            kept = [f"{g.role}@{g.unit_code}" for g in await uow.roles.of_person(other.id)]
            uow.audit.record(
                ctx.now,
                "phone.reassigned",
                person_id=other.id,
                subject=str(person.id),
                detail={"roles_kept": kept} if kept else {},
            )
            await uow.outbox.to_person(
                other.id, {"text": LOST_NUMBER.format(phone=mask_phone(phone))}, ctx.now
            )
        notice = f"Đăng nhập thành công với số {mask_phone(phone)}"
        notice += " (đã xác minh qua Telegram)." if verified else "."
        if displaced:
            notice += f"\n{TOOK_NUMBER}"
        return Goto("menu", notice)


USE_PROFILE, EDIT_PROFILE = "use", "edit"


@dataclass(eq=False)
class ProfileCardStep(Step):
    """Offers the saved personal details: use them as they are, or correct them."""

    key: str = "profile"
    in_draft: bool = True
    expects: Expect = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        profile = ctx.profile
        assert profile is not None
        unit = ctx.services.catalog.describe(profile.unit_code)
        return (
            "Thông tin của bạn đã lưu:\n"
            f"• Họ và tên: {profile.full_name}\n• Năm sinh: {profile.birth_year}\n"
            f"• Chức vụ: {profile.position}\n• Nơi công tác: {profile.workplace}\n"
            f"• Đơn vị: {unit}\n\nDùng thông tin này cho sáng kiến mới?"
        )

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option("Dùng thông tin này", USE_PROFILE), Option("Sửa thông tin", EDIT_PROFILE)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        profile = ctx.profile
        assert profile is not None
        if value == EDIT_PROFILE:
            return Goto("name")
        if value != USE_PROFILE:
            return await super().on_choice(ctx, value)
        ctx.draft.update(
            author_name=profile.full_name,
            birth_year=profile.birth_year,
            position=profile.position,
            workplace=profile.workplace,
            # a unit of the old map (Bắc Giang) files as the unit it is part of now (Bắc Ninh)
            unit_code=ctx.services.catalog.resolve(profile.unit_code or ""),
        )
        return Goto("target_group")


def profile_complete(ctx: Ctx) -> bool:
    profile = ctx.profile
    return (
        profile is not None
        and all((profile.full_name, profile.birth_year, profile.position, profile.workplace))
        and profile.unit_code is not None
        and ctx.services.catalog.knows(profile.unit_code)
    )


def save_profile(ctx: Ctx) -> None:
    """Keep the personal details of the draft for next time (written with the state)."""
    profile, draft = ctx.profile, ctx.draft
    assert profile is not None
    ctx.saved_profile = replace(
        profile,
        full_name=draft["author_name"],
        birth_year=draft["birth_year"],
        position=draft["position"],
        workplace=draft["workplace"],
        unit_code=draft["unit_code"],
        catalog=ctx.services.catalog.code,
    )
