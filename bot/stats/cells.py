"""Cells of a write-only openpyxl sheet, for every workbook the bot writes (the export, the
dossier's tables, intake's rows to correct). A module of its own so that openpyxl, which pulls
in numpy (0.4 s of every process start), is loaded only where a workbook is made."""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

WRAPPED = Alignment(wrap_text=True, vertical="top")


def text_cell(sheet: Any, value: str, *, bold: bool = False, wrap: bool = False) -> Any:
    """A cell that holds text as text: “=…” typed by a person stays words, never a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = WRAPPED
    return cell


def typed_cell(sheet: Any, value: Any, number_format: str | None) -> Any:
    """A value in its own type (a number, a date) with `number_format`; text as text_cell."""
    if value is None:
        return None
    if isinstance(value, str):
        return text_cell(sheet, value, wrap=True)
    cell = WriteOnlyCell(sheet, value=value)
    if number_format:
        cell.number_format = number_format
    return cell
