"""`sangkien units import|list`: grassroots unions (CĐCS) and other sub-units added to the unit
catalog from a CSV or XLSX file, checked, kept in a file of their own beside units.yaml."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.tables import named_rows, read_kept, replace_keeping_backup
from rules.campaigns import TZ
from rules.units import Catalog, CatalogVersion, NewUnit, add_units, load_catalog

# Column titles as people write them (folded), to the field they hold.
COLUMNS = {
    "code": "code",
    "ma": "code",
    "ma don vi": "code",
    "name": "name",
    "ten": "name",
    "ten don vi": "name",
    "parent": "parent",
    "ma cap tren": "parent",
    "don vi cap tren": "parent",
    "aliases": "aliases",
    "ten goi khac": "aliases",
    # the parent on the older map (a district LĐLĐ dissolved on 1/7/2025), for a file of
    # grassroots unions placed under their 2025 province
    "old_parent": "old_parent",
    "old parent": "old_parent",
    "ma cap tren cu": "old_parent",
    "don vi cap tren cu": "old_parent",
}


class UnitsFileError(ValueError):
    """The file cannot be imported; the message lists why, one line each."""


def read_rows(path: Path) -> list[NewUnit]:
    """The units of a CSV (UTF-8, with or without BOM) or XLSX file with the columns code,
    name, parent and, optionally, aliases separated by “;” and the old parent (Vietnamese
    titles work too)."""
    fields, rows = named_rows(path, COLUMNS)
    if not fields:
        raise UnitsFileError("tệp trống")
    missing = {"code", "name", "parent"} - set(fields)
    if missing:
        raise UnitsFileError(
            "thiếu cột: " + ", ".join(sorted(missing)) + " (cần: mã, tên, mã cấp trên)"
        )
    units = []
    for line, values in rows:
        aliases = tuple(a.strip() for a in values.get("aliases", "").split(";") if a.strip())
        old_parent = values.get("old_parent", "").strip() or None
        units.append(
            NewUnit(values["code"], values["name"], values["parent"], aliases, line, old_parent)
        )
    return units


def import_units(units_file: Path, extra_file: Path, version_code: str, source: Path) -> str:
    """Check the file's units against the catalog and, when all are right, write them (with
    those imported before, a unit of the same code replaced) to `extra_file`; the file it
    replaces is kept beside it."""
    base = load_catalog(units_file.read_text(encoding="utf-8"))
    version = base.version(version_code)
    extra = _extra(extra_file)
    kept = {u["code"]: u for u in extra["versions"].get(version_code, [])}
    new = read_rows(source)
    first_line: dict[str, int] = {}
    twice = []
    for unit in new:
        if unit.code in first_line:
            twice.append(
                f"dòng {unit.line} ({unit.code}): mã đã có ở dòng {first_line[unit.code]}"
            )
        first_line.setdefault(unit.code, unit.line or 0)
    if twice:  # which of the two was meant is the operator's call, not ours
        raise UnitsFileError("\n".join(twice))
    added = sum(1 for unit in new if unit.code not in kept)
    for unit in new:
        kept[unit.code] = {
            "code": unit.code,
            "name": unit.name,
            "parent": unit.parent,
            **({"aliases": list(unit.aliases)} if unit.aliases else {}),
            **({"old_parent": unit.old_parent} if unit.old_parent else {}),
        }
    fresh = {unit.code: unit for unit in new}
    merged = [
        fresh.get(u["code"])
        or NewUnit(u["code"], u["name"], u["parent"], tuple(u.get("aliases", ())))
        for u in kept.values()
    ]
    problems = add_units(version, merged, set(version.units))
    older = {code for v in base.versions.values() if v is not version for code in v.units}
    problems += [
        f"dòng {unit.line} ({unit.code}): đơn vị cấp trên cũ “{unit.old_parent}” không có "
        "trong danh mục cũ"
        for unit in new
        if unit.old_parent and unit.old_parent not in older
    ]
    if problems:
        raise UnitsFileError("\n".join(problems))
    extra["versions"][version_code] = list(kept.values())
    extra.setdefault("history", []).append(
        {
            "at": datetime.now(TZ).isoformat(timespec="seconds"),
            "source": source.name,
            "catalog": version_code,
            "rows": len(new),
        }
    )
    replace_keeping_backup(
        extra_file, "Units added by `sangkien units import` (.bak: earlier versions).", extra
    )
    return (
        f"Đã thêm {added} và cập nhật {len(new) - added} đơn vị vào danh mục {version_code} "
        f"({extra_file}). Khởi động lại bot để dùng danh mục mới."
    )


def _extra(path: Path) -> dict[str, Any]:
    kept = read_kept(path)
    kept.setdefault("versions", {})
    return kept


def list_units(catalog: Catalog, version_code: str, under: str | None, search: str | None) -> str:
    version: CatalogVersion = catalog.version(version_code)
    if search:
        found = version.search(search, 40)
        listed = [f"{u.code}  {version.found_label(u.code, search)}" for u in found]
        return "\n".join(listed) or "Không tìm thấy."
    roots = [under] if under else [code for kind in version.kinds for code in kind.roots]
    lines = []
    top = version.units[roots[0]].depth if roots and roots[0] in version.units else 0
    for root in roots:
        if root not in version.units:
            return f"Không có đơn vị “{root}” trong danh mục {version_code}."
        lines += [f"{'  ' * (u.depth - top)}{u.code}  {u.name}" for u in version.subtree(root)]
    return "\n".join(lines)
