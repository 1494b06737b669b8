"""`sangkien intake FILE --unit CODE [--apply --by PHONE]`: the chat's /nhaptep on the command
line. Without --apply nothing is written; every failing row is listed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.access import COLLECTOR, OFFICER, scope_of
from bot.dialogs.engine import Services
from bot.dialogs.submission import choice_options
from bot.errors import ConfigError
from bot.intake import columns as col
from bot.intake import ocr, report
from bot.intake.apply import Filer, apply
from bot.intake.check import Checker, Defaults, Row, check_table, needs, pick
from bot.intake.columns import RECOGNITION_EXAMPLE, recognition_parts
from bot.intake.read import MAX_BYTES, Table, read_table
from bot.store.uow import UnitOfWork
from rules.campaigns import Choice
from rules.phone import parse_phone
from rules.verdict import Rejected

if TYPE_CHECKING:
    from bot.app import App
    from bot.clock import Clock

FILER_ROLES = (COLLECTOR, OFFICER)


def file_defaults(services: Services, args: argparse.Namespace) -> Defaults:
    """--nhom, --loai and --cong-nhan, checked as a row's cells are."""
    campaign = services.campaign
    group = _picked(campaign.target_groups, args.group, "--nhom", "nhóm")
    kind = _picked(campaign.solution_types, args.kind, "--loai", "loại")
    if args.recognition and recognition_parts(args.recognition) is None:
        raise ConfigError(f"--cong-nhan cần ghi như: “{RECOGNITION_EXAMPLE}”")
    return Defaults(args.unit, group, kind, args.recognition)


async def run_intake(app: App, clock: Clock, args: argparse.Namespace) -> str:
    services, path = app.engine.services, Path(args.file)
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} là một thư mục, không phải tệp: ghi tên tệp mẫu 1 cần nhập")
    if path.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{path}: tệp nặng hơn {MAX_BYTES // 1048576} MB; chia thành nhiều tệp")
    if not services.catalog.knows(args.unit):
        raise ConfigError(f"không có đơn vị mã “{args.unit}” (xem `sangkien units list`)")
    data = path.read_bytes()
    if data.startswith(ocr.PHOTO_STARTS):
        return _photo(services, data, args, clock)
    read = read_table(data)
    if isinstance(read, Rejected):
        raise ConfigError(f"{path.name}: {read.message}")
    table = read.value
    defaults, now = file_defaults(services, args), clock.now()
    async with UnitOfWork(app.sessions) as uow:
        filer = await _filer(uow, services, args) if args.apply else None
        allowed = set(services.catalog.within(args.unit))
        checked = await check_table(
            uow.session, services, table, defaults, allowed.__contains__, now
        )
    lines = [report.summary(checked, path.name, shown=None), *_flags_wanted(table, args)]
    if args.errors and checked.failed:
        args.errors.write_bytes(report.errors_xlsx(checked))
        lines.append(f"Các dòng cần sửa đã ghi vào {args.errors}.")
    if filer is None:
        lines.append("Chưa ghi gì (chạy lại với --apply --by SỐ_ĐIỆN_THOẠI để nộp).")
        return "\n".join(lines)
    if checked.closed:
        raise ConfigError(f"chưa nộp được: {checked.closed}")
    applied = await apply(lambda: UnitOfWork(app.sessions), services, checked, filer, now)
    return "\n".join([*lines, report.applied_text(applied)])


FLAGS = (
    (col.GROUP, "group", "--nhom", "nhóm đối tượng"),
    (col.KIND, "kind", "--loai", "loại giải pháp"),
    (col.RECOGNITION, "recognition", "--cong-nhan", "việc công nhận"),
)


def _flags_wanted(table: Table, args: argparse.Namespace) -> list[str]:
    """What the chat would ask once for the whole file, said as the option that gives it."""
    lacking = needs(table)
    return [
        f"{lacking[column]} dòng không ghi {what}: {flag} cho các dòng đó."
        for column, name, flag, what in FLAGS
        if column in lacking and not getattr(args, name)
    ]


async def _filer(uow: UnitOfWork, services: Services, args: argparse.Namespace) -> Filer:
    if not args.by:
        raise ConfigError("--apply cần --by SỐ_ĐIỆN_THOẠI của cán bộ nộp hộ")
    phone = parse_phone(args.by)
    if isinstance(phone, Rejected):
        raise ConfigError(f"--by: {phone.message}")
    for person in await uow.people.holding(phone.value):
        scope = await scope_of(uow, person.id, *FILER_ROLES)
        if scope.covers(services.catalog, args.unit):
            return Filer(person.id, "cli", Path(args.file).name)
    raise ConfigError(
        f"số {args.by} không có quyền nộp hộ (người thu nhận hoặc cán bộ) tại đơn vị "
        f"“{args.unit}”; cấp bằng `sangkien grant collector …`"
    )


def _picked(choices: tuple[Choice, ...], typed: str | None, flag: str, what: str) -> str | None:
    """The code of the choice an option names, as a cell would name it; None when not given."""
    if not typed:
        return None
    found = pick(choice_options(choices), typed)
    if found is None:
        names = "; ".join(f"{c.code} ({c.name})" for c in choices)
        raise ConfigError(f"{flag} “{typed}” không khớp {what} nào: {names}")
    return found.value


def _photo(services: Services, data: bytes, args: argparse.Namespace, clock: Clock) -> str:
    """A photo of the printed form: the fields read and how the form's rules take them. It is
    never filed from here: in chat (/nhaptep) each field is confirmed first."""
    if args.apply:
        raise ConfigError(
            "ảnh phiếu không nộp thẳng được: gửi ảnh trong /nhaptep để xác nhận từng mục"
        )
    text = ocr.read_photo(data)
    if isinstance(text, Rejected):
        raise ConfigError(f"{Path(args.file).name}: {text.message} ({ocr.INSTALL})")
    fields = ocr.fields_of(text.value)
    labels = dict(ocr.FORM_LABELS)
    lines = [f"{labels[key]}: {fields.get(key, '(không đọc được)')}" for key in labels]
    checker = Checker(services, Defaults(args.unit), lambda code: True, clock.now())
    row = checker.answered(Row(0, ()), ocr.answers_of(fields), fields.get("recognition", ""))
    problems = [str(p) for p in row.problems if p.field != "Đơn vị"]
    lines += ["Cần sửa khi xác nhận:", *problems] if problems else ["Các mục đọc được đều hợp lệ."]
    return "\n".join(lines)
