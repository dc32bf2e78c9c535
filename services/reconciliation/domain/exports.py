"""The exportable tables, and each as a CSV or XLSX file an official can hand on, safe to open in a spreadsheet.

A cell whose text starts with = + - @ (or a tab / carriage return) would run as a
formula in Excel or WPS (CSV/formula injection): such text gets a leading
apostrophe. Numbers stay numbers. CSV is UTF-8 with a byte-order mark so that
Excel shows the Chinese correctly.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from openpyxl import Workbook

from services.reconciliation.domain.errors import UnknownTable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should receive it: text that looks like a formula is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append([safe_cell(h) for h in header])
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TABLES = ("progress", "townships", "discrepancies", "not-enrolled")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class Table(NamedTuple):
    title: str  # the sheet's name
    header: list[str]
    rows: list[list[Any]]

    def as_file(self, fmt: str) -> bytes:
        """The table as `csv` or `xlsx` bytes."""
        return to_csv(self.header, self.rows) if fmt == "csv" else to_xlsx(self.title, self.header, self.rows)


def check_table(name: str) -> str:
    """`name` when it is an exportable table, else UnknownTable naming the ones there are."""
    if name not in TABLES:
        raise UnknownTable(name, TABLES)
    return name


def _yuan(fen: int | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def progress_table(progress: Mapping[str, Any]) -> Table:
    return Table("村级参保进度", ["乡镇", "村（社区）", "底册人数", "已参保人数", "已缴费人数", "缴费金额（元）", "参保率"],
                 [[v["township"], v["village"], v["baseline_people"], v["enrolled_people"], v["paid_people"],
                   _yuan(v["paid_fen"]), v["coverage_rate"]] for v in progress["villages"]])


def townships_table(progress: Mapping[str, Any]) -> Table:
    return Table("乡镇参保进度", ["乡镇", "底册人数", "已参保人数", "已缴费人数", "缴费金额（元）", "参保率", "任务数",
                            "任务完成率", "排名"],
                 [[t["township"], t["baseline_people"], t["enrolled_people"], t["paid_people"], _yuan(t["paid_fen"]),
                   t["coverage_rate"], t["target_people"], t["target_completion"], t["rank"]]
                  for t in progress["townships"]])


def discrepancies_table(items: Iterable[Mapping[str, Any]]) -> Table:
    """Every discrepancy of the region-year (as `figures.discrepancy_json` shapes it), open or not."""
    return Table("对账差异", ["类型", "乡镇", "村（社区）", "身份证号（脱敏）", "税票号码", "金额（元）", "说明", "状态",
                          "本次对账仍存在", "处理说明"],
                 [[i["label"], i["township"], i["village"], i["person"], i["receipt_no"], _yuan(i["amount_fen"]),
                   i["detail"], "已处理" if i["status"] == "resolved" else "待处理", i["present"], i["resolved_note"]]
                  for i in items])


def not_enrolled_table(groups: Iterable[Mapping[str, Any]]) -> Table:
    """The 应保未保 list of every vulnerable group (as `figures.vulnerable_groups` shapes them)."""
    return Table("应保未保名单", ["身份类别", "乡镇", "村（社区）", "身份证号（脱敏）", "姓名"],
                 [[g["label"], p["township"], p["village"], p["person"], p["name"]]
                  for g in groups for p in g["not_enrolled"]])
