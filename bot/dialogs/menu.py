"""The main menu, cancelling and resuming a draft, the worker's submissions, and help."""

from __future__ import annotations

from bot import support
from bot.access import ADMIN, COLLECTOR, HELPER, OFFICER, scope_of
from bot.dialogs.account import profile_complete
from bot.dialogs.confirm import ConfirmStep, ask_to_confirm
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step, deny, notice_here
from bot.dialogs.helpdesk import ask
from bot.dialogs.submission import draft_from, new_draft, summary_card
from bot.dialogs.types import Expect, Option
from bot.review import NEEDS_INFO, STATUS_NAMES, SUBMITTED, WITHDRAWN, change_status
from bot.store.models import Submission
from rules.dates import format_date
from rules.faq import best_answer
from rules.verdict import Rejected

NEW, RESUME, DROP, MINE, HELP = "new", "resume", "drop", "mine", "help"


class MenuStep(Step):
    key = "menu"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        campaign = ctx.services.campaign
        window = campaign.window(ctx.now)
        status = (
            window.message
            if isinstance(window, Rejected)
            else f"Đang mở: {window.value.describe()}."
        )
        return (
            f"Chương trình “{campaign.short_name}”.\n{status}\n\n"
            "Dữ liệu cá nhân của bạn: /dulieu để xem, sửa; /xoa để rút đồng ý và xóa. "
            "Không nhận thông báo, nhắc việc: /tatthongbao.\n"
            "Bạn muốn làm gì?"
        )

    def options(self, ctx: Ctx) -> list[Option]:
        first = (
            [
                Option(f"Tiếp tục bản nháp: {_draft_title(ctx)}", RESUME),
                Option("Hủy bản nháp", DROP),
            ]
            if ctx.has_draft
            else [Option("Nộp sáng kiến mới", NEW)]
        )
        return [*first, Option("Sáng kiến đã gửi", MINE), Option("Hỗ trợ, hỏi đáp", HELP)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == NEW:
            return start_submission(ctx)
        if value == RESUME:
            return resume(ctx)
        if value == DROP:
            return cancel(ctx)
        if value == MINE:
            return Goto("mine")
        if value == HELP:
            return open_help(ctx)
        return await super().on_choice(ctx, value)


def _draft_title(ctx: Ctx) -> str:
    title = str(ctx.draft.get("title") or "chưa có tên")
    return title if len(title) <= 40 else title[:40] + "…"


async def file_for_member_command(ctx: Ctx, step: Step | None) -> Outcome:
    """`/nopho`: a collector (or an officer) files a member's initiative for them."""
    scope = await scope_of(ctx.uow, ctx.person_id, COLLECTOR, OFFICER)
    if not scope:
        return deny(
            ctx,
            step,
            "/nopho",
            "Lệnh này dành cho người được giao nộp hộ sáng kiến của đoàn viên (công đoàn cơ sở).",
        )
    if ctx.has_draft:
        return notice_here(
            step,
            "Bạn đang có một bản nháp. Hãy gửi hoặc hủy bản nháp đó trước (/tieptuc hoặc /huy).",
        )
    window = ctx.services.campaign.window(ctx.now)
    if isinstance(window, Rejected):
        return notice_here(step, window.message)
    ctx.state["draft"] = new_draft(for_member=True)
    return Goto(
        "name",
        "Nộp hộ đoàn viên: nhập thông tin của tác giả sáng kiến. Thông tin này được ghi cho "
        "tác giả, không thay thông tin của bạn; bạn theo dõi sáng kiến ở “Sáng kiến đã gửi”.",
    )


def start_submission(ctx: Ctx) -> Outcome:
    if ctx.has_draft:
        return resume(ctx)
    window = ctx.services.campaign.window(ctx.now)
    if isinstance(window, Rejected):
        return Stay(window.message)
    ctx.state["draft"] = new_draft()
    return Goto(
        "profile" if profile_complete(ctx) else "name",
        "Bắt đầu sáng kiến mới. Bản nháp được lưu sau mỗi câu trả lời; "
        "gõ /menu để tạm dừng, /tieptuc để làm tiếp.",
    )


def resume(ctx: Ctx) -> Outcome:
    if not ctx.has_draft:
        return Goto("menu", "Bạn chưa có bản nháp nào.")
    return Goto(ctx.draft.get("step") or "name", "Tiếp tục bản nháp của bạn.")


def cancel(ctx: Ctx) -> Outcome:
    if not ctx.has_draft:
        return Goto("menu", "Bạn không có bản nháp nào để hủy.")
    return ask_to_confirm(ctx, CancelConfirmStep.key)


def open_help(ctx: Ctx) -> Outcome:
    step = ctx.state.get("step")
    if step not in ("help", "faq"):
        ctx.state["help_return"] = step
    return Goto("help")


class CancelConfirmStep(ConfirmStep):
    key = "cancel_confirm"
    yes_label = "Có, hủy bản nháp"
    kept = "Đã giữ lại bản nháp."

    def text(self, ctx: Ctx) -> str:
        return f"Hủy bản nháp “{_draft_title(ctx)}”? Nội dung đã nhập sẽ bị xóa."

    async def confirmed(self, ctx: Ctx) -> Outcome:
        ctx.state["draft"] = None
        ctx.state.pop("edit_until", None)
        return Goto("menu", "Đã hủy bản nháp.")


class MySubmissionsStep(Step):
    key = "mine"
    back = "menu"
    expects = Expect.CHOICE

    async def prepare(self, ctx: Ctx) -> None:
        assert ctx.person is not None
        ctx.view["mine"] = await ctx.uow.submissions.of_person(ctx.person.id, limit=40)

    def text(self, ctx: Ctx) -> str:
        items: list[Submission] = ctx.view.get("mine", [])
        if not items:
            return "Bạn chưa gửi sáng kiến nào."
        tz = ctx.now.tzinfo
        rows = [
            f"• {s.code} · {s.title}"
            + (f" (nộp hộ {s.author_name})" if s.filed_by is not None else "")
            + f" · {STATUS_NAMES.get(s.status, s.status)} · "
            f"{format_date(s.submitted_at.astimezone(tz).date())}"
            for s in items
        ]
        return (
            "Sáng kiến bạn đã gửi (mới nhất trước):\n"
            + "\n".join(rows)
            + "\n\nChọn một sáng kiến để xem chi tiết."
        )

    def options(self, ctx: Ctx) -> list[Option]:
        items: list[Submission] = ctx.view.get("mine", [])
        return [Option(f"{s.code} · {_short(s.title)}", f"sub:{s.id}") for s in items]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        prefix, _, number = value.partition(":")
        if prefix != "sub" or not number.isdigit():
            return await super().on_choice(ctx, value)
        ctx.state["item"] = int(number)
        return Goto("mine_item")


def _short(title: str) -> str:
    return title if len(title) <= 40 else title[:40] + "…"


WITHDRAW, AMEND = "withdraw", "amend"


class MyItemStep(Step):
    """One of the worker's submissions: its card, status, the officer's note, what can be done."""

    key = "mine_item"
    back = "mine"
    expects = Expect.CHOICE

    async def prepare(self, ctx: Ctx) -> None:
        item = await ctx.uow.submissions.get(int(ctx.state.get("item") or 0))
        person = ctx.person
        if item is None or person is None or person.id not in (item.person_id, item.filed_by):
            ctx.view["item"] = None
            return
        ctx.view["item"] = item
        ctx.view["answers"] = draft_from(item, await ctx.uow.submissions.attachments(item.id))

    def text(self, ctx: Ctx) -> str:
        item: Submission | None = ctx.view.get("item")
        if item is None:
            return "Không tìm thấy sáng kiến này trong danh sách của bạn."
        status = STATUS_NAMES.get(item.status, item.status)
        note = f"\nGhi chú của cán bộ: {item.status_note}" if item.status_note else ""
        return f"Mã hồ sơ: {item.code}\nTrạng thái: {status}{note}\n\n" + summary_card(
            ctx, ctx.view["answers"]
        )

    def options(self, ctx: Ctx) -> list[Option]:
        item: Submission | None = ctx.view.get("item")
        if item is None:
            return []
        if item.status == SUBMITTED:
            return [Option("Rút sáng kiến", WITHDRAW)]
        if item.status == NEEDS_INFO:
            return [Option("Bổ sung và gửi lại", AMEND)]
        return []

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        await self.prepare(ctx)
        item: Submission | None = ctx.view.get("item")
        if item is None or value not in (WITHDRAW, AMEND):
            return await super().on_choice(ctx, value)
        if value == WITHDRAW:
            changed = await change_status(
                ctx.uow, ctx.services.catalog, item, WITHDRAWN, None, ctx.person_id, ctx.now
            )
            if not changed:
                return Stay("Sáng kiến đã được xem xét nên không rút được nữa.")
            return Goto("mine", f"Đã rút sáng kiến {item.code}.")
        if item.status != NEEDS_INFO:
            return Stay("Sáng kiến này không ở trạng thái cần bổ sung.")
        if ctx.has_draft:
            return Stay(
                "Bạn đang có một bản nháp khác. Hãy gửi hoặc hủy bản nháp đó trước "
                "(/tieptuc hoặc /huy)."
            )
        ctx.state["draft"] = dict(ctx.view["answers"])
        return Goto(
            "review",
            f"Bổ sung cho sáng kiến {item.code}: chọn “Sửa một mục” để sửa, "
            "xong chọn “Gửi sáng kiến” để gửi lại.",
        )


ASK, CLOSE_TICKET = "ask", "close_ticket"


def _role_commands(roles: set[str]) -> str:
    """The commands of the roles this person holds; to others, how a role is taken."""
    lines = []
    if roles & {OFFICER, ADMIN}:
        lines.append(
            "Cán bộ: /duyet duyệt sáng kiến, /thongke số liệu, /bieudo, /xuat; khen thưởng: "
            "/khenthuong, /khieunai, /tranhchap, /gokhieunai, /hoso; /thongbao gửi thông báo, "
            "/baocaothang nhận báo cáo tháng."
        )
    if ADMIN in roles:
        lines.append("Quản trị: /molai mở lại hạn khen thưởng.")
    if roles & {COLLECTOR, OFFICER, ADMIN}:
        lines.append("Nộp hộ đoàn viên: /nopho; nhiều sáng kiến từ tệp Excel, Word: /nhaptep.")
    if roles & {HELPER, ADMIN}:
        lines.append("Tổ hỗ trợ: /ve, /tl, /nhan, /dong, /mau, /chan.")
    if not lines:
        lines.append("Cán bộ, tổ hỗ trợ nhận quyền bằng /nhanquyen kèm mã quản trị viên gửi.")
    return "\n" + "\n".join(lines)


class HelpStep(Step):
    key = "help"
    expects = Expect.CHOICE
    matches_parts = False  # typed text is a question for the FAQ and the helpers

    async def prepare(self, ctx: Ctx) -> None:
        if ctx.person is not None:
            ctx.view["ticket"] = await support.open_of_person(ctx.uow, ctx.person.id)
            ctx.view["roles"] = {g.role for g in await ctx.uow.roles.of_person(ctx.person.id)}

    def text(self, ctx: Ctx) -> str:
        campaign = ctx.services.campaign
        phases = "\n".join(f"• {p.describe()}" for p in campaign.phases)
        ticket = ctx.view.get("ticket")
        open_note = (
            (
                f"\nBạn đang có câu hỏi {support.ticket_code(ticket.id)} với tổ hỗ trợ: "
                "nhắn tiếp ở đây để hỏi thêm."
            )
            if ticket
            else ""
        )
        return (
            f"Hỗ trợ – Chương trình “{campaign.short_name}” ({campaign.guidance}).\n{phases}\n\n"
            "Các lệnh: /menu về menu chính · /tieptuc làm tiếp bản nháp · /huy hủy bản nháp · "
            "/quaylai về bước trước · /cuatoi sáng kiến của tôi · /lienket liên kết Zalo và "
            "Telegram · /hotro mở hỗ trợ · /dulieu xem và sửa dữ liệu cá nhân · /xoa rút đồng ý "
            f"và xóa dữ liệu của bạn.{_role_commands(ctx.view.get('roles') or set())}"
            f"{open_note}\n"
            "Gõ câu hỏi của bạn (bot tìm câu trả lời có sẵn trước), hoặc chọn câu hỏi thường gặp:"
        )

    def options(self, ctx: Ctx) -> list[Option]:
        faq = [Option(q, f"faq:{i}") for i, (q, _a) in enumerate(ctx.services.campaign.faq)]
        extra = [Option("🙋 Hỏi tư vấn viên", ASK)]
        if ctx.view.get("ticket") is not None:
            extra.append(Option("Đóng câu hỏi của tôi", CLOSE_TICKET))
        return faq + extra

    def can_go_back(self, ctx: Ctx) -> bool:
        return True

    async def on_back(self, ctx: Ctx) -> Outcome:
        return Goto(ctx.state.pop("help_return", None) or "menu")

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        faq = ctx.services.campaign.faq
        if value == ASK:
            pending = ctx.local.get("pending")
            if pending:
                return await ask(ctx, pending)
            ctx.local["asking"] = True
            return Stay("Hãy gõ câu hỏi của bạn; bot sẽ chuyển tới tổ hỗ trợ sáng kiến.")
        if value == CLOSE_TICKET and ctx.view.get("ticket") is not None and ctx.person:
            await support.close(ctx.uow, ctx.view["ticket"], ctx.person.id, ctx.now)
            ctx.view["ticket"] = None
            return Stay("Đã đóng câu hỏi. Cảm ơn bạn!")
        _, _, index = value.partition("faq:")
        if index.isdigit() and int(index) < len(faq):
            question, answer = faq[int(index)]
            return Stay(f"❓ {question}\n{answer}")
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        if ctx.view.get("ticket") is not None or ctx.local.get("asking"):
            return await ask(ctx, text)
        faq = ctx.services.campaign.faq
        found = best_answer(text, faq)
        if found is None:
            return await ask(ctx, text)
        ctx.local["pending"] = text
        question, answer = faq[found]
        return Stay(
            f"❓ {question}\n{answer}\n\nChưa đúng ý bạn? Chọn “Hỏi tư vấn viên” để "
            "chuyển câu hỏi tới tổ hỗ trợ."
        )
