"""`sangkien goals import`: each unit's target and member count, and the emulation group
(cụm, khối thi đua) it belongs to, from a CSV or XLSX file; kept in a file of their own and
merged into the campaign at start."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from bot.tables import named_rows, read_kept, replace_keeping_backup
from rules.campaigns import Campaign, EmulationGroup, Goal
from rules.text import fold_words
from rules.units import CatalogVersion

COLUMNS = {
    "unit": "unit",
    "ma": "unit",
    "ma don vi": "unit",
    "target": "target",
    "chi tieu": "target",
    "members": "members",
    "so doan vien": "members",
    "group": "group",
    "cum khoi thi dua": "group",
    "khoi thi dua": "group",
    "cum thi dua": "group",
}


class GoalsFileError(ValueError):
    """The file cannot be imported; the message lists why, one line each."""


def with_goals(campaign: Campaign, text: str) -> Campaign:
    """The campaign with the goals and groups of the goals file merged in (the file's win)."""
    raw = (yaml.safe_load(text) or {}).get("campaigns", {}).get(campaign.code) or {}
    goals = dict(campaign.goals)
    for unit, goal in (raw.get("goals") or {}).items():
        goals[str(unit)] = Goal(goal.get("target"), goal.get("members"))
    groups = tuple(
        EmulationGroup(str(g["code"]), str(g["name"]), tuple(str(u) for u in g["units"]))
        for g in raw.get("groups") or []
    )
    return replace(campaign, goals=goals, groups=groups or campaign.groups)


def import_goals(path: Path, campaign: Campaign, catalog: CatalogVersion, source: Path) -> str:
    fields, rows = named_rows(source, COLUMNS)
    if "unit" not in fields:
        raise GoalsFileError("thiếu cột mã đơn vị (cần: mã đơn vị, chỉ tiêu, số đoàn viên)")
    problems: list[str] = []
    goals: dict[str, dict[str, int | None]] = {}
    groups: dict[str, list[str]] = {}
    for line, values in rows:
        unit = values.get("unit", "")
        where = f"dòng {line} ({unit or 'không có mã'})"
        if unit not in catalog.units:
            problems.append(f"{where}: không có đơn vị này trong danh mục")
            continue
        numbers = {
            field: _count(values.get(field, ""), where, problems)
            for field in ("target", "members")
        }
        goals[unit] = numbers
        if values.get("group"):
            groups.setdefault(values["group"], []).append(unit)
    if problems:
        raise GoalsFileError("\n".join(problems))
    content = read_kept(path)
    entry = content.setdefault("campaigns", {}).setdefault(campaign.code, {})
    entry.setdefault("goals", {}).update(goals)
    known = {g["name"]: g for g in entry.get("groups", [])}
    for name, units in groups.items():
        known[name] = {"code": _code(name), "name": name, "units": units}
    entry["groups"] = list(known.values())
    replace_keeping_backup(
        path, "Targets, member counts and emulation groups from `sangkien goals import`.", content
    )
    return (
        f"Đã ghi chỉ tiêu của {len(goals)} đơn vị và {len(groups)} cụm, khối thi đua cho "
        f"chương trình {campaign.code} ({path}). Khởi động lại bot để dùng số liệu mới."
    )


def _count(text: str, where: str, problems: list[str]) -> int | None:
    digits = re.sub(r"[.,\s]", "", text)
    if not digits:
        return None
    if not digits.isdigit():
        problems.append(f"{where}: “{text}” không phải là số")
        return None
    return int(digits)


def _code(name: str) -> str:
    return fold_words(name).replace(" ", "_")[:40]
