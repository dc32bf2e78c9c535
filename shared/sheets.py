"""Tables a command prints, a console page shows and an official saves as XLSX, from the same rows.

A `Sheet` is a title, a header and rows of typed cells: `Decimal` is money in yuan (元), `date` a date,
`int` a count, anything else text. `cell_text` writes a cell for a screen (1,234.50; 2024-09-01);
`workbook` writes the sheets as an XLSX file whose money and dates are real numbers and dates, and whose
text can never run as a formula in Excel or WPS (text starting with = + - @, a tab or a carriage return
gets a leading apostrophe).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
YUAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Sheet:
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]


def yuan_of(fen: int | None) -> Decimal | None:
    """Fen as a yuan cell: 40000 → Decimal('400.00')."""
    return None if fen is None else Decimal(fen).scaleb(-2)


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as XLSX bytes (openpyxl): one worksheet each, a bold header, money and dates typed."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(_sheet_title(sheet.title))
        ws.append([_safe(h) for h in sheet.header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append([_safe(v) for v in row])
            for cell, value in zip(ws[ws.max_row], row):
                if isinstance(value, Decimal):
                    cell.number_format = YUAN_FORMAT
                elif isinstance(value, date):
                    cell.number_format = DATE_FORMAT
        for column, name in zip(ws.columns, sheet.header):
            widest = max([len(str(name)) * 2, *(min(len(cell_text(c.value)), 60) for c in column)])
            ws.column_dimensions[column[0].column_letter].width = min(widest + 2, 80)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, "_")
    return title[:31]


def _safe(value: object) -> object:
    if value is None or isinstance(value, (Decimal, date, int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
