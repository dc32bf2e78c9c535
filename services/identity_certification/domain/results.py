"""The row-level result a department downloads: one line per row of its file, IDs masked.

Cells are made safe to open in Excel: text starting with = + - @ (or a tab or
carriage return) would be run as a formula (CSV injection), so it gets a leading
apostrophe, as OWASP recommends.
"""
from __future__ import annotations

from typing import Protocol

HEADER = ("行号", "身份证号（已脱敏）", "人员类别", "结果", "原因代码", "原因")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class ResultRow(Protocol):
    """A stored row result, by column name (a database record or a dict)."""

    def __getitem__(self, key: str, /) -> object: ...


def result_line(row: ResultRow) -> list[str]:
    """One row_result record as the cells of the download."""
    return [
        str(row["line_no"]),
        safe_cell(row["person_masked"]),
        safe_cell(row["category"]),
        "通过" if row["accepted"] else "退回",
        safe_cell(row["reason_code"]),
        safe_cell(row["reason"]),
    ]
