"""Personal-data rights: see what is stored (/dulieu), correct it, withdraw and erase (/xoa)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, tuple_, update

from bot.dialogs.confirm import ConfirmStep, ask_to_confirm
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step, notice_here
from bot.dialogs.types import Expect, Option
from bot.review import STATUS_NAMES
from bot.store.models import (
    Attachment,
    ChannelIdentity,
    Consent,
    Conversation,
    LinkCode,
    Outbox,
    Person,
    RoleGrant,
    Submission,
    SupportTicket,
    TicketMessage,
)
from rules import fields as rf
from rules.files import extension_for
from rules.phone import national, phone_origin
from rules.verdict import Rejected, Verdict

ERASED_NAME = "Đã ẩn danh"
ERASED_TEXT = "[đã xóa]"
NOTHING_STORED = "Bot chưa lưu dữ liệu cá nhân nào của bạn."
Parse = Callable[[Ctx, str], Verdict[Any]]


def _year(ctx: Ctx, text: str) -> Verdict[Any]:
    return rf.parse_birth_year(text, ctx.today.year)


FIELDS: dict[str, tuple[str, Parse]] = {
    "full_name": ("họ và tên", lambda c, t: rf.parse_full_name(t)),
    "birth_year": ("năm sinh", _year),
    "position": ("chức vụ", lambda c, t: rf.parse_short_text(t, "chức vụ")),
    "workplace": ("nơi công tác", lambda c, t: rf.parse_short_text(t, "nơi công tác")),
}


async def my_data_command(ctx: Ctx, step: Step | None) -> Outcome:
    return Goto("mydata") if ctx.person else notice_here(step, NOTHING_STORED)


async def erase_command(ctx: Ctx, step: Step | None) -> Outcome:
    if ctx.identity is None or not ctx.consented:
        return notice_here(step, NOTHING_STORED)
    return ask_to_confirm(ctx, EraseConfirmStep.key)


class MyDataStep(Step):
    key = "mydata"
    back = "menu"
    expects = Expect.CHOICE

    async def prepare(self, ctx: Ctx) -> None:
        if ctx.person is None:
            return
        uow = ctx.uow
        ctx.view["identities"] = list(
            (
                await uow.session.execute(
                    select(ChannelIdentity.channel).where(
                        ChannelIdentity.person_id == ctx.person.id
                    )
                )
            ).scalars()
        )
        identity_id = ctx.identity.id if ctx.identity else 0
        ctx.view["consent"] = (
            await uow.session.execute(
                select(Consent)
                .where(Consent.identity_id == identity_id)
                .order_by(Consent.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        ctx.view["submissions"] = list(
            (
                await uow.session.execute(
                    select(Submission.code, Submission.status)
                    .where(Submission.person_id == ctx.person.id)
                    .order_by(Submission.id)
                )
            ).all()
        )

    def text(self, ctx: Ctx) -> str:
        person = ctx.person
        if person is None:
            return NOTHING_STORED
        consent = ctx.view.get("consent")
        agreed = (
            f"phiên bản {consent.text_version}, lúc "
            f"{consent.accepted_at.astimezone(ctx.now.tzinfo):%H:%M %d/%m/%Y}"
            if consent
            else "—"
        )
        submissions = (
            ", ".join(
                f"{code} ({STATUS_NAMES.get(status, status)})"
                for code, status in ctx.view.get("submissions", [])
            )
            or "chưa có"
        )
        return "\n".join(
            (
                "Dữ liệu bot đang lưu về bạn:",
                f"• Số điện thoại: {_phone_line(person)}",
                f"• Họ và tên: {person.full_name or '—'}",
                f"• Năm sinh: {person.birth_year or '—'}",
                f"• Chức vụ: {person.position or '—'}",
                f"• Nơi công tác: {person.workplace or '—'}",
                f"• Đơn vị: {ctx.services.catalog.describe(person.unit_code)}",
                f"• Tài khoản đã liên kết: {', '.join(sorted(ctx.view.get('identities', [])))}",
                f"• Đồng ý xử lý dữ liệu: {agreed}",
                f"• Sáng kiến đã gửi: {submissions}",
                "Chọn mục cần sửa, hoặc gõ /xoa để rút lại đồng ý và xóa dữ liệu cá nhân.",
            )
        )

    def options(self, ctx: Ctx) -> list[Option]:
        if ctx.person is None:
            return []
        return [Option(f"Sửa {label}", f"edit:{name}") for name, (label, _p) in FIELDS.items()]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        _, _, name = value.partition("edit:")
        if name not in FIELDS:
            return await super().on_choice(ctx, value)
        ctx.state["profile_field"] = name
        return Goto("profile_field")


def _phone_line(person: Person) -> str:
    if not person.phone:
        return "—"
    how = phone_origin(person.phone_verified_at is not None)
    return f"{national(person.phone)} ({how})"


class ProfileFieldStep(Step):
    key = "profile_field"
    back = "mydata"

    def text(self, ctx: Ctx) -> str:
        label, _parse = FIELDS[ctx.state.get("profile_field", "full_name")]
        return f"Gửi {label} mới của bạn."

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        name = ctx.state.get("profile_field", "")
        if name not in FIELDS or ctx.person is None:
            return Goto("mydata")
        label, parse = FIELDS[name]
        verdict = parse(ctx, text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        setattr(ctx.person, name, verdict.value)
        ctx.person.updated_at = ctx.now
        await outdate_linked_chats(ctx, await _identities_of(ctx, ctx.person.id), empty=False)
        ctx.uow.audit.record(
            ctx.now, "profile.corrected", person_id=ctx.person.id, detail={"field": name}
        )
        return Goto("mydata", f"Đã sửa {label}.")


class EraseConfirmStep(ConfirmStep):
    key = "erase_confirm"
    yes_label = "Có, xóa dữ liệu của tôi"
    kept = "Đã giữ nguyên dữ liệu của bạn."

    def text(self, ctx: Ctx) -> str:
        return (
            "Rút lại đồng ý và xóa dữ liệu cá nhân?\n"
            "• Bị xóa: số điện thoại, họ tên, năm sinh, chức vụ, nơi công tác, liên kết tài "
            "khoản Zalo/Telegram, bản nháp, nội dung bạn đã nhắn tổ hỗ trợ.\n"
            "• Sáng kiến đã gửi được giữ ở dạng ẩn danh (không còn tên, năm sinh, chức vụ, "
            "nơi công tác) để giữ số liệu thống kê của Chương trình.\n"
            "Việc này không hoàn tác được."
        )

    async def confirmed(self, ctx: Ctx) -> Outcome:
        await erase(ctx)
        return Goto(
            "consent",
            "Đã rút lại đồng ý và xóa dữ liệu cá nhân của bạn. Cảm ơn bạn "
            "đã tham gia Chương trình.",
        )


async def _identities_of(ctx: Ctx, person_id: int) -> list[ChannelIdentity]:
    query = select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)
    return list((await ctx.uow.session.execute(query)).scalars())


async def outdate_linked_chats(
    ctx: Ctx, identities: list[ChannelIdentity], *, empty: bool
) -> None:
    """Move the person's other chats on by one version, so that no worker answers them from a
    cached copy holding the old details; with `empty`, also forget where they were. Versions
    only grow (rows are emptied, never deleted), so an old copy can never match again."""
    here = (ctx.inbound.channel, ctx.inbound.chat_id)
    values: dict[str, Any] = {"version": Conversation.version + 1, "updated_at": ctx.now}
    if empty:
        values["state"] = {}
    for identity in identities:
        if (identity.channel, identity.external_id) == here:
            continue
        await ctx.uow.session.execute(
            update(Conversation)
            .where(
                Conversation.channel == identity.channel,
                Conversation.chat_id == identity.external_id,
            )
            .values(values)
        )


async def erase(ctx: Ctx) -> None:
    """Withdraw consent on every linked account and erase or anonymise the person's data."""
    session, now = ctx.uow.session, ctx.now
    person = ctx.person
    identity_ids = [ctx.identity.id] if ctx.identity else []
    uploads = _draft_uploads(ctx.state)
    if person is not None:
        identities = await _identities_of(ctx, person.id)
        identity_ids = sorted({*identity_ids, *(i.id for i in identities)})
        for state in await _states_of(ctx, identities):
            uploads |= _draft_uploads(state)
        await outdate_linked_chats(ctx, identities, empty=True)
        for identity in identities:
            identity.person_id = None
        await session.execute(
            update(Submission)
            .where(Submission.person_id == person.id)
            .values(
                author_name=ERASED_NAME,
                author_birth_year=0,
                author_position="",
                author_workplace="",
            )
        )
        await session.execute(
            update(TicketMessage)
            .where(TicketMessage.person_id == person.id)
            .values(text=ERASED_TEXT)
        )
        await session.execute(delete(LinkCode).where(LinkCode.person_id == person.id))
        await session.execute(delete(RoleGrant).where(RoleGrant.person_id == person.id))
        await _erase_support(ctx, person.id, identities)
        person.phone = person.phone_verified_at = None
        person.full_name = person.position = person.workplace = None
        person.birth_year = None
        person.updated_at = now
    await session.execute(
        update(Consent)
        .where(Consent.identity_id.in_(identity_ids), Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    ctx.uow.audit.record(
        now, "person.erased", person_id=person.id if person else None, channel=ctx.inbound.channel
    )
    # What the update guard and the flood limit need stays: erasing oneself resets neither.
    keep: dict[str, Any] = {k: ctx.state[k] for k in ("seen", "recent") if k in ctx.state}
    ctx.state.clear()
    ctx.state.update(keep)
    ctx.person, ctx.consented = None, False
    await _erase_files(ctx, uploads)


def _draft_uploads(state: dict[str, Any]) -> set[tuple[str, str]]:
    """(sha256, extension) of the files uploaded into the chat's draft."""
    draft = state.get("draft") or {}
    return {
        (item["sha256"], extension_for(item.get("mime")))
        for item in draft.get("attachments", [])
        if item.get("kind") == "file" and item.get("sha256")
    }


async def _states_of(ctx: Ctx, identities: list[ChannelIdentity]) -> list[dict[str, Any]]:
    pairs = [(i.channel, i.external_id) for i in identities]
    if not pairs:
        return []
    rows = await ctx.uow.session.execute(
        select(Conversation.state).where(
            tuple_(Conversation.channel, Conversation.chat_id).in_(pairs)
        )
    )
    return [dict(state) for state in rows.scalars()]


async def _erase_files(ctx: Ctx, uploads: set[tuple[str, str]]) -> None:
    """Draft uploads no filed submission refers to, and every generated export (any of them
    may list this person)."""
    files = ctx.services.files
    if uploads:
        kept = set(
            (
                await ctx.uow.session.execute(
                    select(Attachment.sha256).where(
                        Attachment.sha256.in_(sorted(sha for sha, _ in uploads))
                    )
                )
            ).scalars()
        )
        await files.discard([u for u in uploads if u[0] not in kept])
    await files.sweep_exports(everything=True)


async def _erase_support(ctx: Ctx, person_id: int, identities: list[ChannelIdentity]) -> None:
    """The person's questions: the draft title kept as context, the copies of the question
    queued or sent to helpers, and every message queued or sent to the person's chats."""
    session = ctx.uow.session
    tickets = list(
        (
            await session.execute(
                select(SupportTicket.id).where(SupportTicket.person_id == person_id)
            )
        ).scalars()
    )
    if tickets:
        await session.execute(
            update(SupportTicket).where(SupportTicket.id.in_(tickets)).values(context=None)
        )
        about = await session.execute(
            select(Outbox).where(Outbox.payload["ticket"].as_integer().in_(tickets))
        )
        for row in about.scalars():
            row.payload = {**row.payload, "text": ERASED_TEXT}
    chats = [(i.channel, i.external_id) for i in identities]
    if chats:
        await session.execute(
            delete(Outbox).where(tuple_(Outbox.channel, Outbox.chat_id).in_(chats))
        )
