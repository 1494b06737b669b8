"""Operator commands behind `sangkien grant|grants|revoke|stats|export`: the chat's own code."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from bot.access import ALL_UNITS, ROLES
from bot.app import App, ConfigError
from bot.clock import Clock
from bot.stats.export import VALID, ExportRequest, export
from bot.stats.report import format_stats
from bot.stats.views import Period, stats
from bot.store.counters import rebuild
from bot.store.models import Person, RoleClaim, RoleGrant
from bot.store.uow import MAX_CODE_FAILURES, UnitOfWork
from rules.campaigns import TZ
from rules.phone import mask_phone, parse_phone
from rules.verdict import Rejected


def _uow(app: App) -> UnitOfWork:
    return UnitOfWork(app.sessions)


def unit_code_of(app: App, unit: str) -> str:
    """The code of a unit given by its code, or by a name that means one unit only."""
    catalog = app.engine.services.catalog
    if unit == ALL_UNITS or catalog.knows(unit):  # an older map's code: what was filed there
        return unit
    found = catalog.exact(unit)
    if found is None:
        matches = catalog.search(unit, 6)
        if len(matches) > 1:
            listed = "; ".join(f"{u.code} ({catalog.label(u.code)})" for u in matches[:5])
            raise ConfigError(f"“{unit}” khớp nhiều đơn vị, hãy dùng mã: {listed}")
        found = matches[0] if matches else None
    if found is None:
        raise ConfigError(
            f"không có đơn vị “{unit}” trong danh mục đang dùng (tìm mã: sangkien units list "
            "--search …)"
        )
    return found.code


CLAIM_TTL = timedelta(hours=72)


async def grant(
    app: App, clock: Clock, role: str, unit: str, phone: str | None, ttl: timedelta = CLAIM_TTL
) -> str:
    """Issue a single-use claim code for a role; the code is shown here once, never stored."""
    if role not in ROLES:
        raise ConfigError(f"vai trò phải là một trong: {', '.join(ROLES)}")
    unit = unit_code_of(app, unit)
    intended = _phone(phone) if phone else None
    now = clock.now()
    async with _uow(app) as uow:
        claim, code = await uow.claims.issue(role, unit, intended, now, ttl)
        uow.audit.record(now, "role.claim_issued", subject=f"{role}@{unit}", channel="cli")
        await uow.commit()
    expires = claim.expires_at.astimezone(TZ)
    lines = [
        f"Mã nhận quyền {role} tại {_unit_label(app, unit)}: {code}",
        f"Mã dùng một lần, hết hạn lúc {expires:%H:%M %d/%m/%Y}, chỉ hiện lần này.",
        f"Gửi riêng mã cho người nhận; họ gửi “/nhanquyen {code}” trong chat sẽ dùng.",
    ]
    if intended:
        lines.append(f"Chỉ nhận được bằng số {mask_phone(intended)} đã xác minh qua Telegram.")
    return "\n".join(lines)


async def revoke(app: App, clock: Clock, role: str, phone: str, unit: str) -> str:
    """Take the role back from everyone who holds this number now or took the role with it
    (a verified login elsewhere may have taken the number from the holder since)."""
    number = _phone(phone)
    unit = unit_code_of(app, unit)
    async with _uow(app) as uow:
        grants = await uow.roles.matching(phone=number, role=role, unit_code=unit)
        holders = ", ".join(f"người #{g.person_id}" for g in grants)
        for grant in grants:
            await _take_back(uow, clock, grant)
        await uow.commit()
    if not grants:
        return (
            "Không có thay đổi: không ai giữ quyền đó bằng số này. "
            f"Xem ai giữ quyền gì: sangkien roles --phone {phone}"
        )
    return f"Đã thu hồi quyền {role} tại {_unit_label(app, unit)} của {holders}."


async def revoke_grant(app: App, clock: Clock, grant_id: int) -> str:
    """Take back one grant by its number in `sangkien roles`."""
    async with _uow(app) as uow:
        grant = await uow.session.get(RoleGrant, grant_id)
        if grant is None:
            raise ConfigError(f"không có quyền #{grant_id} (xem: sangkien roles)")
        role, unit, holder = grant.role, grant.unit_code, grant.person_id
        await _take_back(uow, clock, grant)
        await uow.commit()
    return (
        f"Đã thu hồi quyền #{grant_id} ({role} tại {_unit_label(app, unit)}) của người #{holder}."
    )


async def _take_back(uow: UnitOfWork, clock: Clock, grant: RoleGrant) -> None:
    uow.audit.record(
        clock.now(),
        "role.revoked",
        person_id=grant.person_id,
        subject=f"{grant.role}@{grant.unit_code}",
        channel="cli",
        detail={"grant": grant.id},
    )
    await uow.session.delete(grant)
    await uow.session.flush()


async def list_roles(app: App, phone: str | None, unit: str | None, role: str | None) -> str:
    """Who holds what: every grant, with the number it was taken with, the number its holder
    has now, the code that gave it and the apps the holder uses."""
    number = _phone(phone) if phone else None
    unit = unit_code_of(app, unit) if unit else None
    async with _uow(app) as uow:
        grants = await uow.roles.matching(phone=number, role=role, unit_code=unit)
        people = {p.id: p for p in await uow.people.by_ids([g.person_id for g in grants])}
        apps = await uow.people.channels_of([g.person_id for g in grants])
        lines = [_grant_line(app, g, people.get(g.person_id), apps) for g in grants]
    return "\n".join(lines) or "Không có ai giữ quyền khớp điều kiện này."


def _grant_line(
    app: App, grant: RoleGrant, holder: Person | None, apps: dict[int, list[str]]
) -> str:
    taken_with = mask_phone(grant.phone) if grant.phone else "không rõ"
    now = holder.phone if holder else None
    if now == grant.phone:
        current = ""
    else:
        current = f" (số hiện tại: {mask_phone(now) if now else 'không có'})"
    channels = ", ".join(apps.get(grant.person_id, [])) or "không còn tài khoản nào"
    via = f", mã #{grant.claim_id}" if grant.claim_id else ""
    return (
        f"#{grant.id}  {grant.role} tại {_unit_label(app, grant.unit_code)}  "
        f"người #{grant.person_id}: số lúc nhận {taken_with}{current}; "
        f"tài khoản: {channels}{via}"
    )


async def list_claims(app: App, clock: Clock, include_closed: bool) -> str:
    now = clock.now()
    async with _uow(app) as uow:
        lines = [
            f"#{c.id}  {c.role}@{c.unit_code}  {_claim_state(c, now)}"
            + (f"  số {mask_phone(c.phone)}" if c.phone else "")
            for c in await uow.claims.all(include_closed)
        ]
    if not lines:
        return "Chưa cấp mã nào." if include_closed else "Không có mã nhận quyền nào đang chờ."
    return "\n".join(lines)


def _claim_state(claim: RoleClaim, now: datetime) -> str:
    if claim.revoked_at is not None:
        return "đã hủy"
    if claim.used_at is not None:
        return (
            f"đã dùng bởi người #{claim.used_by} lúc {claim.used_at.astimezone(TZ):%H:%M %d/%m/%Y}"
        )
    if claim.failures >= MAX_CODE_FAILURES:
        return "đã khóa vì nhập sai nhiều lần"
    if claim.expires_at <= now:
        return "đã hết hạn"
    return f"chờ nhận, hết hạn {claim.expires_at.astimezone(TZ):%H:%M %d/%m/%Y}"


async def cancel_claim(app: App, clock: Clock, claim_id: int) -> str:
    """Cancel a claim code; one already used also takes back the role it gave."""
    now = clock.now()
    async with _uow(app) as uow:
        claim = await uow.session.get(RoleClaim, claim_id)
        if claim is None:
            raise ConfigError(f"không có mã nhận quyền #{claim_id}")
        claim.revoked_at = claim.revoked_at or now
        role = claim.role
        taken = claim.used_by is not None and await uow.roles.revoke(
            claim.used_by, claim.role, claim.unit_code
        )
        uow.audit.record(now, "role.claim_cancelled", subject=str(claim.id), channel="cli")
        await uow.commit()
    if taken:
        return f"Đã hủy mã #{claim_id} và thu hồi quyền {role} đã cấp qua mã này."
    return f"Đã hủy mã #{claim_id}."


def _phone(text: str) -> str:
    verdict = parse_phone(text)
    if isinstance(verdict, Rejected):
        raise ConfigError(verdict.message)
    return verdict.value


def _unit_label(app: App, unit: str) -> str:
    return (
        "toàn quốc (*)"
        if unit == ALL_UNITS
        else f"{app.engine.services.catalog.label(unit)} ({unit})"
    )


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
            unit_code_of(app, unit),
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
    statuses: tuple[str, ...] = VALID,
) -> int:
    services = app.engine.services
    catalog = services.catalog
    unit = unit_code_of(app, unit)
    async with _uow(app) as uow:
        request = ExportRequest(
            services.campaign, catalog, unit, Period(start, end), with_phones, statuses
        )
        files = await export(uow.session, request)
    out.write_bytes(files.xlsx)
    if csv_out is not None:
        csv_out.write_bytes(files.csv)
    return files.rows
