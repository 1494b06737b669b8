"""The initiative form: its fields as data, then attachments, declarations and review."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot import review
from bot.dialogs.account import ProfileCardStep
from bot.dialogs.confirm import ask_to_confirm
from bot.dialogs.engine import Ctx, Goto, Outcome, Services, Stay, Step
from bot.dialogs.fields import ChoiceField, TextField
from bot.dialogs.types import NO_KEYS, YES_KEYS, Expect, IncomingFile, Option
from bot.dialogs.units import UnitStep
from bot.store.counters import Counted
from bot.store.models import Attachment, Submission
from bot.store.uow import UnitOfWork
from rules import fields as rf
from rules.campaigns import Choice, Phase, check_end, recognition_warning
from rules.dates import check_not_future, format_date, parse_date
from rules.files import (
    ACCEPTED_TEXT,
    attachment_name,
    format_size,
    identify_file,
    safe_filename,
)
from rules.similar import fingerprint
from rules.text import fold
from rules.verdict import Ok, Rejected, Verdict

MAX_ATTACHMENTS = 10
DONE, SUBMIT, EDIT, CANCEL, YES, NO = "done", "submit", "edit", "cancel", "yes", "no"
CO_AUTHORS, CLEAR = "co_authors", "clear"
DONE_WORDS = frozenset({"xong", "da xong", "het", "ket thuc", "done"})


def _phase(ctx: Ctx) -> Phase | None:
    return ctx.services.campaign.phase_at(ctx.now)


def _start(ctx: Ctx, raw: str) -> Verdict[date]:
    verdict = parse_date(raw)
    phase = _phase(ctx)
    if isinstance(verdict, Rejected) or phase is None:
        return verdict
    return ctx.services.campaign.check_start(verdict.value, phase, ctx.today)


def _end(ctx: Ctx, raw: str) -> Verdict[date]:
    verdict = parse_date(raw)
    if isinstance(verdict, Rejected) and not any(ch.isdigit() for ch in raw):
        # words with no date at the end date (“vẫn đang áp dụng”) mean it goes on
        return Rejected(
            "Nếu sáng kiến vẫn đang áp dụng, hãy gửi ngày dự kiến kết thúc, ví dụ 31/12/2022."
        )
    if isinstance(verdict, Rejected):
        return verdict
    return check_end(date.fromisoformat(ctx.draft["started_on"]), verdict.value)


def _recognized_on(ctx: Ctx, raw: str) -> Verdict[date]:
    verdict = parse_date(raw)
    return verdict if isinstance(verdict, Rejected) else check_not_future(verdict.value, ctx.today)


def _description(ctx: Ctx, raw: str) -> Verdict[str]:
    return rf.parse_long_text(raw, "phần mô tả", ctx.services.campaign.description_limit)


def _description_prompt(ctx: Ctx) -> str:
    limit = ctx.services.campaign.description_limit
    return (
        f"Mô tả sáng kiến: thực trạng trước đây, giải pháp, cách làm mới (tối đa {limit} ký "
        "tự; có thể soạn sẵn trong Word rồi dán vào)."
    )


def _benefit_social(ctx: Ctx, raw: str) -> Verdict[str]:
    return rf.parse_long_text(raw, "lợi ích xã hội", rf.LONG_TEXT_MAX)


def choice_options(choices: tuple[Choice, ...]) -> list[Option]:
    """A campaign's target groups or solution types as the options a person picks from."""
    return [Option(c.name, c.code, c.keys) for c in choices]


def _target_groups(ctx: Ctx) -> list[Option]:
    return choice_options(ctx.services.campaign.target_groups)


def _solution_types(ctx: Ctx) -> list[Option]:
    return choice_options(ctx.services.campaign.solution_types)


@dataclass(eq=False)
class BenefitSocialField(TextField):
    """Optional, but an initiative must state an economic value or a social benefit."""

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == "__skip" and ctx.draft.get("benefit_vnd") is None:
            return Stay(
                "Sáng kiến cần có ít nhất một lợi ích: giá trị làm lợi bằng tiền hoặc lợi ích "
                "xã hội. Bạn đã bỏ qua giá trị làm lợi, vậy hãy mô tả lợi ích xã hội (ví dụ: "
                "cải thiện điều kiện làm việc, giảm thời gian giải quyết hồ sơ)."
            )
        return await super().on_choice(ctx, value)


class AttachmentsStep(Step):
    key = "attachments"
    in_draft = True
    back = "awards"
    expects = Expect.FILE

    def text(self, ctx: Ctx) -> str:
        items = ctx.draft.setdefault("attachments", [])
        listed = "\n".join(f"  {i}. {_attachment_label(a)}" for i, a in enumerate(items, 1))
        have = f"Đã nhận {len(items)} tài liệu:\n{listed}\n\n" if items else ""
        return (
            f"{have}Gửi tài liệu kèm theo (không bắt buộc): tệp {ACCEPTED_TEXT} tối đa "
            f"{ctx.services.max_file_bytes // 1048576} MB, hoặc đường dẫn Google Drive ở chế độ "
            f"chia sẻ. Có thể gửi nhiều lần (tối đa {MAX_ATTACHMENTS}). "
            "Gửi xong thì chọn “Xong”."
        )

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option("Xong", DONE)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        return Goto("declare_ip") if value == DONE else await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        if fold(text) in DONE_WORDS:
            return Goto("declare_ip")
        verdict = rf.parse_drive_link(text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message + " Gõ “xong” nếu không gửi thêm tài liệu.")
        return self._add(ctx, {"kind": "link", "url": verdict.value})

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> Outcome:
        verdict = identify_file(file.data, ctx.services.max_file_bytes)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        if len(ctx.draft.get("attachments", [])) >= MAX_ATTACHMENTS:
            return self._add(ctx, {})
        kind = verdict.value
        sha256 = await ctx.services.files.put(file.data, kind.extension)
        name = safe_filename(file.filename, kind.extension)
        return self._add(
            ctx,
            {
                "kind": "file",
                "filename": name,
                "mime": kind.mime,
                "size": len(file.data),
                "sha256": sha256,
            },
        )

    def _add(self, ctx: Ctx, item: dict[str, Any]) -> Outcome:
        items = ctx.draft.setdefault("attachments", [])
        if len(items) >= MAX_ATTACHMENTS:
            return Stay(f"Đã đủ {MAX_ATTACHMENTS} tài liệu. Gõ “xong” để sang bước tiếp theo.")
        if item in items:
            return Stay("Tài liệu này đã có trong danh sách. Gửi tài liệu khác hoặc gõ “xong”.")
        items.append(item)
        return Stay(
            f"Đã nhận: {_attachment_label(item)} ({len(items)}/{MAX_ATTACHMENTS}). "
            "Gửi thêm, hoặc chọn “Xong”."
        )


def _attachment_label(item: dict[str, Any]) -> str:
    if item["kind"] == "link":
        return str(item["url"])
    name = attachment_name(item.get("filename"), item.get("mime"))
    return f"{name} ({format_size(item['size'])})"


@dataclass(eq=False)
class DeclarationStep(Step):
    """A plain yes/no question about a condition that excludes an initiative (46/HD-TLĐ I.3):
    “Không” is the answer that lets it take part, and is stored as the declaration."""

    key: str
    question: str
    field: str
    refusal: str
    next: str
    back: str | None = None
    in_draft: bool = True
    expects: Expect = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return self.question

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option("Không", NO, NO_KEYS), Option("Có", YES, YES_KEYS)]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == YES:
            ctx.draft[self.field] = False
            return Stay(self.refusal + " Bản nháp vẫn được giữ; gõ /huy nếu muốn hủy.")
        if value != NO:
            return await super().on_choice(ctx, value)
        ctx.draft[self.field] = True
        return Goto(self.next)


EXPLAIN = "__explain"


@dataclass(eq=False)
class TargetGroupField(ChoiceField):
    """The target groups, with a one-line hint for each a person can ask for."""

    def options(self, ctx: Ctx) -> list[Option]:
        campaign = ctx.services.campaign
        hinted = any(group.hint for group in campaign.target_groups)
        explain = f"❓ Giải thích các {campaign.target_group_term}"
        extra = [Option(explain, EXPLAIN)] if hinted else []
        return [*self.choices(ctx), *extra]

    async def on_back(self, ctx: Ctx) -> Outcome:
        # A member's details were asked one by one: back to their unit, not to a saved profile.
        return Goto("unit") if for_member(ctx) else await super().on_back(ctx)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value != EXPLAIN:
            return await super().on_choice(ctx, value)
        campaign = ctx.services.campaign
        term = campaign.target_group_term
        groups = enumerate(campaign.target_groups, 1)
        lines = [f"{i}. {g.name}: {g.hint}" for i, g in groups if g.hint]
        heading = f"Các {term}:"
        return Stay("\n".join([heading, *lines, "", f"Bạn thuộc {term} nào?"]))


@dataclass(eq=False)
class RecognizedOnField(TextField):
    """The recognition date. One the guidance does not take is said at once; sent again, it is
    kept (the person may be right, the officer decides) and the review card flags it."""

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        verdict = _recognized_on(ctx, text)
        if isinstance(verdict, Ok):
            warning = recognition_warning(ctx.services.campaign, verdict.value)
            if warning and ctx.local.get("warned") != verdict.value.isoformat():
                ctx.local["warned"] = verdict.value.isoformat()
                return Stay(
                    f"⚠️ {warning}\nNếu ghi nhầm, gửi ngày đúng. Nếu ngày này đúng, gửi lại đúng "
                    "ngày này: bản nháp sẽ giữ nó và cán bộ duyệt sẽ xem xét."
                )
        return await super().on_text(ctx, text)


EDIT_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("Thông tin cá nhân và đơn vị", "name", "unit"),
    ("Nhóm đối tượng", "target_group", "target_group"),
    ("Tên sáng kiến", "title", "title"),
    ("Loại giải pháp", "solution_type", "solution_type"),
    ("Thời gian triển khai", "started_on", "ended_on"),
    ("Mô tả", "description", "description"),
    ("Hiệu quả, giá trị làm lợi, phạm vi ứng dụng", "benefit_vnd", "applied_scope"),
    ("Công nhận sáng kiến", "recognized_by", "recognized_on"),
    ("Danh hiệu, khen thưởng", "awards", "awards"),
    ("Tài liệu đính kèm", "attachments", "attachments"),
    ("Cam kết", "declare_ip", "declare_order"),
)


class ReviewStep(Step):
    key = "review"
    in_draft = True
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return summary_card(ctx) + "\n\nKiểm tra lại rồi chọn “Gửi sáng kiến”, hoặc sửa một mục."

    def options(self, ctx: Ctx) -> list[Option]:
        return [
            Option("✅ Gửi sáng kiến", SUBMIT),
            Option("✏️ Sửa một mục", EDIT),
            Option("👥 Đồng tác giả", CO_AUTHORS),
            Option("🗑 Hủy bản nháp", CANCEL),
        ]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == EDIT:
            return Goto("edit_pick")
        if value == CO_AUTHORS:
            return Goto(CoAuthorsStep.key)
        if value == CANCEL:
            return ask_to_confirm(ctx, "cancel_confirm")
        if value == SUBMIT:
            return await submit(ctx)
        return await super().on_choice(ctx, value)


class CoAuthorsStep(Step):
    """Co-authors, one message each, from the review card; with any, the author's own share
    is asked next, so that the credit goes where 46/HD-TLĐ I.2.4 says (the largest share)."""

    key = "coauthors"
    in_draft = True
    back = "review"

    def text(self, ctx: Ctx) -> str:
        listed = ctx.draft.get("co_authors") or []
        have = "".join(f"\n  {i}. {_co_author(a)}" for i, a in enumerate(listed, 1))
        head = f"Đồng tác giả đã ghi:{have}\n\n" if listed else ""
        return (
            f"{head}Gửi từng đồng tác giả, mỗi người một tin: họ tên, năm sinh, tỷ lệ đóng góp "
            f"({rf.CO_AUTHOR_EXAMPLE}). Xong thì chọn “Xong”."
        )

    def options(self, ctx: Ctx) -> list[Option]:
        clear = (
            [Option("Xóa danh sách đồng tác giả", CLEAR)] if ctx.draft.get("co_authors") else []
        )
        return [Option("Xong", DONE), *clear]

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        if fold(text) in DONE_WORDS:
            return await self.on_choice(ctx, DONE)
        listed = ctx.draft.setdefault("co_authors", [])
        if len(listed) >= rf.MAX_CO_AUTHORS:
            return Stay(f"Đã đủ {rf.MAX_CO_AUTHORS} đồng tác giả. Chọn “Xong”.")
        verdict = rf.parse_co_author(text, ctx.today.year)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        listed.append(verdict.value)
        return Goto(self.key, f"Đã ghi: {_co_author(verdict.value)}.")

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if value == CLEAR:
            ctx.draft["co_authors"], ctx.draft["author_share"] = [], None
            return Goto(self.key, "Đã xóa danh sách đồng tác giả.")
        if value != DONE:
            return await super().on_choice(ctx, value)
        return Goto(AuthorShareStep.key) if ctx.draft.get("co_authors") else Goto("review")


class AuthorShareStep(Step):
    key = "author_share"
    in_draft = True
    back = CoAuthorsStep.key

    def text(self, ctx: Ctx) -> str:
        others = _co_authors_share(ctx)
        return (
            f"Tỷ lệ đóng góp của tác giả {ctx.draft.get('author_name', '')} (%)? Các đồng tác "
            f"giả đã chiếm {others}%; tổng cộng cần đủ 100%."
        )

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        verdict = rf.parse_share(text)
        if isinstance(verdict, Rejected):
            return Stay(verdict.message)
        others = _co_authors_share(ctx)
        if verdict.value + others != 100:
            return Stay(
                f"Tổng tỷ lệ đóng góp đang là {verdict.value + others}%, cần đủ 100%. Gửi lại "
                f"tỷ lệ của tác giả (còn {max(0, 100 - others)}%), hoặc quay lại sửa đồng tác giả."
            )
        ctx.draft["author_share"] = verdict.value
        return Goto("review", "Đã ghi tỷ lệ đóng góp.")


def _co_authors_share(ctx: Ctx) -> int:
    """The percent the co-authors listed so far take together."""
    return sum(int(a["share"]) for a in ctx.draft.get("co_authors") or [])


def _co_author(item: dict[str, Any]) -> str:
    return f"{item['name']} ({item['birth_year']}, {item['share']}%)"


class EditPickStep(Step):
    key = "edit_pick"
    in_draft = True
    back = "review"
    expects = Expect.CHOICE

    def text(self, ctx: Ctx) -> str:
        return "Bạn muốn sửa mục nào? Sửa xong bot sẽ đưa bạn về thẻ tóm tắt."

    def options(self, ctx: Ctx) -> list[Option]:
        return [Option(label, first) for label, first, _last in EDIT_GROUPS]

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        for _label, first, last in EDIT_GROUPS:
            if value == first:
                ctx.state["edit_until"] = last
                return Goto(first)
        return await super().on_choice(ctx, value)


def summary_card(ctx: Ctx, answers: dict[str, Any] | None = None) -> str:
    """The one-card summary of a draft (or of a filed submission's answers)."""
    d = ctx.draft if answers is None else answers
    campaign, catalog = ctx.services.campaign, ctx.services.catalog
    groups = {c.code: c.name for c in campaign.target_groups}
    types = {c.code: c.name for c in campaign.solution_types}
    money = rf.format_money_vnd(d["benefit_vnd"]) if d.get("benefit_vnd") else "không quy đổi"
    attachments = "; ".join(_attachment_label(a) for a in d.get("attachments", [])) or "không có"
    return "\n".join(
        (
            f"📋 TÓM TẮT SÁNG KIẾN – {campaign.short_name}",
            f"• Tác giả: {d['author_name']}, sinh năm {d['birth_year']}"
            + (f", đóng góp {d['author_share']}%" if d.get("co_authors") else "")
            + (" (bạn nộp hộ)" if d.get("for_member") and answers is None else ""),
            *_co_author_lines(d),
            f"• Chức vụ: {d['position']}; nơi công tác: {d['workplace']}",
            f"• Đơn vị: {catalog.describe(d['unit_code'])}",
            f"• Nhóm đối tượng: {groups.get(d['target_group'], '—')}",
            f"• Tên sáng kiến: {d['title']}",
            f"• Loại giải pháp: {types.get(d['solution_type'], '—')}",
            f"• Thời gian triển khai: {_day(d['started_on'])} – {_day(d['ended_on'])}",
            f"• Mô tả ({len(d['description'])}/{campaign.description_limit} ký tự):\n"
            f"{d['description']}",
            f"• Giá trị làm lợi: {money}",
            f"• Lợi ích xã hội: {d.get('benefit_social') or 'không nêu'}",
            f"• Phạm vi ứng dụng: {d.get('applied_scope') or 'không nêu'}",
            f"• Công nhận: {d['recognized_by']}, văn bản số {d['recognition_doc']} "
            f"ngày {_day(d['recognized_on'])}",
            f"• Danh hiệu, khen thưởng: {d.get('awards') or 'không nêu'}",
            f"• Tài liệu: {attachments}",
            "• Tác giả cho biết: sáng kiến không đang được bảo hộ quyền sở hữu trí tuệ; nội dung "
            "không trái trật tự công cộng, đạo đức xã hội",
            *_flags(ctx, d),
        )
    )


def _co_author_lines(d: dict[str, Any]) -> list[str]:
    listed = d.get("co_authors") or []
    if not listed:
        return ["• Đồng tác giả: không có"]
    credited = rf.credited_author(d["author_name"], d.get("author_share"), listed)
    return [
        "• Đồng tác giả: " + "; ".join(_co_author(a) for a in listed),
        f"• Công nhận cho (tỷ lệ đóng góp cao nhất, 46/HD-TLĐ): {credited}",
    ]


def _flags(ctx: Ctx, d: dict[str, Any]) -> list[str]:
    """What the person was warned about and kept anyway, for them and for the reviewer."""
    recognized = d.get("recognized_on")
    warning = recognized and recognition_warning(
        ctx.services.campaign, date.fromisoformat(recognized)
    )
    return [f"⚠️ {warning}"] if warning else []


def _day(iso: str) -> str:
    return format_date(date.fromisoformat(iso))


REQUIRED = (
    "author_name",
    "birth_year",
    "position",
    "workplace",
    "unit_code",
    "target_group",
    "title",
    "solution_type",
    "started_on",
    "ended_on",
    "description",
    "recognized_by",
    "recognition_doc",
    "recognized_on",
)


async def submit(ctx: Ctx) -> Outcome:
    """Check the window and the draft once more, then file the submission exactly once."""
    campaign = ctx.services.campaign
    window = campaign.window(ctx.now)
    if isinstance(window, Rejected):
        return Stay(window.message + "\nBản nháp của bạn vẫn được giữ.")
    draft = ctx.draft
    missing = [name for name in REQUIRED if draft.get(name) in (None, "")]
    if missing or not (draft.get("declared_no_ip") and draft.get("declared_public_order")):
        return Stay("Bản nháp còn thiếu thông tin. Vui lòng chọn “Sửa một mục” để bổ sung.")
    start = campaign.check_start(date.fromisoformat(draft["started_on"]), window.value, ctx.today)
    if isinstance(start, Rejected):
        return Stay(start.message + " Chọn “Sửa một mục” → “Thời gian triển khai” để sửa.")
    if draft.get("amend"):
        return await _amend(ctx, int(draft["amend"]))
    existing = await ctx.uow.submissions.by_draft(draft["id"])
    submission = existing or await _file(ctx, window.value)
    ctx.state["draft"] = None
    return Goto("menu", _confirmation(ctx, submission))


def _confirmation(ctx: Ctx, submission: Submission) -> str:
    author = f" của tác giả {submission.author_name}" if submission.filed_by else ""
    text = (
        f"🎉 Đã gửi sáng kiến “{submission.title}”{author}.\nMã hồ sơ: {submission.code}\n"
        f"Thời điểm: {submission.submitted_at.astimezone(ctx.now.tzinfo):%H:%M %d/%m/%Y}.\n"
        "Cán bộ công đoàn sẽ xem xét; bạn theo dõi trạng thái ở mục “Sáng kiến đã gửi” (/cuatoi)."
    )
    if submission.similar_to:
        text += (
            f"\n⚠️ Lưu ý: bạn hoặc đơn vị đã gửi sáng kiến tương tự: {submission.similar_to}. "
            "Cán bộ duyệt sẽ được báo để đối chiếu."
        )
    return text


def copy_draft(d: dict[str, Any], submission: Submission, now: datetime) -> list[Attachment]:
    """Copy a draft's fields onto a submission; returns its attachments as rows."""
    submission.unit_code = d["unit_code"]
    submission.target_group = d["target_group"]
    submission.solution_type = d["solution_type"]
    submission.title = d["title"]
    submission.started_on = date.fromisoformat(d["started_on"])
    submission.ended_on = date.fromisoformat(d["ended_on"])
    submission.description = d["description"]
    submission.fingerprint = fingerprint(d["title"], d["description"])
    submission.benefit_vnd = d.get("benefit_vnd")
    submission.benefit_social = d.get("benefit_social")
    submission.applied_scope = d.get("applied_scope")
    submission.recognized_by = d["recognized_by"]
    submission.recognition_doc = d["recognition_doc"]
    submission.recognized_on = date.fromisoformat(d["recognized_on"])
    submission.awards = d.get("awards")
    submission.author_name = d["author_name"]
    submission.author_birth_year = d["birth_year"]
    submission.author_position = d["position"]
    submission.author_workplace = d["workplace"]
    submission.co_authors = list(d.get("co_authors") or []) or None
    submission.author_share = d.get("author_share") if submission.co_authors else None
    return [
        Attachment(
            kind=a["kind"],
            url=a.get("url"),
            filename=a.get("filename"),
            mime=a.get("mime"),
            size=a.get("size"),
            sha256=a.get("sha256"),
            created_at=now,
        )
        for a in d.get("attachments", [])
    ]


async def _file(ctx: Ctx, phase: Phase) -> Submission:
    d, person = ctx.draft, ctx.person
    assert person is not None
    author, filer = person, None
    if d.get("for_member"):
        author = await ctx.uow.people.member(
            d["author_name"], d["birth_year"], d["unit_code"], person.id, ctx.now
        )
        filer = person.id
    submission = await file_draft(
        ctx.uow, ctx.services, d, Filing(author.id, filer, ctx.inbound.channel, phase, ctx.now)
    )
    ctx.uow.audit.record(
        ctx.now,
        "submission.created",
        person_id=person.id,
        channel=ctx.inbound.channel,
        subject=submission.code,
        detail={"for_member": author.id} if filer else None,
    )
    return submission


@dataclass(frozen=True, slots=True)
class Filing:
    """Who a draft is filed for and by, from where, in which phase, when."""

    author_id: int
    filer_id: int | None  # the collector or officer who filed it for the author
    channel: str
    phase: Phase
    now: datetime


async def file_draft(
    uow: UnitOfWork, services: Services, d: dict[str, Any], filing: Filing
) -> Submission:
    """A checked draft filed as a submission (its code given, its counters moved), from the
    chat's review card."""
    (submission,) = await file_drafts(uow, services, [(d, filing)])
    return submission


async def file_drafts(
    uow: UnitOfWork, services: Services, drafts: Sequence[tuple[dict[str, Any], Filing]]
) -> list[Submission]:
    """Checked drafts filed in one transaction (a file's rows, bot/intake, come 25 at a time)."""
    filings = []
    for d, filing in drafts:
        submission = Submission(
            draft_id=d["id"],
            person_id=filing.author_id,
            filed_by=filing.filer_id,
            channel=filing.channel,
            campaign=services.campaign.code,
            phase=filing.phase.code,
            catalog=services.catalog.code,
            declared_no_ip=True,
            declared_public_order=True,
            status=review.SUBMITTED,
            submitted_at=filing.now,
        )
        filings.append((submission, copy_draft(d, submission, filing.now)))
    await review.file(uow, services.catalog, filings, services.campaign.code_prefix)
    return [submission for submission, _ in filings]


async def _amend(ctx: Ctx, submission_id: int) -> Outcome:
    """Send back a returned submission with the worker's additions."""
    submission = await ctx.uow.submissions.get(submission_id, lock=True)
    person = ctx.person
    if (
        submission is None
        or person is None
        or person.id not in (submission.person_id, submission.filed_by)
        or submission.status != review.NEEDS_INFO
    ):
        ctx.state["draft"] = None
        return Goto("menu", "Sáng kiến này không còn ở trạng thái cần bổ sung.")
    before = Counted.of(submission)
    returned = await review.last_change(ctx.uow, submission)
    attachments = copy_draft(ctx.draft, submission, ctx.now)
    await ctx.uow.submissions.replace_attachments(submission.id, attachments)
    await review.change_status(
        ctx.uow,
        ctx.services.catalog,
        submission,
        review.SUBMITTED,
        None,
        person.id,
        ctx.now,
        before=before,
    )
    officer = returned.by_person_id if returned else None
    if officer is not None and officer != person.id:
        code = submission.code
        text = (
            f"Sáng kiến {code} bạn yêu cầu bổ sung đã được tác giả gửi lại. "
            f"Gõ /duyet {code} để xem."
        )
        await ctx.uow.outbox.to_person(officer, {"text": text}, ctx.now)
    ctx.state["draft"] = None
    return Goto("menu", f"Đã gửi lại sáng kiến {submission.code} với phần bổ sung.")


def draft_from(submission: Submission, attachments: list[Attachment]) -> dict[str, Any]:
    """A draft holding a filed submission's answers, to amend it through the review card."""
    return {
        "id": submission.draft_id,
        "amend": submission.id,
        "step": "review",
        "author_name": submission.author_name,
        "birth_year": submission.author_birth_year,
        "position": submission.author_position,
        "workplace": submission.author_workplace,
        "unit_code": submission.unit_code,
        "target_group": submission.target_group,
        "title": submission.title,
        "solution_type": submission.solution_type,
        "started_on": submission.started_on.isoformat(),
        "ended_on": submission.ended_on.isoformat(),
        "description": submission.description,
        "benefit_vnd": submission.benefit_vnd,
        "benefit_social": submission.benefit_social,
        "applied_scope": submission.applied_scope,
        "recognized_by": submission.recognized_by,
        "recognition_doc": submission.recognition_doc,
        "recognized_on": submission.recognized_on.isoformat(),
        "awards": submission.awards,
        "declared_no_ip": True,
        "declared_public_order": True,
        "co_authors": list(submission.co_authors or []),
        "author_share": submission.author_share,
        "attachments": [
            {
                key: value
                for key, value in (
                    ("kind", a.kind),
                    ("url", a.url),
                    ("filename", a.filename),
                    ("mime", a.mime),
                    ("size", a.size),
                    ("sha256", a.sha256),
                )
                if value is not None
            }
            for a in attachments
        ],
    }


# What each step of the form is called, for the people who see where someone stands.
STEP_NAMES = {
    "profile": "Thông tin cá nhân đã lưu",
    "name": "Họ và tên",
    "birth_year": "Năm sinh",
    "position": "Chức vụ",
    "workplace": "Nơi công tác",
    "unit": "Đơn vị",
    "target_group": "Nhóm đối tượng",
    "title": "Tên sáng kiến",
    "solution_type": "Loại giải pháp",
    "started_on": "Ngày bắt đầu triển khai",
    "ended_on": "Ngày kết thúc triển khai",
    "description": "Mô tả",
    "benefit_vnd": "Giá trị làm lợi",
    "benefit_social": "Lợi ích xã hội",
    "applied_scope": "Phạm vi ứng dụng",
    "recognized_by": "Nơi công nhận",
    "recognition_doc": "Số văn bản công nhận",
    "recognized_on": "Ngày công nhận",
    "awards": "Danh hiệu, khen thưởng",
    "attachments": "Tài liệu đính kèm",
    "declare_ip": "Sở hữu trí tuệ",
    "declare_order": "Trật tự công cộng",
    "review": "Thẻ tóm tắt",
    "coauthors": "Đồng tác giả",
    "author_share": "Tỷ lệ đóng góp của tác giả",
    "edit_pick": "Sửa một mục",
}


def new_draft(for_member: bool = False) -> dict[str, Any]:
    """An empty draft; `for_member`: filed by a collector for a member (`/nopho`), whose
    details are the author's and never replace the collector's own."""
    draft: dict[str, Any] = {"id": str(uuid.uuid4()), "attachments": []}
    if for_member:
        draft["for_member"] = True
    return draft


def for_member(ctx: Ctx) -> bool:
    return ctx.has_draft and bool(ctx.draft.get("for_member"))


def _whose(ctx: Ctx) -> str:
    return "của tác giả" if for_member(ctx) else "của bạn"


def submission_steps() -> list[Step]:
    """The form, in order. `back` and `next` wire the table; nothing else moves between them."""
    return [
        ProfileCardStep(),
        TextField(
            "name",
            lambda c: f"Họ và tên {_whose(c)} (có dấu), ví dụ: Phạm Thị Hoa.",
            "author_name",
            lambda c, t: rf.parse_full_name(t),
            "birth_year",
        ),
        TextField(
            "birth_year",
            lambda c: f"Năm sinh {_whose(c)} (4 chữ số), ví dụ: 1985.",
            "birth_year",
            lambda c, t: rf.parse_birth_year(t, c.today.year),
            "position",
            back="name",
        ),
        TextField(
            "position",
            lambda c: f"Chức vụ {_whose(c)} (ví dụ: Công nhân, Kỹ sư, Chuyên viên).",
            "position",
            lambda c, t: rf.parse_short_text(t, "chức vụ"),
            "workplace",
            back="birth_year",
        ),
        TextField(
            "workplace",
            lambda c: f"Nơi công tác {_whose(c)}: tên cơ quan, đơn vị, doanh nghiệp.",
            "workplace",
            lambda c, t: rf.parse_short_text(t, "nơi công tác"),
            "unit",
            back="position",
        ),
        UnitStep(),
        TargetGroupField(
            "target_group",
            lambda c: c.services.campaign.target_group_prompt,
            "target_group",
            _target_groups,
            "title",
            back="profile",
        ),
        TextField(
            "title",
            f"Tên sáng kiến (từ {rf.TITLE_MIN} đến {rf.TITLE_MAX} ký tự).",
            "title",
            lambda c, t: rf.parse_title(t),
            "solution_type",
            back="target_group",
        ),
        ChoiceField(
            "solution_type",
            "Sáng kiến thuộc loại giải pháp nào?",
            "solution_type",
            _solution_types,
            "started_on",
            back="title",
        ),
        TextField(
            "started_on",
            "Ngày bắt đầu triển khai, áp dụng sáng kiến (ngày/tháng/năm, ví dụ 01/09/2021).",
            "started_on",
            _start,
            "ended_on",
            back="solution_type",
        ),
        TextField(
            "ended_on",
            "Ngày kết thúc triển khai (ngày/tháng/năm). Nếu vẫn đang áp dụng, "
            "gửi ngày dự kiến kết thúc.",
            "ended_on",
            _end,
            "description",
            back="started_on",
        ),
        TextField(
            "description",
            _description_prompt,
            "description",
            _description,
            "benefit_vnd",
            back="ended_on",
        ),
        TextField(
            "benefit_vnd",
            "Giá trị làm lợi quy đổi thành tiền (đồng), ví dụ 150.000.000 "
            "hoặc 150 triệu. Không quy đổi được thì chọn “Bỏ qua”.",
            "benefit_vnd",
            lambda c, t: rf.parse_money_vnd(t),
            "benefit_social",
            back="description",
            optional=True,
        ),
        BenefitSocialField(
            "benefit_social",
            "Lợi ích xã hội của sáng kiến (an toàn lao động, "
            "điều kiện làm việc, môi trường…). Không có thì chọn “Bỏ qua”.",
            "benefit_social",
            _benefit_social,
            "applied_scope",
            back="benefit_vnd",
            optional=True,
        ),
        TextField(
            "applied_scope",
            "Phạm vi ứng dụng của sáng kiến: đã áp dụng ở đâu, có thể nhân rộng đến đâu (ví "
            "dụ: áp dụng tại tổ may 1 và 2, có thể nhân rộng toàn công ty).",
            "applied_scope",
            lambda c, t: rf.parse_long_text(t, "phạm vi ứng dụng", 500),
            "recognized_by",
            back="benefit_social",
        ),
        TextField(
            "recognized_by",
            "Sáng kiến được ai công nhận? (ví dụ: Hội đồng sáng kiến "
            "Công ty X, Giám đốc Bệnh viện Y).",
            "recognized_by",
            lambda c, t: rf.parse_recognizer(t),
            "recognition_doc",
            back="applied_scope",
        ),
        TextField(
            "recognition_doc",
            "Số văn bản công nhận, ví dụ: 125/QĐ-CT.",
            "recognition_doc",
            lambda c, t: rf.parse_doc_number(t),
            "recognized_on",
            back="recognized_by",
        ),
        RecognizedOnField(
            "recognized_on",
            "Ngày của văn bản công nhận (ngày/tháng/năm).",
            "recognized_on",
            _recognized_on,
            "awards",
            back="recognition_doc",
        ),
        TextField(
            "awards",
            "Các danh hiệu thi đua, hình thức khen thưởng cá nhân của bạn trong 3 năm gần đây "
            "(ví dụ: Chiến sĩ thi đua cơ sở 2021). Không có thì chọn “Bỏ qua”.",
            "awards",
            lambda c, t: rf.parse_long_text(t, "danh hiệu, khen thưởng", 500),
            "attachments",
            back="recognized_on",
            optional=True,
        ),
        AttachmentsStep(),
        DeclarationStep(
            "declare_ip",
            "Sáng kiến có đang được bảo hộ quyền sở hữu trí tuệ (bằng sáng chế, giải pháp hữu "
            "ích…) theo quy định của pháp luật không?",
            "declared_no_ip",
            "Sáng kiến đang được bảo hộ quyền sở hữu trí tuệ không được tham gia Chương trình.",
            "declare_order",
            back="attachments",
        ),
        DeclarationStep(
            "declare_order",
            "Nội dung sáng kiến có trái với trật tự công cộng hoặc đạo đức xã hội không?",
            "declared_public_order",
            "Sáng kiến có nội dung trái trật tự công cộng hoặc đạo đức xã hội không được tham "
            "gia Chương trình.",
            "review",
            back="declare_ip",
        ),
        ReviewStep(),
        EditPickStep(),
        CoAuthorsStep(),
        AuthorShareStep(),
    ]
