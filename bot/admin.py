"""Operator commands behind `sangkien grant|revoke|stats|export`: the same code the chat uses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.access import ALL_UNITS, ROLES
from bot.app import App, ConfigError
from bot.clock import Clock
from bot.stats.export import export
from bot.stats.report import format_stats
from bot.stats.views import Period, stats
from bot.store.counters import ALL, rebuild
from bot.store.uow import UnitOfWork
from rules.phone import mask_phone, parse_phone
from rules.verdict import Rejected


def _uow(app: App) -> UnitOfWork:
    return UnitOfWork(app.sessions)


def _check_unit(app: App, unit: str) -> str:
    if unit != ALL_UNITS and unit not in app.engine.services.catalog.units:
        raise ConfigError(f"không có đơn vị “{unit}” trong danh mục đang dùng")
    return unit


async def grant(app: App, clock: Clock, role: str, phone: str, unit: str, revoke: bool) -> str:
    if role not in ROLES:
        raise ConfigError(f"vai trò phải là một trong: {', '.join(ROLES)}")
    verdict = parse_phone(phone)
    if isinstance(verdict, Rejected):
        raise ConfigError(verdict.message)
    _check_unit(app, unit)
    async with _uow(app) as uow:
        person = await uow.people.by_phone(verdict.value)
        if person is None:
            raise ConfigError(
                f"chưa có người dùng với số {mask_phone(verdict.value)}: "
                "người đó cần đăng nhập bot một lần trước"
            )
        if revoke:
            done = await uow.roles.revoke(person.id, role, unit)
        else:
            done = await uow.roles.grant(person.id, role, unit, clock.now())
        uow.audit.record(
            clock.now(),
            "role.revoked" if revoke else "role.granted",
            person_id=person.id,
            subject=f"{role}@{unit}",
            channel="cli",
        )
        await uow.commit()
    verb = "Đã thu hồi" if revoke else "Đã cấp"
    if not done:
        return "Không có thay đổi (quyền đã có sẵn hoặc không tồn tại)."
    return f"{verb} quyền {role} cho {mask_phone(verdict.value)} tại đơn vị {unit}."


async def print_stats(
    app: App, unit: str, start: date | None, end: date | None, recount: bool
) -> str:
    services = app.engine.services
    async with _uow(app) as uow:
        if recount:
            await rebuild(uow.session, services.catalog, services.campaign.code)
            await uow.commit()
        figures = await stats(
            uow.session,
            services.campaign,
            services.catalog,
            _check_unit(app, unit),
            Period(start, end),
        )
    return format_stats(figures)


async def write_export(
    app: App,
    unit: str,
    start: date | None,
    end: date | None,
    out: Path,
    csv_out: Path | None,
    with_phones: bool,
) -> int:
    services = app.engine.services
    catalog = services.catalog
    _check_unit(app, unit)
    units = None if unit == ALL else sorted(u.code for u in catalog.subtree(unit))
    label = "Toàn quốc" if unit == ALL else catalog.label(unit)
    async with _uow(app) as uow:
        files = await export(
            uow.session, services.campaign, catalog, units, label, Period(start, end), with_phones
        )
    out.write_bytes(files.xlsx)
    if csv_out is not None:
        csv_out.write_bytes(files.csv)
    return files.rows
