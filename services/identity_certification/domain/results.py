"""The row-level result a department downloads: one line per row of its file, IDs masked.

Cells are made safe to open in Excel: text starting with = + - @ (or a tab or
carriage return) would be run as a formula (CSV injection), so it gets a leading
apostrophe, as OWASP recommends.

The last two columns say what the list left to the reader: the 监测类型 kept with a
防止返贫监测对象 row, and that a row's category was assumed (a file without 人员类别 from
a department that certifies only one).
"""
from __future__ import annotations

from typing import Protocol

from shared.codes import LABEL, Category, MonitoringSubtype

HEADER = ("行号", "身份证号（已脱敏）", "人员类别", "结果", "原因代码", "原因", "监测类型", "说明")
_SUBTYPES = {kind.value: LABEL[kind] for kind in MonitoringSubtype}
_CATEGORIES = {c.value: LABEL[c] for c in Category}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class ResultRow(Protocol):
    """A stored row result, by column name (a database record or a dict)."""

    def __getitem__(self, key: str, /) -> object: ...


def assumed_note(category: object) -> str:
    """What the 说明 cell says of a row whose category the file did not give."""
    name = _CATEGORIES.get(str(category), str(category))
    return f"文件无人员类别列，按本部门唯一可认定的类别“{name}”读取"


def result_line(row: ResultRow) -> list[str]:
    """One row_result record as the cells of the download."""
    return [
        str(row["line_no"]),
        safe_cell(row["person_masked"]),
        safe_cell(row["category"]),
        "通过" if row["accepted"] else "退回",
        safe_cell(row["reason_code"]),
        safe_cell(row["reason"]),
        _SUBTYPES.get(str(row["subtype"]), ""),
        assumed_note(row["category"]) if row["category_assumed"] else "",
    ]
