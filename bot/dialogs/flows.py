"""The step table and the commands available at every step."""

from __future__ import annotations

from collections.abc import Callable

from bot.access import ADMIN, COLLECTOR, HELPER, OFFICER
from bot.dialogs.account import ConsentStep, PhoneStep
from bot.dialogs.announcements import (
    AnnounceConfirmStep,
    announce_command,
    monthly_command,
    mute_command,
    unmute_command,
)
from bot.dialogs.awards import (
    authorship_command,
    awards_command,
    complaint_command,
    dossier_command,
    lift_command,
    reopen_command,
)
from bot.dialogs.engine import (
    CommandHandler,
    Ctx,
    Engine,
    Goto,
    Outcome,
    Services,
    Step,
    notice_here,
)
from bot.dialogs.helpdesk import (
    answer_command,
    block_command,
    canned_command,
    claim_command,
    close_command,
    queue_command,
)
from bot.dialogs.intake import (
    IntakeConfirmStep,
    IntakeFileStep,
    IntakeGroupStep,
    IntakeKindStep,
    IntakeRecognitionStep,
    intake_command,
)
from bot.dialogs.linking import link_command
from bot.dialogs.menu import (
    CancelConfirmStep,
    HelpStep,
    MenuStep,
    MyItemStep,
    MySubmissionsStep,
    cancel,
    file_for_member_command,
    open_help,
    resume,
)
from bot.dialogs.officer import chart_command, export_command, stats_command
from bot.dialogs.privacy import (
    EraseConfirmStep,
    MyDataStep,
    ProfileFieldStep,
    erase_command,
    my_data_command,
)
from bot.dialogs.review_desk import ReviewDeskStep, ReviewNoteStep, review_command
from bot.dialogs.roles import claim_role_command
from bot.dialogs.submission import submission_steps
from bot.store.committer import StateCommitter
from bot.store.uow import UnitOfWork

# Shown by channels that can register commands (Telegram's setMyCommands).
COMMAND_HELP = {
    "/menu": "Về menu chính",
    "/tieptuc": "Làm tiếp bản nháp",
    "/huy": "Hủy bản nháp",
    "/quaylai": "Về bước trước",
    "/hotro": "Hỗ trợ, hỏi đáp",
    "/lienket": "Liên kết Zalo và Telegram",
    "/cuatoi": "Sáng kiến của tôi",
    "/dulieu": "Dữ liệu của tôi",
    "/xoa": "Rút đồng ý, xóa dữ liệu",
    "/tatthongbao": "Không nhận thông báo, nhắc việc",
}


def all_steps() -> dict[str, Step]:
    steps = [
        ConsentStep(),
        PhoneStep(),
        MenuStep(),
        CancelConfirmStep(),
        MySubmissionsStep(),
        MyItemStep(),
        HelpStep(),
        ReviewDeskStep(),
        ReviewNoteStep(),
        MyDataStep(),
        ProfileFieldStep(),
        EraseConfirmStep(),
        AnnounceConfirmStep(),
        IntakeFileStep(),
        IntakeGroupStep(),
        IntakeKindStep(),
        IntakeRecognitionStep(),
        IntakeConfirmStep(),
        *submission_steps(),
    ]
    table = {step.key: step for step in steps}
    if len(table) != len(steps):
        raise ValueError("two steps share a key")
    return table


async def _menu(ctx: Ctx, step: Step | None) -> Outcome:
    return Goto("menu")


async def _mine(ctx: Ctx, step: Step | None) -> Outcome:
    return Goto("mine")


async def _back(ctx: Ctx, step: Step | None) -> Outcome:
    if step is not None and step.can_go_back(ctx):
        return await step.on_back(ctx)
    return notice_here(step, "Bước này không có bước trước.")


def _sync(handler: Callable[[Ctx], Outcome]) -> CommandHandler:
    async def run(ctx: Ctx, step: Step | None) -> Outcome:
        return handler(ctx)

    return run


def commands() -> dict[str, CommandHandler]:
    return {
        "/start": _menu,
        "/menu": _menu,
        "/huy": _sync(cancel),
        "/tieptuc": _sync(resume),
        "/hotro": _sync(open_help),
        "/quaylai": _back,
        "/lienket": link_command,
        "/nopho": file_for_member_command,
        "/nhaptep": intake_command,
        "/nhanquyen": claim_role_command,
        "/cuatoi": _mine,
        "/duyet": review_command,
        "/stats": stats_command,
        "/thongke": stats_command,
        "/bieudo": chart_command,
        "/xuat": export_command,
        "/khenthuong": awards_command,
        "/khieunai": complaint_command,
        "/tranhchap": authorship_command,
        "/gokhieunai": lift_command,
        "/hoso": dossier_command,
        "/thongbao": announce_command,
        "/tatthongbao": mute_command,
        "/batthongbao": unmute_command,
        "/baocaothang": monthly_command,
        "/molai": reopen_command,
        "/tl": answer_command,
        "/nhan": claim_command,
        "/dong": close_command,
        "/ve": queue_command,
        "/mau": canned_command,
        "/chan": block_command,
        "/dulieu": my_data_command,
        "/xoa": erase_command,
    }


# Commands for roles; everyone else is not shown them (admins hold every role).
RESTRICTED = {
    **{
        c: frozenset({OFFICER})
        for c in (
            "/duyet",
            "/stats",
            "/thongke",
            "/bieudo",
            "/xuat",
            "/khenthuong",
            "/khieunai",
            "/tranhchap",
            "/gokhieunai",
            "/hoso",
            "/thongbao",
            "/baocaothang",
        )
    },
    "/molai": frozenset({ADMIN}),
    **{c: frozenset({HELPER}) for c in ("/tl", "/nhan", "/dong", "/ve", "/mau", "/chan")},
    **{c: frozenset({COLLECTOR, OFFICER}) for c in ("/nopho", "/nhaptep")},
}


def build_engine(
    uow_factory: Callable[[], UnitOfWork],
    services: Services,
    committer: StateCommitter | None = None,
    cache_size: int = 0,
) -> Engine:
    return Engine(
        all_steps(), commands(), uow_factory, services, committer, cache_size, RESTRICTED
    )
