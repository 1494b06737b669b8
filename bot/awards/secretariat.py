"""`sangkien awards status|propose|withdraw|reopen|dossier`: the secretariat's command line,
acting as the operator (audited with channel "cli"); a refusal is one Vietnamese line and
exit code 2."""

from __future__ import annotations

import argparse
from typing import TypeVar

from bot.admin import unit_code_of
from bot.app import App, ConfigError
from bot.awards import season
from bot.awards.dossier import DossierRequest, dossier_files, write_files
from bot.clock import Clock
from bot.dialogs.review_desk import submission_code
from bot.store.models import Submission
from bot.store.uow import UnitOfWork
from rules.units import WHOLE_COUNTRY
from rules.verdict import Rejected, Verdict

OPERATOR = season.Actor(None, None, "cli")
T = TypeVar("T")


def _value(verdict: Verdict[T]) -> T:
    """The result, or the refusal as the one line the command exits 2 with."""
    if isinstance(verdict, Rejected):
        raise ConfigError(verdict.message)
    return verdict.value


async def run(app: App, clock: Clock, args: argparse.Namespace) -> str:
    services = app.engine.services
    campaign, catalog, now = services.campaign, services.catalog, clock.now()
    command = args.awards_command
    if command == "status":
        tops = [season.top_unit(catalog, unit_code_of(app, args.unit))] if args.unit else None
        async with UnitOfWork(app.sessions) as uow:
            return "\n".join(await season.status_lines(uow, campaign, catalog, tops, now))
    level = _value(season.level_named(campaign, args.level))
    if command == "dossier":
        unit = unit_code_of(app, args.unit)
        asked = DossierRequest(campaign, catalog, level, season.top_unit(catalog, unit), now)
        async with app.sessions() as session:
            made = _value(await dossier_files(session, asked))
        written = write_files(made, args.out)
        return "Đã ghi hồ sơ:\n" + "\n".join(f"  {path}" for path in written)
    async with UnitOfWork(app.sessions) as uow:
        if command == "reopen":
            top = (
                WHOLE_COUNTRY
                if args.unit == WHOLE_COUNTRY
                else season.top_unit(catalog, unit_code_of(app, args.unit))
            )
            asked_again = season.Reopening(campaign, catalog, level, top, args.until, args.reason)
            said = _value(await season.reopen(uow, asked_again, OPERATOR, now))
        else:
            item = await _item(uow, args.code)
            request = season.Request(campaign, catalog, level, item, OPERATOR, now)
            if command == "propose":
                said = _value(await season.nominate(uow, request, args.criterion))
            else:
                said = _value(await season.withdraw(uow, request, "rút bằng sangkien awards"))
        await uow.commit()
    return said


async def _item(uow: UnitOfWork, typed: str) -> Submission:
    code = submission_code(typed)
    item = await uow.submissions.by_code(code) if code else None
    if item is None:
        raise ConfigError(f"không có sáng kiến “{typed[:30]}”")
    return item
