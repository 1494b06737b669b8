"""Tables operators hand in (CSV in UTF-8, with or without BOM, or XLSX), read as rows."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from rules.text import fold_words


def read_table(path: Path) -> list[list[Any]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet: Any = book.active
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def named_rows(
    path: Path, columns: dict[str, str]
) -> tuple[list[str | None], list[tuple[int, dict[str, str]]]]:
    """The fields the header row names (by `columns`: folded title -> field), and each
    non-empty row after it with its line number, as {field: text}."""
    table = read_table(path)
    if not table:
        return [], []
    fields = [columns.get(fold_words(str(title or ""))) for title in table[0]]
    rows = []
    for line, row in enumerate(table[1:], 2):
        if all(value in (None, "") for value in row):
            continue
        values = {
            field: str(value if value is not None else "").strip()
            for field, value in zip(fields, row, strict=False)
            if field
        }
        rows.append((line, values))
    return fields, rows


def read_kept(path: Path) -> dict[str, Any]:
    """The YAML data written by `replace_keeping_backup` ({} before the first import)."""
    import yaml

    if not path.exists():
        return {}
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def replace_keeping_backup(path: Path, header: str, content: dict[str, Any]) -> None:
    """Write YAML data the bot keeps beside its data files; the file it replaces stays as
    `<name>.<time>.bak`."""
    import yaml

    from rules.campaigns import TZ

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        stamp = datetime.now(TZ).strftime("%Y%m%d-%H%M%S-%f")
        path.replace(path.with_name(f"{path.name}.{stamp}.bak"))
    text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    path.write_text(f"# {header}\n{text}", encoding="utf-8")
