"""Reading the lists people really upload (DOMAIN.md §10): XLSX, CSV (GB18030 or UTF-8) or JSON.

Finds the header row under any title rows, maps Chinese headers in their varying
words to canonical fields (and names the headers it did not understand), skips
blank and 合计 rows, and keeps each row's line number so a refusal can point at it.
Cells stay as they were (numbers stay numbers): judging them is `domain.baseline`'s job.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import openpyxl

ALIASES = {
    "id": ("公民身份号码", "身份证号", "身份证号码", "身份证", "证件号码", "id", "person_id"),
    "name": ("姓名", "name"),
    "township": ("乡镇(街道)", "乡镇", "街道", "乡镇街道", "township"),
    "village": ("村(社区)", "村", "社区", "村居", "村社区", "village"),
    "region": ("统筹区", "统筹区代码", "行政区划代码", "region"),
    "employer": ("单位名称", "参保单位", "工作单位", "employer"),
    "insured_from": ("参保日期", "参保时间", "职工医保参保日期", "开始日期", "insured_from"),
    "insured_to": ("停保日期", "终止日期", "退保日期", "停保时间", "insured_to"),
}
KNOWN_UNUSED = ("序号", "户籍地址", "地址", "联系电话", "备注", "性别", "与户主关系")
_TOTAL = re.compile(r"^(合计|总计|小计)")
_HEADER_SCAN_ROWS = 10  # title rows above the header: "XX镇2024年户籍人口花名册" and the like


def _norm(text: str) -> str:
    return str(text).replace("（", "(").replace("）", ")").replace("\u3000", "").replace(" ", "").strip().lower()


_LOOKUP = {_norm(a): canonical for canonical, aliases in ALIASES.items() for a in aliases}


@dataclass
class Sheet:
    rows: list[dict[str, Any]] = field(default_factory=list)   # canonical field -> cell, plus "line_no"
    unknown_headers: list[str] = field(default_factory=list)
    ignored_lines: list[int] = field(default_factory=list)     # blank and total rows: not data


class SheetError(ValueError):
    """The file as a whole cannot be read (no header row, not a spreadsheet …)."""


def read(content: bytes, file_name: str) -> Sheet:
    lower = file_name.lower()
    if lower.endswith(".json"):
        return _from_json(content)
    if lower.endswith((".xlsx", ".xlsm")):
        return _from_grid(_xlsx_grid(content))
    if lower.endswith((".csv", ".txt")):
        return _from_grid(_csv_grid(_decode(content)))
    raise SheetError(f"不支持的文件类型：{file_name}（请上传 .xlsx、.csv 或 .json）")


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gb18030")  # what Windows Excel saves as "CSV"


def _csv_grid(text: str) -> list[list[Any]]:
    # newline="": csv itself splits the lines, so a lone CR ends one (and a CR inside quotes stays in its cell).
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as err:  # e.g. a cell beyond csv's size limit
        raise SheetError(f"第{reader.line_num}行无法按 CSV 读取（{err}）：请检查引号和换行后重新导出") from None


def _xlsx_grid(content: bytes) -> list[list[Any]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken file
        raise SheetError(f"无法读取Excel文件：{type(err).__name__}") from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _from_json(content: bytes) -> Sheet:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SheetError(f"JSON 无法解析：{err}") from None
    people = data.get("people") if isinstance(data, dict) else data
    if not isinstance(people, list):
        raise SheetError("JSON 应为人员数组，或带 people 数组的对象")
    sheet = Sheet()
    unknown: set[str] = set()
    for i, item in enumerate(people, start=1):
        if not isinstance(item, dict):
            sheet.rows.append({"line_no": i, "id": None})
            continue
        row: dict[str, Any] = {"line_no": i}
        for key, value in item.items():
            canonical = _LOOKUP.get(_norm(key))
            if canonical:
                row[canonical] = value
            elif key not in KNOWN_UNUSED:
                unknown.add(str(key))
        sheet.rows.append(row)
    sheet.unknown_headers = sorted(unknown)
    return sheet


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip().replace("\u3000", ""))


def _from_grid(grid: list[list[Any]]) -> Sheet:
    header_at = next((i for i, row in enumerate(grid[:_HEADER_SCAN_ROWS])
                      if any(_LOOKUP.get(_norm(c)) == "id" for c in row if not _blank(c))), None)
    if header_at is None:
        raise SheetError(f"前{_HEADER_SCAN_ROWS}行中找不到身份证号列（公民身份号码/身份证号/身份证号码）")
    columns: dict[int, str] = {}
    sheet = Sheet()
    for j, cell in enumerate(grid[header_at]):
        if _blank(cell):
            continue
        canonical = _LOOKUP.get(_norm(cell))
        if canonical and canonical not in columns.values():
            columns[j] = canonical
        elif not canonical and _norm(cell) not in {_norm(k) for k in KNOWN_UNUSED}:
            sheet.unknown_headers.append(str(cell).strip())
    for i, raw in enumerate(grid[header_at + 1:], start=header_at + 2):
        cells = [c for c in raw if not _blank(c)]
        if not cells or (isinstance(cells[0], str) and _TOTAL.match(cells[0].strip())):
            sheet.ignored_lines.append(i)
            continue
        row = {"line_no": i, **{name: raw[j] if j < len(raw) else None for j, name in columns.items()}}
        sheet.rows.append(row)
    return sheet
