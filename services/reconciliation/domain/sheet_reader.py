"""Reading a list as a county or township keeps it (DOMAIN.md §10): XLSX, or CSV in UTF-8 or GB18030.

What people hand in is made by hand, so: the kind of file is told by its bytes, not its
name; the header row is the first of the top `HEADER_SCAN_ROWS` that names the key column
(title rows such as "XX县2024年度参保名单" sit above it); headers are matched in their
usual words with full-width brackets and spaces folded, and the ones not understood are
named; blank rows and 合计/签名 rows are not people and are skipped (their places noted);
every worksheet with such a header is read. Cells come back as they were, numbers as
numbers: an ID that Excel stored as a number must be refused, never repaired, and only
the row's own reader can say so. A file that cannot be read at all raises `SheetRefused`
with a reason in Chinese a clerk can act on.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from shared import xlsx_rows

HEADER_SCAN_ROWS = 10
_XLSX, _OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
_FOOTER = re.compile(r"^(合计|总计|小计|共计|填表|制表|审核|负责人|单位负责人|经办人)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
SAVE_AS = "请在 Excel 中“另存为” .xlsx 工作簿或“CSV（逗号分隔）”后重新上传"


class SheetRefused(ValueError):
    """The file as a whole cannot be read; nothing in it was taken. The message says why and what to do."""


@dataclass(frozen=True)
class SheetRow:
    line_no: int          # the row's place in the file (rows of a later worksheet numbered after the earlier ones)
    where: str            # how a person finds it: 第12行, or 工作表“榴城镇”第12行
    cells: dict[str, object]
    values: Sequence[object]

    @property
    def raw(self) -> str:
        """The row as text, kept with a refusal (made only for those)."""
        return ",".join(clean(v) for v in self.values)


@dataclass
class Sheet:
    """A list being read. `rows` is read once, as it comes, so a county's million lines are never all held;
    `ignored` fills in as they are read. `unknown_headers` is known at once."""

    rows: Iterator[SheetRow]
    unknown_headers: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # where the blank, total and signature rows were
    format: str = ""


@dataclass(frozen=True)
class _Header:
    title: str | None          # the worksheet's name when the file has several
    at: int                    # the header row's index
    columns: dict[int, str]    # column index -> canonical field
    rows: Callable[[], Iterator[Sequence[object]]]


def fold(text: str) -> str:
    """A header as compared: NFKC (full-width folded), brackets unified, no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("（", "(").replace("）", ")").lower()


def clean(value: object) -> str:
    """A cell as text: full-width digits, letters and spaces folded, outer spaces gone; a control character
    (which no one typed, and PostgreSQL cannot store as NUL) becomes a visible U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _CONTROL.sub("\ufffd", unicodedata.normalize("NFKC", str(value))).strip()


def read_sheet(content: bytes, aliases: Mapping[str, Sequence[str]], key: str,
               known_unused: Sequence[str] = ()) -> Sheet:
    """The rows of every worksheet (or the CSV) whose header names `key`, as canonical field -> cell.

    `aliases` maps each canonical field to the words headers use for it."""
    if not content.strip():
        raise SheetRefused("文件为空：请上传导出的名单（.xlsx 或 .csv）")
    if content.startswith(_OLE2):
        raise SheetRefused("这是旧版 Excel（.xls）或加了密码的工作簿，无法读取：" + SAVE_AS + "（如有密码请先取消）")
    lookup = {fold(word): canonical for canonical, words in aliases.items() for word in (canonical, *words)}
    unused = {fold(word) for word in known_unused}
    book = None
    if content.startswith(_XLSX):
        book = _open_xlsx(content)
        sources = [(title, _worksheet_rows(book, i)) for i, title in enumerate(book.sheet_names)]
    else:
        sources = [("", _csv_rows(_decode(content)))]
    sheet = Sheet(iter(()), format="xlsx" if book is not None else "csv")
    headers = []
    for title, rows in sources:
        found = _header(rows, lookup, key, title if len(sources) > 1 else None)
        if found is not None:
            headers.append(found)
            sheet.unknown_headers += [w for w in _unknown(rows, found.at, lookup, unused)
                                      if w not in sheet.unknown_headers]
    if not headers:
        if book is not None:
            book.close()
        words = "、".join(w for w in aliases[key])
        raise SheetRefused(f"前{HEADER_SCAN_ROWS}行中找不到身份证号列（列名应为{words}之一）："
                           "请确认上传的是名单本身，列名行在表格前几行")
    sheet.rows = _data_rows(headers, sheet.ignored, book)
    return sheet


def _guarded(rows: Iterator[Sequence[object]]) -> Iterator[Sequence[object]]:
    """The rows, a failure to read further refused with what to do."""
    try:
        yield from rows
    except csv.Error as err:  # e.g. a cell beyond csv's size limit: nothing after it can be read
        raise SheetRefused(f"文件无法按 CSV 读取（{err}）：请检查引号和换行后重新导出") from None
    except SheetRefused:
        raise
    except Exception:  # xlsx_rows.XlsxUnreadable: a damaged part of a workbook, found as it is read
        raise SheetRefused("Excel 文件内容无法读取（可能已损坏）：" + SAVE_AS) from None


def _header(rows: Callable[[], Iterator[Sequence[object]]], lookup: Mapping[str, str], key: str,
            title: str | None) -> _Header | None:
    head = list(islice(_guarded(rows()), HEADER_SCAN_ROWS))
    at = next((i for i, row in enumerate(head) if any(lookup.get(fold(clean(c))) == key for c in row)), None)
    if at is None:
        return None
    columns: dict[int, str] = {}
    for j, cell in enumerate(head[at]):
        canonical = lookup.get(fold(clean(cell)))
        if canonical and canonical not in columns.values():
            columns[j] = canonical
    return _Header(title, at, columns, rows)


def _unknown(rows: Callable[[], Iterator[Sequence[object]]], at: int, lookup: Mapping[str, str],
             unused: set[str]) -> list[str]:
    header = next(islice(_guarded(rows()), at, None))
    words = [clean(c) for c in header]
    return [w for w in words if w and fold(w) not in lookup and fold(w) not in unused]


def _data_rows(headers: Sequence[_Header], ignored: list[str], book: xlsx_rows.Book | None) -> Iterator[SheetRow]:
    offset = 0
    try:
        for h in headers:
            number = 0
            for number, values in enumerate(_guarded(h.rows()), start=1):
                if number <= h.at + 1:
                    continue
                where = f"工作表“{h.title}”第{number}行" if h.title is not None else f"第{number}行"
                first = next((v for v in values if not _blank(v)), None)
                if first is None or (isinstance(first, str) and _FOOTER.match(clean(first).replace(" ", ""))):
                    ignored.append(where)
                    continue
                cells = {name: values[j] if j < len(values) else None for j, name in h.columns.items()}
                yield SheetRow(offset + number, where, cells, values)
            offset += number
    finally:
        if book is not None:
            book.close()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip().replace("\u3000", ""))


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Windows Excel saves "CSV" as GB18030/GBK
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetRefused("文件既不是 Excel 工作簿，也不是 UTF-8 或 GB18030 编码的 CSV 文本：" + SAVE_AS)


def _csv_rows(text: str) -> Callable[[], Iterator[Sequence[object]]]:
    head = text[:4096]
    delimiter = "\t" if "\t" in head and "," not in head else ","  # some systems export tab-separated "CSV"
    # newline="": csv itself splits the lines, so a line break inside a quoted cell stays in its cell.
    return lambda: csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _open_xlsx(content: bytes) -> xlsx_rows.Book:
    try:
        return xlsx_rows.open_workbook(content)
    except xlsx_rows.XlsxUnreadable:  # a broken or foreign zip, of many kinds; the clerk's remedy is the same
        raise SheetRefused("无法打开这个 Excel 文件（可能已损坏，或不是 Excel 工作簿）：" + SAVE_AS) from None


def _worksheet_rows(book: xlsx_rows.Book, index: int) -> Callable[[], Iterator[Sequence[object]]]:
    return lambda: book.rows(index)
