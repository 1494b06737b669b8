"""/nhaptep: an officer or collector sends a mẫu 1 table (XLSX, CSV, DOCX); the bot checks
every row by the form's rules, asks once for what the file leaves out for all its rows (the
target group, the solution type, the recognition), sends the failing rows back with their
reasons, and on “Có” files the valid ones for their authors (bot/intake)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.access import COLLECTOR, DENIED, OFFICER, Scope, scope_of
from bot.dialogs.confirm import ConfirmStep
from bot.dialogs.engine import Ctx, Goto, Outcome, Stay, Step, deny
from bot.dialogs.submission import choice_options, new_draft
from bot.dialogs.types import Expect, IncomingFile, Option, OutgoingFile
from bot.intake import columns as col
from bot.intake import ocr, report
from bot.intake.apply import Filer, apply
from bot.intake.check import Checked, Checker, Defaults, Row, check_table, needs, pick
from bot.intake.read import ACCEPTED, MAX_BYTES, MAX_ROWS, Table, read_in_process
from bot.stats.export import XLSX_MIME
from rules.fields import format_count
from rules.files import check_size, identify_file, safe_filename
from rules.verdict import Rejected

STATE = "intake"  # the file waiting: where it is stored, its name, the values for all rows
ZALO = "zalo"
ON_ZALO = (
    "Gửi ảnh chụp (hoặc bản quét) phiếu thông tin sáng kiến in sẵn của một đoàn viên: bot đọc "
    "ảnh rồi hỏi lại từng mục để bạn xác nhận. Zalo chỉ cho gửi ảnh; bảng Excel, Word nhiều "
    "sáng kiến thì gửi qua bot trên Telegram."
)
READ_HERE_BYTES = 256 * 1024  # bench/README.md, “intake”: a 30-row XLSX is 12 KB
EXPIRED = "Tệp đã gửi không còn (quá 1 giờ hoặc đã xử lý). Vui lòng gửi /nhaptep và gửi lại tệp."


async def intake_command(ctx: Ctx, step: Step | None) -> Outcome:
    """/nhaptep: open the intake for one who may file for members."""
    scope = await _filer_scope(ctx)
    if not scope:
        return deny(ctx, step, "/nhaptep", DENIED)
    ctx.state.pop(STATE, None)
    return Goto(IntakeFileStep.key)


async def _filer_scope(ctx: Ctx) -> Scope:
    return await scope_of(ctx.uow, ctx.person_id, COLLECTOR, OFFICER)


class IntakeFileStep(Step):
    key = "intake_file"
    back = "menu"
    expects = Expect.FILE

    def text(self, ctx: Ctx) -> str:
        if ctx.inbound.channel == ZALO:
            return ON_ZALO
        return (
            f"Gửi tệp {ACCEPTED} có bảng tổng hợp tóm tắt sáng kiến theo mẫu 1, hoặc bảng tải "
            f"từ /xuat đã điền thêm (tối đa {format_count(MAX_ROWS)} dòng, "
            f"{MAX_BYTES // 1048576} MB).\nMỗi dòng được kiểm tra như khi nộp trong cuộc trò "
            "chuyện; chưa có gì được nộp cho đến khi bạn xác nhận.\nCó phiếu in của một sáng "
            "kiến: gửi ảnh chụp phiếu, bot đọc rồi hỏi lại từng mục."
        )

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        return Stay(f"Vui lòng gửi tệp {ACCEPTED} (gửi dưới dạng tệp), hoặc gõ /huy.")

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> Outcome:
        size = check_size(len(file.data), MAX_BYTES)
        if isinstance(size, Rejected):
            return Stay(size.message)
        scope = await _filer_scope(ctx)
        if not scope:
            return Goto("menu", DENIED)
        if file.data.startswith(ocr.PHOTO_STARTS):
            return await _from_photo(ctx, file)
        path = await ctx.services.files.put_export(file.data, "bin")
        table = await _read(ctx, path.name)
        if isinstance(table, Rejected):
            return Stay(f"{table.message}\nGửi tệp khác, hoặc gõ /huy.")
        name = Path(file.filename or f"tep.{table.kind}").name[:100]
        unit = None if scope.everything else scope.default_unit
        ctx.state[STATE] = {"stored": path.name, "name": name, "unit": unit}
        if unit is None and not table.has(col.UNIT):
            ctx.state.pop(STATE)
            return Stay(
                "Bạn quản lý nhiều đơn vị: tệp cần có cột “Đơn vị” ghi đơn vị của từng sáng "
                "kiến (như bảng tải từ /xuat). Thêm cột rồi gửi lại."
            )
        ctx.state[STATE]["lacking"] = needs(table)
        return await _next(ctx, table)


async def _from_photo(ctx: Ctx, file: IncomingFile) -> Outcome:
    """A photo of the printed form: its fields read into a draft for a member, then the
    form's questions one by one, each showing what was read (“Giữ nguyên” keeps it)."""
    problem = ocr.missing()
    if problem is not None:
        return Stay(f"{problem} Vui lòng nhập sáng kiến bằng /nopho, hoặc gửi bảng Excel, Word.")
    if ctx.has_draft:
        return Stay(
            "Bạn đang có một bản nháp. Hãy gửi hoặc hủy bản nháp đó trước (/tieptuc, /huy)."
        )
    window = ctx.services.campaign.window(ctx.now)
    if isinstance(window, Rejected):
        return Stay(window.message)
    kind = identify_file(file.data, ctx.services.max_file_bytes)
    if isinstance(kind, Rejected):
        return Stay(kind.message)
    text = await asyncio.to_thread(ocr.read_photo, file.data)  # Tesseract's own process
    if isinstance(text, Rejected):
        return Stay(text.message)
    fields = ocr.fields_of(text.value)
    if not fields:
        return Stay(
            "Không đọc được mục nào của phiếu trên ảnh. Vui lòng chụp thẳng, đủ sáng, cả trang; "
            "hoặc nhập bằng /nopho."
        )
    checker = Checker(ctx.services, Defaults(None), lambda code: True, ctx.now)
    row = checker.answered(Row(0, ()), ocr.answers_of(fields), fields.get("recognition", ""))
    draft = new_draft(for_member=True)
    # the answers of the form's questions; the unit, the attachments and the two
    # declarations are always asked
    draft.update({k: row.draft[k] for k in checker.fields if row.draft.get(k) is not None})
    sha256 = await ctx.services.files.put(file.data, kind.value.extension)
    name = safe_filename(file.filename or "phieu-sang-kien", kind.value.extension)
    draft["attachments"] = [
        {
            "kind": "file",
            "filename": name,
            "mime": kind.value.mime,
            "size": len(file.data),
            "sha256": sha256,
        }
    ]
    ctx.state["draft"], ctx.state["edit_until"] = draft, LAST_QUESTION
    return Goto(
        "name",
        f"Đã đọc ảnh phiếu: {len(fields)}/{len(ocr.FORM_LABELS)} mục. Bot hỏi lần lượt "
        "từng mục, mục đã đọc hiện ở “Đang lưu”: chọn “Giữ nguyên” nếu đúng, hoặc gõ lại cho "
        "đúng. Ảnh phiếu được đính kèm; chưa có gì được nộp.",
    )


LAST_QUESTION = "declare_order"  # after it, the review card


async def _read(ctx: Ctx, stored: str) -> Table | Rejected:
    """The stored file, read: a large workbook in the export process (2,000 rows take about
    a second of the interpreter, which the chats would otherwise wait through); a small one
    here, where it takes milliseconds and starting a process would take a second."""
    path = await ctx.services.files.find(stored)
    if path is None:
        return Rejected(EXPIRED)
    async with ctx.uow.paused():  # other chats write meanwhile
        if path.stat().st_size <= READ_HERE_BYTES:
            read = await asyncio.to_thread(read_in_process, "", str(path))
        else:
            read = await ctx.services.exports.call(read_in_process, str(path))
    return read if isinstance(read, Rejected) else read.value


def _waiting(ctx: Ctx) -> dict[str, Any]:
    found: dict[str, Any] = ctx.state.get(STATE) or {}
    return found


async def _next(ctx: Ctx, table: Table | None = None) -> Outcome:
    """Ask for the next value for the whole file the rows lack, then check the rows."""
    waiting = _waiting(ctx)
    for column, step in ASKED:
        if column in waiting.get("lacking", {}) and column not in waiting:
            return Goto(step)
    if table is None:
        read = await _read(ctx, waiting.get("stored", ""))
        if isinstance(read, Rejected):
            ctx.state.pop(STATE, None)
            return Goto("menu", read.message)
        table = read
    checked = await _check(ctx, table)
    said = report.summary(checked, waiting["name"])
    if checked.failed:
        ctx.view["files"] = [await _errors_file(ctx, checked)]
    if checked.closed or not checked.valid:
        ctx.state.pop(STATE, None)
        extra = "" if checked.closed else "\nKhông có dòng nào để nộp."
        return Goto("menu", said + extra)
    waiting["valid"] = len(checked.valid)
    ctx.state[f"{IntakeConfirmStep.key}:return"] = "menu"
    return Goto(IntakeConfirmStep.key, said)


async def _check(ctx: Ctx, table: Table) -> Checked:
    waiting, catalog = _waiting(ctx), ctx.services.catalog
    scope = await _filer_scope(ctx)
    defaults = Defaults(
        waiting.get("unit"),
        waiting.get(col.GROUP),
        waiting.get(col.KIND),
        waiting.get(col.RECOGNITION),
    )
    return await check_table(
        ctx.uow.session,
        ctx.services,
        table,
        defaults,
        lambda code: scope.covers(catalog, code),
        ctx.now,
        ctx.uow.paused,
    )


async def _errors_file(ctx: Ctx, checked: Checked) -> OutgoingFile:
    path = await ctx.services.files.put_export(report.errors_xlsx(checked), "xlsx")
    return OutgoingFile(str(path), report.ERRORS_NAME, XLSX_MIME, export=True)


class IntakeChoiceStep(Step):
    """A value for every row that gives none: the target group or the solution type."""

    expects = Expect.CHOICE
    back = "menu"
    column = ""
    asked = ""

    def text(self, ctx: Ctx) -> str:
        lacking = _waiting(ctx).get("lacking", {}).get(self.column, 0)
        return (
            f"Tệp không ghi {self.asked} cho {lacking} dòng. Các sáng kiến đó thuộc "
            f"{self.asked} nào?"
        )

    def options(self, ctx: Ctx) -> list[Option]:
        campaign = ctx.services.campaign
        listed = campaign.target_groups if self.column == col.GROUP else campaign.solution_types
        return choice_options(listed)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        if pick(self.options(ctx), value) is None and ctx.state.get(STATE):
            return await super().on_choice(ctx, value)
        return await _for_every_row(ctx, self.column, value)


class IntakeGroupStep(IntakeChoiceStep):
    key = "intake_group"
    column = col.GROUP
    asked = "nhóm đối tượng"


class IntakeKindStep(IntakeChoiceStep):
    key = "intake_kind"
    column = col.KIND
    asked = "loại giải pháp"


class IntakeRecognitionStep(Step):
    key = "intake_recognition"
    back = "menu"

    def text(self, ctx: Ctx) -> str:
        lacking = _waiting(ctx).get("lacking", {}).get(col.RECOGNITION, 0)
        return (
            f"Tệp không ghi việc công nhận sáng kiến cho {lacking} dòng. Nếu các sáng kiến đó "
            "được công nhận chung một văn bản, gửi nơi công nhận, số và ngày văn bản, ví dụ: "
            f"{col.RECOGNITION_EXAMPLE}."
        )

    async def on_text(self, ctx: Ctx, text: str) -> Outcome:
        if col.recognition_parts(text) is None and ctx.state.get(STATE):
            return Stay(f"Vui lòng ghi theo dạng: {col.RECOGNITION_EXAMPLE}.")
        return await _for_every_row(ctx, col.RECOGNITION, text)


async def _for_every_row(ctx: Ctx, column: str, value: str) -> Outcome:
    """Keep a value for the rows that lack one, then ask the next or check the rows."""
    waiting = ctx.state.get(STATE)
    if not waiting:
        return Goto("menu", EXPIRED)
    waiting[column] = value
    return await _next(ctx)


ASKED = (
    (col.GROUP, IntakeGroupStep.key),
    (col.KIND, IntakeKindStep.key),
    (col.RECOGNITION, IntakeRecognitionStep.key),
)


class IntakeConfirmStep(ConfirmStep):
    key = "intake_confirm"
    yes_label = "Có, nộp các sáng kiến hợp lệ"
    no_label = "Không, chưa nộp"
    kept = "Chưa nộp sáng kiến nào từ tệp."

    def text(self, ctx: Ctx) -> str:
        return (
            f"Nộp {_waiting(ctx).get('valid', 0)} sáng kiến hợp lệ cho các tác giả, bạn là "
            "người nộp hộ? Khi xác nhận, bạn cho biết các sáng kiến này không đang được bảo hộ "
            "quyền sở hữu trí tuệ và không trái trật tự công cộng, đạo đức xã hội."
        )

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> Outcome:
        """Another file sent instead (the corrected one): checked from the start."""
        ctx.state.pop(f"{self.key}:return", None)
        return await IntakeFileStep().on_file(ctx, file)

    async def on_choice(self, ctx: Ctx, value: str) -> Outcome:
        outcome = await super().on_choice(ctx, value)
        if isinstance(outcome, Goto) and outcome.step != self.key:
            ctx.state.pop(STATE, None)
        return outcome

    async def confirmed(self, ctx: Ctx) -> Outcome:
        waiting = _waiting(ctx)
        read = await _read(ctx, waiting.get("stored", ""))
        if isinstance(read, Rejected):
            return Goto("menu", read.message)
        checked = await _check(ctx, read)
        if checked.closed:
            return Goto("menu", f"Chưa nộp được: {checked.closed}")
        assert ctx.person_id is not None
        filer = Filer(ctx.person_id, ctx.inbound.channel, waiting["name"])
        async with ctx.uow.paused():  # each batch of rows is a transaction of its own
            applied = await apply(ctx.uow.sibling, ctx.services, checked, filer, ctx.now)
        return Goto("menu", report.applied_text(applied))
