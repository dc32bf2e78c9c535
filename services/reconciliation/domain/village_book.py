"""The 未续保 list as a workbook with one sheet per village, for each village worker to take their own.

IDs are masked as in the 应保未保 export (`exports.not_enrolled_table`): the worker finds the
person by name and place, the full number stays in the office. Cells go through
`exports.safe_cell` (a name or place that looks like a formula stays text). A sheet is
named after its village — with the township when two townships have a village of that
name — within Excel's 31 characters and without the characters Excel refuses in a name.
"""
from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from services.reconciliation.domain.exports import safe_cell
from services.reconciliation.domain.renewals import Listed

HEADER = ["排序", "乡镇", "村（社区）", "身份证号（脱敏）", "姓名", "列入原因", "重点人群身份", "上年人员类别",
          "上年缴费日期", "本年状态", "缴费路径", "最后缴费日", "剩余天数"]
_NOT_IN_NAME = re.compile(r"[\[\]:*?/\\]")
_MAX_NAME = 31


def row(position: int, p: Listed) -> list[Any]:
    return [position, p.township, p.village, p.person, p.name, p.reasons, "、".join(p.categories),
            p.last_year_category, p.last_year_paid_on.isoformat() if p.last_year_paid_on else None, p.state,
            p.deadline.path if p.deadline else "（无可按正常条件缴费的路径）",
            p.deadline.last_day.isoformat() if p.deadline else None, p.days_left]


def sheet_names(villages: Sequence[tuple[str, str]]) -> list[str]:
    """A distinct, valid sheet name per (township, village), in order."""
    plain = [v for _, v in villages]
    names: list[str] = []
    for township, village in villages:
        wanted = village if plain.count(village) == 1 else f"{township}-{village}"
        name = _NOT_IN_NAME.sub("_", wanted).strip("'")[:_MAX_NAME] or "村"
        base, n = name, 2
        while name.lower() in (x.lower() for x in names):  # Excel compares sheet names without case
            suffix = f"({n})"
            name, n = base[:_MAX_NAME - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def workbook(groups: Mapping[tuple[str, str], Sequence[Listed]]) -> bytes:
    """One sheet per village, its people in rank order; a workbook with no one listed says so on its one sheet."""
    book = Workbook(write_only=True)
    places = list(groups)
    if not places:
        ws = book.create_sheet("无未续保人员")
        ws.append([safe_cell(h) for h in HEADER])
    for name, place in zip(sheet_names(places), places):
        ws = book.create_sheet(name)
        ws.append([safe_cell(h) for h in HEADER])
        for position, person in enumerate(groups[place], start=1):
            ws.append([safe_cell(v) for v in row(position, person)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
