"""`sangkien` command line: chat on the console, migrate the database, check the data files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

# Only what argument parsing needs is imported here, so that `sangkien --help` answers at
# once; the rest (SQLAlchemy, aiogram, …) when a command runs.
from bot.errors import ConfigError
from bot.explain import explain
from rules.dates import named_period, parse_date
from rules.verdict import Rejected

if TYPE_CHECKING:
    from bot.app import App
    from bot.clock import Clock
    from bot.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from bot.clock import parse_now
    from bot.config import Settings

    overrides = {}
    if getattr(args, "db", None):
        overrides["database_url"] = args.db
    if getattr(args, "now", None):
        try:
            parse_now(args.now)  # fail early on a bad value
        except ValueError:
            raise ConfigError(
                f"--now “{args.now}” chưa đúng: dùng dạng 2022-03-01T09:00 (giờ Việt Nam)"
            ) from None
        overrides["now"] = args.now
    if getattr(args, "campaign", None):
        overrides["campaign"] = args.campaign
    if getattr(args, "named", None):
        if args.start or args.end:
            raise ValueError("dùng --month/--quarter/--year hoặc --from/--to, không dùng cả hai")
        args.start, args.end = args.named
    settings = Settings(**overrides)
    from sqlalchemy.engine import make_url

    from bot.config import PLACEHOLDER

    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparsable URL is explained where it is used
        password = None
    if password is not None and str(password).startswith(PLACEHOLDER):
        raise ConfigError(
            "mật khẩu trong SANGKIEN_DATABASE_URL vẫn là giá trị mẫu: đặt mật khẩu của người "
            "dùng PostgreSQL (docs/operations.md, mục 2)"
        )
    return settings


# bot.access.ROLES, written out: importing it at parse time would load SQLAlchemy for --help
ROLE_CHOICES = ("helper", "officer", "admin", "collector")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="database URL (default: SANGKIEN_DATABASE_URL or SQLite)")


def _day(text: str) -> date:
    verdict = parse_date(text)
    if isinstance(verdict, Rejected):
        raise argparse.ArgumentTypeError(verdict.message)
    return verdict.value


def _named(kind: str) -> Callable[[str], tuple[date, date]]:
    def parse(text: str) -> tuple[date, date]:
        found = named_period(f"{kind} {text}")
        if found is None or isinstance(found, Rejected) or found[2]:
            raise argparse.ArgumentTypeError(f"kỳ “{text}” chưa đúng")
        return found[0], found[1]

    return parse


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", default="*", help="unit code (default * = whole country)")
    parser.add_argument("--from", dest="start", type=_day, help="first day, e.g. 01/01/2022")
    parser.add_argument("--to", dest="end", type=_day, help="last day, e.g. 31/03/2022")
    named = parser.add_mutually_exclusive_group()
    for option, kind, example in (
        ("--month", "thang", "3/2022"),
        ("--quarter", "quy", "1/2022"),
        ("--year", "nam", "2022"),
    ):
        named.add_argument(
            option, dest="named", type=_named(kind), help=f"instead of --from/--to, e.g. {example}"
        )
    parser.add_argument("--campaign", help="campaign code from campaigns.yaml")


def _award_arguments(awards: argparse.ArgumentParser) -> None:
    actions = awards.add_subparsers(dest="awards_command", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="nominations per level, quota and deadline")
    status.add_argument("--unit", help="a province or central union (default: every one)")
    for name, text in (("propose", "nominate an accepted initiative"), ("withdraw", "undo one")):
        action = actions.add_parser(name, help=text)
        action.add_argument("code", help="the initiative's code, e.g. SK-2021-000123")
        action.add_argument("--level", required=True, help="the award level's code")
        if name == "propose":
            action.add_argument("--criterion", type=int, help="the criterion's number, from 1")
    reopen = actions.add_parser("reopen", help="reopen a level past its deadline, with a reason")
    reopen.add_argument("--level", required=True)
    reopen.add_argument("--unit", required=True, help="a province or central union, or *")
    reopen.add_argument("--until", required=True, type=_day, help="the last day, YYYY-MM-DD")
    reopen.add_argument("--reason", required=True)
    dossier = actions.add_parser("dossier", help="write a unit's dossier for a level")
    dossier.add_argument("--unit", required=True)
    dossier.add_argument("--level", required=True)
    dossier.add_argument("--out", required=True, type=Path, help="the folder to write into")
    for action in actions.choices.values():
        _common(action)


def _intake_arguments(intake: argparse.ArgumentParser) -> None:
    _common(intake)
    intake.add_argument("file", type=Path, help="XLSX, CSV or DOCX in the columns of mẫu 1")
    intake.add_argument("--unit", required=True, help="unit code the rows are filed at")
    intake.add_argument(
        "--apply", action="store_true", help="file the valid rows (default: only check)"
    )
    intake.add_argument("--by", metavar="PHONE", help="the collector or officer filing them")
    intake.add_argument("--nhom", dest="group", help="target group of rows that name none")
    intake.add_argument("--loai", dest="kind", help="solution type of rows that name none")
    intake.add_argument(
        "--cong-nhan",
        dest="recognition",
        help="recognition of rows that give none: “Hội đồng …, số 12/QĐ-CT ngày 15/03/2021”",
    )
    intake.add_argument("--errors", type=Path, help="write the failing rows to this .xlsx")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sangkien", description="sangkien-bot")
    parser.add_argument(
        "--debug", action="store_true", help="print the full traceback of a failure"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chat = sub.add_parser("chat", help="talk to the bot on this terminal (console channel)")
    _common(chat)
    chat.add_argument("--user", default="console-user", help="act as this user id")
    chat.add_argument("--now", help="fix the clock, e.g. 2022-03-01T09:00 (Vietnam time)")
    chat.add_argument("--campaign", help="campaign code from campaigns.yaml")
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    _common(db_sub.add_parser("upgrade", help="apply migrations up to the newest"))
    db_backup = db_sub.add_parser(
        "backup", help="copy the database and the attachments into a new folder, while it runs"
    )
    _common(db_backup)
    db_backup.add_argument("dest", type=Path, help="a new or empty folder")
    db_restore = db_sub.add_parser(
        "restore", help="bring a backup into a new database (--db) and SANGKIEN_FILES_DIR"
    )
    _common(db_restore)
    db_restore.add_argument("src", type=Path, help="a folder made by `db backup`")
    run = sub.add_parser("run", help="run the bot on a platform by long polling")
    _common(run)
    run.add_argument("platform", choices=["telegram", "zalo"], help="which platform")
    run.add_argument("--now", help="fix the clock, e.g. 2022-03-01T09:00 (Vietnam time)")
    serve = sub.add_parser("serve", help="run the webhook server (Telegram, Zalo) with /healthz")
    _common(serve)
    serve.add_argument("--host", help="listen address (default SANGKIEN_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default SANGKIEN_PORT or 8080)")
    serve.add_argument("--now", help="fix the clock, e.g. 2022-03-01T09:00 (Vietnam time)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); use PostgreSQL",
    )
    grant = sub.add_parser("grant", help="issue a one-time code that gives a role over a unit")
    _common(grant)
    grant.add_argument("role", choices=ROLE_CHOICES)
    grant.add_argument(
        "phone",
        nargs="?",
        help="only this number may claim it, once verified on Telegram (optional)",
    )
    grant.add_argument("--unit", required=True, help="unit code from units.yaml, or * for all")
    grant.add_argument("--hours", type=int, default=72, help="the code's lifetime (default 72)")
    grant.add_argument(
        "--anyone",
        action="store_true",
        help="admin only: a code whoever holds it may claim, without a phone number",
    )
    grants = sub.add_parser("grants", help="list or cancel the codes issued by grant")
    _common(grants)
    grants.add_argument("--all", action="store_true", help="also used, expired and cancelled")
    grants.add_argument("--cancel", type=int, metavar="ID", help="cancel code #ID (and its role)")
    revoke = sub.add_parser(
        "revoke",
        help="take a role back: from whoever holds or took it with a number, or by its #ID",
    )
    _common(revoke)
    revoke.add_argument("role", nargs="?", choices=ROLE_CHOICES)
    revoke.add_argument("phone", nargs="?", help="the number the holder has or took it with")
    revoke.add_argument("--unit", help="unit code from units.yaml, or * for all")
    revoke.add_argument("--grant", type=int, metavar="ID", help="the role #ID from `roles`")
    roles = sub.add_parser("roles", help="list who holds which role where")
    _common(roles)
    roles.add_argument("--phone", help="held by, or taken with, this number")
    roles.add_argument("--unit", help="granted on this unit code (or *)")
    roles.add_argument("--role", choices=ROLE_CHOICES)
    stats = sub.add_parser("stats", help="print /stats for a unit subtree and period")
    _common(stats)
    _scope_arguments(stats)
    stats.add_argument(
        "--recount", action="store_true", help="rebuild the counters from the submissions first"
    )
    export = sub.add_parser("export", help="write the summary form as XLSX (and CSV)")
    _common(export)
    _scope_arguments(export)
    export.add_argument("--out", required=True, type=Path, help="the .xlsx file to write")
    export.add_argument("--csv", type=Path, help="also write this .csv file")
    export.add_argument("--with-phones", action="store_true", help="include phone numbers")
    export.add_argument(
        "--status",
        default="accepted",
        choices=["accepted", "submitted", "under_review", "needs_info", "rejected", "all"],
        help="which submissions (default accepted: the award file; all: every one not withdrawn)",
    )
    _award_arguments(sub.add_parser("awards", help="the award season: status, propose, dossier"))
    _intake_arguments(
        sub.add_parser("intake", help="check (and with --apply file) a mẫu 1 XLSX, CSV or DOCX")
    )
    outbox = sub.add_parser("outbox", help="messages waiting to be sent and those given up")
    outbox_actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    _common(
        outbox_actions.add_parser("status", help="waiting by kind; dead letters, newest first")
    )
    units = sub.add_parser("units", help="the unit catalog: add sub-units from a file, list")
    units_sub = units.add_subparsers(dest="units_command", required=True, metavar="ACTION")
    units_import = units_sub.add_parser("import", help="add or update sub-units (CSV or XLSX)")
    units_import.add_argument(
        "file", type=Path, help="columns: mã, tên, mã cấp trên[, tên gọi khác]"
    )
    units_list = units_sub.add_parser("list", help="print units and their codes")
    units_list.add_argument("--under", help="only this unit and those below it")
    units_list.add_argument("--search", help="units whose name matches")
    for action in (units_import, units_list):
        action.add_argument("--catalog", help="catalog version (default: the campaign's)")
        action.add_argument("--campaign", help="campaign code from campaigns.yaml")
    goals = sub.add_parser("goals", help="targets, member counts, emulation groups")
    goals_sub = goals.add_subparsers(dest="goals_command", required=True, metavar="ACTION")
    goals_import = goals_sub.add_parser("import", help="from CSV or XLSX")
    goals_import.add_argument(
        "file", type=Path, help="columns: mã đơn vị, chỉ tiêu, số đoàn viên[, cụm khối thi đua]"
    )
    goals_import.add_argument("--campaign", help="campaign code from campaigns.yaml")
    check = sub.add_parser("check", help="validate campaigns.yaml and units.yaml")
    check.add_argument("--campaign", help="campaign code from campaigns.yaml")
    return parser


async def _chat(settings: Settings, user: str) -> None:
    from bot.app import build_app
    from bot.channels.console import NAME as CONSOLE
    from bot.channels.console import ConsoleChannel
    from bot.unit_map import follow_map

    app = build_app(settings)
    await app.engine.services.files.check()
    await follow_map(app)
    console = ConsoleChannel(app.engine, user, sys.stdin, sys.stdout)
    outbox = app.outbox({CONSOLE: console.deliver}, chat_id=user)
    try:
        await console.run(outbox)
    finally:
        await app.close()


async def _admin(settings: Settings, args: argparse.Namespace) -> str:
    from bot import admin
    from bot.app import build_app, make_clock
    from bot.stats.export import EVERY
    from bot.store.db import REPORT_TIMEOUT_SECONDS
    from bot.unit_map import follow_map

    # An operator's recount or export of millions: see REPORT_TIMEOUT_SECONDS
    app = build_app(settings.model_copy(update={"db_timeout_seconds": REPORT_TIMEOUT_SECONDS}))
    clock = make_clock(settings)
    try:
        await follow_map(app)
        if args.command == "grant":
            if not 1 <= args.hours <= 24 * 30:
                raise ConfigError("--hours phải từ 1 đến 720")
            ttl = timedelta(hours=args.hours)
            if args.role == "admin" and not args.phone and not args.anyone:
                # an admin code sees every phone in its units: bind it to its holder's number
                raise ConfigError(
                    "mã quản trị cần số điện thoại người nhận (ví dụ: grant admin 0901234567 "
                    "--unit …); người đó xác minh số qua Telegram rồi mới nhận được. Thêm "
                    "--anyone nếu thật sự muốn bất kỳ ai cầm mã cũng nhận được quyền quản trị"
                )
            return await admin.grant(app, clock, args.role, args.unit, args.phone, ttl)
        if args.command == "grants":
            if args.cancel is not None:
                return await admin.cancel_claim(app, clock, args.cancel)
            return await admin.list_claims(app, clock, args.all)
        if args.command == "revoke":
            return await _revoke(app, clock, args)
        if args.command == "roles":
            return await admin.list_roles(app, args.phone, args.unit, args.role)
        if args.command == "awards":
            from bot.awards import secretariat

            return await secretariat.run(app, clock, args)
        if args.command == "outbox":
            from bot.reach.delivery import outbox_status

            async with app.sessions() as session:
                return await outbox_status(session, clock.now())
        if args.command == "intake":
            from bot.intake.run import run_intake

            return await run_intake(app, clock, args)
        if args.command == "stats":
            return await admin.print_stats(app, args.unit, args.start, args.end, args.recount)
        rows = await admin.write_export(
            app,
            args.unit,
            args.start,
            args.end,
            args.out,
            args.csv,
            args.with_phones,
            EVERY if args.status == "all" else (args.status,),
        )
        return f"Đã ghi {rows} sáng kiến vào {args.out}."
    finally:
        await app.close()


async def _revoke(app: App, clock: Clock, args: argparse.Namespace) -> str:
    from bot import admin

    if args.grant is not None:
        if args.role or args.phone or args.unit:
            raise ConfigError("dùng --grant ID một mình, hoặc VAI_TRÒ SỐ_ĐIỆN_THOẠI --unit MÃ")
        return await admin.revoke_grant(app, clock, args.grant)
    if not (args.role and args.phone and args.unit):
        raise ConfigError(
            "cần VAI_TRÒ SỐ_ĐIỆN_THOẠI --unit MÃ, hoặc --grant ID (xem: sangkien roles)"
        )
    return await admin.revoke(app, clock, args.role, args.phone, args.unit)


def _units(settings: Settings, args: argparse.Namespace) -> str:
    from bot.app import load_catalog_of, load_rules
    from bot.units_import import UnitsFileError, import_units, list_units
    from rules.units import CatalogError

    _campaign, in_use = load_rules(settings)
    version = args.catalog or in_use.code
    if args.units_command == "list":
        try:
            return list_units(load_catalog_of(settings), version, args.under, args.search)
        except CatalogError as exc:
            raise ConfigError(str(exc)) from exc
    try:
        return import_units(settings.units_file, settings.units_extra_file, version, args.file)
    except (UnitsFileError, OSError, CatalogError) as exc:
        raise ConfigError(f"không nhập được {args.file}:\n{exc}") from exc


def _goals(settings: Settings, args: argparse.Namespace) -> str:
    from bot.app import load_rules
    from bot.goals import GoalsFileError, import_goals

    campaign, catalog = load_rules(settings)
    try:
        return import_goals(settings.goals_file, campaign, catalog, args.file)
    except (GoalsFileError, OSError) as exc:
        raise ConfigError(f"không nhập được {args.file}:\n{exc}") from exc


# The server module is imported only when needed: it pulls in aiohttp.
async def _poll(settings: Settings, platform: str) -> None:
    from bot.app import build_app, settle_heap
    from bot.one_poller import one_poller, poll_while_held
    from bot.server import poll_telegram, poll_zalo
    from bot.serving import one_bot_per_sqlite_file

    with one_bot_per_sqlite_file(settings.database_url):
        async with one_poller(settings.database_url, platform) as lost:
            app = build_app(settings)
            await app.engine.services.files.check()
            settle_heap()
            polling = poll_telegram(app) if platform == "telegram" else poll_zalo(app)
            await poll_while_held(lost, asyncio.ensure_future(polling))


# The operator's commands on what the bot has recorded (run by _admin): a mistyped --db must
# not give them an empty answer.
ADMIN_COMMANDS = frozenset(
    {"grant", "grants", "revoke", "roles", "stats", "export", "awards", "outbox", "intake"}
)


def _new_file(url: str) -> str | None:
    """The SQLite file the URL names when it does not exist yet (upgrading creates it)."""
    from bot.store.db import sqlite_file

    database = sqlite_file(url)
    return str(database) if database is not None and not database.exists() else None


def _upgrade(url: str) -> str:
    from bot.store.db import current_revision, head_revision, upgrade

    new = _new_file(url)
    before = None if new else current_revision(url)
    upgrade(url)
    head = head_revision()
    if new:
        return f"Đã tạo cơ sở dữ liệu mới: {new} (phiên bản {head})."
    if before is None:
        return f"Đã tạo các bảng trong cơ sở dữ liệu (phiên bản {head})."
    if before != head:
        return f"Đã nâng cấp cơ sở dữ liệu từ phiên bản {before} lên {head}."
    return f"Cơ sở dữ liệu đã ở phiên bản mới nhất ({head})."


def _backup_or_restore(settings: Settings, args: argparse.Namespace) -> str:
    from bot.backup import backup, restore
    from bot.store.db import upgrade

    if args.db_command == "backup":
        if missing := _new_file(settings.database_url):
            raise ConfigError(f"không có tệp cơ sở dữ liệu “{missing}”: kiểm tra --db")
        return backup(settings.database_url, settings.files_dir, args.dest, settings.files_url)
    done = restore(settings.database_url, settings.files_dir, args.src, settings.files_url)
    upgrade(settings.database_url)  # a backup of an older version is brought up to date
    return done


# The commands that read or write the record: each says which database it uses.
SAYS_DATABASE = frozenset({"db", "serve", "run"})


def _say_what_is_used(settings: Settings, command: str) -> None:
    from bot import logs
    from bot.config import database_shown, unknown_names

    for name in unknown_names(os.environ):
        logs.announce(f"Cảnh báo: không có thiết lập {name}; biến này bị bỏ qua.", logging.WARNING)
    if command in SAYS_DATABASE or command in ADMIN_COMMANDS:
        logs.announce(f"sangkien: cơ sở dữ liệu {database_shown(settings.database_url)}")
    if command in ("chat", "run", "serve"):
        from bot.intake.ocr import INSTALL, missing

        problem = missing()
        if problem is not None:
            logs.announce(
                f"sangkien: {problem} Ảnh phiếu sáng kiến gửi vào /nhaptep sẽ không đọc được; "
                f"cài bằng: {INSTALL}",
                logging.WARNING,
            )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bot import logs
    from bot.app import load_rules
    from bot.store.db import upgrade

    try:
        settings = _settings(args)
        logs.configure(settings.log_level, settings.log_format)
        _say_what_is_used(settings, args.command)
        if args.command == "check":
            campaign, catalog = load_rules(settings)
            print(
                f"OK: chiến dịch {campaign.code}, danh mục {catalog.code} "
                f"({len(catalog.units)} đơn vị)"
            )
            return 0
        if args.command == "units":
            print(_units(settings, args))
            return 0
        if args.command == "goals":
            print(_goals(settings, args))
            return 0
        if args.command == "db" and args.db_command != "upgrade":
            print(_backup_or_restore(settings, args))
            return 0
        if args.command == "db":
            print(_upgrade(settings.database_url))
            return 0
        if args.command == "serve":
            from bot.serving import check_workers

            check_workers(settings, args.workers)
        load_rules(settings)
        new = _new_file(settings.database_url)
        if new and args.command in ADMIN_COMMANDS:
            raise ConfigError(
                f"không có tệp cơ sở dữ liệu “{new}”: kiểm tra --db (tạo mới bằng "
                "`sangkien db upgrade --db …`)"
            )
        upgrade(settings.database_url)
        if new:
            logs.announce(f"Đã tạo cơ sở dữ liệu mới: {new}")
        if args.command in ADMIN_COMMANDS:
            print(asyncio.run(_admin(settings, args)))
        elif args.command == "run":
            asyncio.run(_poll(settings, args.platform))
        elif args.command == "serve":
            from bot.serving import serve

            host, port = args.host or settings.host, args.port or settings.port
            return serve(settings, host, port, args.workers)
        else:
            asyncio.run(_chat(settings, args.user))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`sangkien units list | head`): no error of ours to report. As
        # Python's documentation advises, so that the exit's flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        explained = explain(exc)
        if explained is None and isinstance(exc, ValueError):
            explained = 2, f"Tham số không hợp lệ: {exc}"
        if explained is None or args.debug:
            raise
        code, line = explained
        logs.announce(line, logging.ERROR)
        return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
