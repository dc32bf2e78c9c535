"""Reading the lists people really upload (DOMAIN.md §10): XLSX, CSV (GB18030 or UTF-8) or JSON.

Finds the header row under any title rows, maps Chinese headers in their varying
words to canonical fields (and names the headers it did not understand), skips
blank and 合计 rows, and keeps each row's line number so a refusal can point at it.
Cells stay as they were (numbers stay numbers): judging them is `domain.baseline`'s job.

`stream` reads a file as it goes (CSV through an incremental decoder, XLSX by `shared.xlsx_rows`:
openpyxl's values, streamed several times faster), so a register of millions of people is never held
whole; `read` is the same reading, kept in a list.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, BinaryIO

from shared import xlsx_rows

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


@dataclass
class Streamed:
    """A sheet being read: `rows` yields each data row once; `ignored_lines` fills as they are read."""

    rows: Iterator[dict[str, Any]]
    unknown_headers: list[str] = field(default_factory=list)
    ignored_lines: list[int] = field(default_factory=list)


def read(content: bytes, file_name: str) -> Sheet:
    streamed = stream(io.BytesIO(content), file_name)
    rows = list(streamed.rows)
    return Sheet(rows, streamed.unknown_headers, streamed.ignored_lines)


def stream(file: BinaryIO, file_name: str) -> Streamed:
    """The file's header read and its data rows to come. Raises SheetError when it cannot be read at all; a
    CSV that turns out unreadable further on raises it while its rows are read."""
    lower = file_name.lower()
    if lower.endswith(".json"):
        sheet = _from_json(file.read())
        return Streamed(iter(sheet.rows), sheet.unknown_headers, sheet.ignored_lines)
    if lower.endswith((".xlsx", ".xlsm")):
        return _from_grid(_xlsx_grid(file))
    if lower.endswith((".csv", ".txt")):
        return _from_grid(_csv_grid(file))
    raise SheetError(f"不支持的文件类型：{file_name}（请上传 .xlsx、.csv 或 .json）")


def _encoding(file: BinaryIO) -> str:
    """UTF-8 (with or without BOM) when the first megabyte reads as UTF-8, else GB18030 (what Windows Excel
    saves as "CSV")."""
    head = file.read(1 << 20)
    file.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _csv_grid(file: BinaryIO) -> Iterator[list[Any]]:
    encoding = _encoding(file)
    # newline="": csv itself splits the lines, so a lone CR ends one (and a CR inside quotes stays in its cell).
    reader = csv.reader(io.TextIOWrapper(file, encoding=encoding, newline=""))
    try:
        yield from reader
    except csv.Error as err:  # e.g. a cell beyond csv's size limit
        raise SheetError(f"第{reader.line_num}行无法按 CSV 读取（{err}）：请检查引号和换行后重新导出") from None
    except UnicodeDecodeError:
        raise SheetError(f"第{reader.line_num + 1}行起的编码与文件开头不同（{encoding}）：请整份另存为 UTF-8 "
                         "或 GB18030 的 CSV 后重新导入") from None


def _xlsx_grid(file: BinaryIO) -> Iterator[list[Any]]:
    try:
        book = xlsx_rows.open_workbook(file)
    except xlsx_rows.XlsxUnreadable as err:
        raise SheetError(f"无法读取Excel文件：{err.kind}") from None
    return _sheet_rows(book)


def _sheet_rows(book: xlsx_rows.Book) -> Iterator[list[Any]]:
    try:
        yield from book.rows(0)
    except xlsx_rows.XlsxUnreadable as err:  # a part found broken half-way (or no worksheet at all)
        raise SheetError(f"无法读取Excel文件：{err.kind}") from None
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


def _from_grid(grid: Iterable[list[Any]]) -> Streamed:
    lines = iter(grid)
    head = [row for _, row in zip(range(_HEADER_SCAN_ROWS), lines, strict=False)]
    header_at = next((i for i, row in enumerate(head)
                      if any(_LOOKUP.get(_norm(c)) == "id" for c in row if not _blank(c))), None)
    if header_at is None:
        raise SheetError(f"前{_HEADER_SCAN_ROWS}行中找不到身份证号列（公民身份号码/身份证号/身份证号码）")
    columns: dict[int, str] = {}
    sheet = Streamed(iter(()))
    for j, cell in enumerate(head[header_at]):
        if _blank(cell):
            continue
        canonical = _LOOKUP.get(_norm(cell))
        if canonical and canonical not in columns.values():
            columns[j] = canonical
        elif not canonical and _norm(cell) not in {_norm(k) for k in KNOWN_UNUSED}:
            sheet.unknown_headers.append(str(cell).strip())
    sheet.rows = _data_rows(head[header_at + 1:], lines, header_at + 2, columns, sheet.ignored_lines)
    return sheet


def _data_rows(buffered: list[list[Any]], rest: Iterator[list[Any]], first_line: int, columns: dict[int, str],
               ignored: list[int]) -> Iterator[dict[str, Any]]:
    # Per row of a register of millions: the cells picked by one itemgetter, the dict built by zip.
    keys = ("line_no", *columns.values())
    width = max(columns) + 1
    pick = itemgetter(*columns) if len(columns) > 1 else lambda raw: (raw[next(iter(columns))],)
    for i, raw in enumerate(_chain(buffered, rest), start=first_line):
        if _ignored(raw):
            ignored.append(i)
            continue
        if len(raw) < width:
            raw = raw + [None] * (width - len(raw))
        yield dict(zip(keys, (i, *pick(raw))))


def _ignored(raw: list[Any]) -> bool:
    """A row with no data, or whose first cell with something in it is a 合计/总计/小计 line."""
    for cell in raw:
        if not _blank(cell):
            return isinstance(cell, str) and _TOTAL.match(cell.strip()) is not None
    return True


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    yield from rest
