"""File intake: a department's CSV or XLSX list, as it really is, becomes a stream of `SubmittedRow`.

One parser for every way in (HTTP upload, `yibao identity submit`, and the JSON
and Kafka rows through `rows_from_records`), so each row gets the same verdict
whichever way it came. Files are read as streams: CSV through an incremental
decoder, XLSX by `shared.xlsx_rows` (openpyxl's values, streamed several times faster), so memory does not grow
with the file.

What is handled (DOMAIN.md §10): UTF-8 with or without BOM, GB18030/GBK; title rows
above the header; Chinese header synonyms (a header not understood is named in a
note); blank rows, 合计 and signature rows; full-width digits and spaces; IDs that
Excel stored as numbers (refused with that reason, never repaired); dates in every
spelling listed, and Excel serial numbers.

A file without a 人员类别 column is read as the category the clerk names (`--category`); else, from a
department that certifies only one category, as that one (said in a note and on every row's result);
else, from a 农业农村 list with a 监测类型 column, as 防止返贫监测对象 with the kind kept per row;
else it is refused, telling the clerk to add the column or name the category.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from services.identity_certification.domain.cells import (
    BadCell,
    category_code,
    is_footer,
    monitoring_of,
    parse_date,
    subtype_named,
    text,
)
from services.identity_certification.domain.headers import HEADER_SEARCH_ROWS, NoHeader, find_header
from services.identity_certification.domain.rows import SubmittedRow, sole_category
from shared.codes import LABEL, Category, Department, MonitoringSubtype
from shared.resident_id import _EXCEL_NUMBER

MAX_NOTES = 50  # notes beyond this are counted, not listed
_FIELD_LABEL = {"certified_on": "认定时间", "ended_on": "退出时间"}


class FileRefused(ValueError):
    """The file as a whole cannot be read; nothing in it is processed."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class IntakeReport:
    """What the reader noticed besides the rows: kept with the submission and shown to the department."""

    format: str = ""
    header_line: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    skipped_lines: int = 0
    notes: list[str] = field(default_factory=list)
    # What the reader assumed or read for the whole file (the category it took, the 监测类型 it counted):
    # a line or two, shown first and never cut off by the cap on notes.
    summary: list[str] = field(default_factory=list)
    subtypes: Counter[str] = field(default_factory=Counter)

    def note(self, message: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(message)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("……其余提示从略")

    def all_notes(self) -> list[str]:
        """The summary, then the notes: what the department is shown and what is kept with the submission."""
        return self.summary + self.notes

    def count_subtypes(self) -> None:
        """Once every row is read: how many rows of each 监测类型, so the clerk sees what was kept."""
        if self.subtypes:
            counted = "、".join(f"{LABEL[kind]}{self.subtypes[kind.value]}行" for kind in MonitoringSubtype
                               if self.subtypes[kind.value])
            self.summary.append(f"监测类型：{counted}，均按{LABEL[Category.POVERTY_MONITORING]}（poverty_monitoring）"
                                "读取，监测类型随身份一并保存")


def sniff_format(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused("xls_not_supported", "这是旧版 .xls 文件：请在 Excel 中另存为 .xlsx 或 CSV 后再报送")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused("utf16_not_supported", "文件是 UTF-16 编码（Unicode 文本）：请另存为 CSV（UTF-8 或 GBK）或 .xlsx")
    return "csv"


def csv_encoding(head: bytes) -> str:
    """UTF-8 (BOM or not) when the start of the file decodes as UTF-8, else GB18030 (a superset of GBK)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _csv_lines(file: BinaryIO, encoding: str) -> Iterator[tuple[int, list[object]]]:
    stream = io.TextIOWrapper(file, encoding=encoding, newline="")
    sample = stream.readline()
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(_chain_first(sample, stream), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            yield number, cells
    except UnicodeDecodeError:
        raise FileRefused("bad_encoding", f"文件编码混杂，第{number + 1}行附近无法按{encoding}读取：请整体另存为 UTF-8 或 GBK 的 CSV") from None
    finally:
        stream.detach()


def _chain_first(first: str, rest: Iterable[str]) -> Iterator[str]:
    # itertools.chain, not a generator's `yield from`: a generator closed early (a file refused half-way) closes
    # what it delegates to, here the stream detached from the upload, which then raises while being collected.
    return itertools.chain((first,), rest)


def _xlsx_lines(file: BinaryIO) -> Iterator[tuple[int, list[object]]]:
    from shared import xlsx_rows  # imported here: the CSV path does not need openpyxl

    # The first worksheet, numbered as Excel numbers its rows; a workbook found broken half-way is refused whole.
    try:
        yield from enumerate(xlsx_rows.iter_rows(file), 1)
    except xlsx_rows.XlsxUnreadable as err:
        raise FileRefused("bad_xlsx", f"无法打开 .xlsx 文件（{err.kind}）：请用 Excel 重新保存后再报送") from None


def raw_lines(file: BinaryIO, report: IntakeReport) -> Iterator[tuple[int, list[object]]]:
    """(line number, cells) for each line of the file, whatever its format."""
    head = file.read(65536)
    file.seek(0)
    report.format = sniff_format(head)
    if report.format == "xlsx":
        return _xlsx_lines(file)
    return _csv_lines(file, csv_encoding(head))


@dataclass(frozen=True)
class CategoryRule:
    """Where each row's category comes from when the file may lack a 人员类别 column."""

    default: str | None = None  # category of a row without a 人员类别 column
    assumed: bool = False  # `default` is the department's only category, not the clerk's word
    subtype_required: bool = False  # the category comes from 监测类型 alone, so a blank 监测类型 says nothing


def category_rule(columns: Mapping[str, int], default_category: str | None, department: str | None,
                  report: IntakeReport) -> CategoryRule:
    """How the rows get their category; raises FileRefused when a file without 人员类别 cannot have one."""
    if "category" in columns or default_category:
        return CategoryRule(default_category)
    if "monitoring_type" in columns:
        report.summary.append(f"文件没有“人员类别”列，有“监测类型”列：各行按{LABEL[Category.POVERTY_MONITORING]}"
                              "（poverty_monitoring）读取，监测类型为空或不规范的行退回")
        return CategoryRule(Category.POVERTY_MONITORING.value, subtype_required=True)
    if department and (sole := sole_category(department)):
        report.summary.append(
            f"文件没有“人员类别”列：{LABEL[Department(department)]}只认定{LABEL[Category(sole)]}一种人员类别，"
            f"各行均按{LABEL[Category(sole)]}（{sole}）读取；如不是，请加上“人员类别”列后重新报送")
        return CategoryRule(sole, assumed=True)
    raise FileRefused("no_category", "文件没有“人员类别”列：请加上该列，或报送时指定人员类别（--category）")


def read_file(file: BinaryIO, *, default_category: str | None = None,
              department: str | None = None) -> tuple[IntakeReport, Iterator[SubmittedRow]]:
    """The file's rows, lazily; the report fills in as they are read. Raises FileRefused before any row.

    `department` (the credential's) lets a department that certifies one category leave out 人员类别."""
    report = IntakeReport()
    lines = raw_lines(file, report)
    head: list[tuple[int, list[object]]] = []
    for item in lines:
        head.append(item)
        if len(head) == HEADER_SEARCH_ROWS:
            break
    try:
        header = find_header([[text(c) for c in cells] for _, cells in head])
    except NoHeader as err:
        raise FileRefused(err.code, err.reason) from None
    columns = header.columns
    rule = category_rule(columns, default_category, department, report)
    report.header_line, report.columns = head[header.row_index][0], columns
    for word in header.not_understood:
        report.note(f"表头“{word}”未能识别，该列未读取（可识别的表头见说明）")
    for word in header.repeated:
        report.note(f"表头“{word}”与前面的列含义相同，只读取了前一列")
    if header.row_index:
        report.skipped_lines += header.row_index
        report.note(f"第1—{header.row_index}行在表头之上（标题等），未作为数据读取")

    def rows() -> Iterator[SubmittedRow]:
        body = _chain_lines(head[header.row_index + 1:], lines)
        for number, cells in body:
            row = to_row(number, cells, columns, rule)
            if row is None:
                report.skipped_lines += 1
                if any(text(c) for c in cells):
                    report.note(f"第{number}行是合计或签字行，未作为人员读取")
                continue
            if row.subtype:
                report.subtypes[row.subtype] += 1
            yield row
        report.count_subtypes()

    return report, rows()


def _chain_lines(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def to_row(line_no: int, cells: list[object], columns: Mapping[str, int],
           rule: CategoryRule = CategoryRule()) -> SubmittedRow | None:
    """One data line as a `SubmittedRow`; None for a blank, 合计 or signature line."""
    width = len(cells)
    get = columns.get

    def cell(name: str) -> object:
        index = get(name)
        return cells[index] if index is not None and index < width else None

    raw_id = cell("person_id")
    id_text = text(raw_id)
    if len(id_text) != 18:  # the common case skips this: only a line without an ID can be blank or a footer
        texts = [text(c) for c in cells]
        if not any(texts) or is_footer(texts):
            return None
    defect = None
    if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        defect = ("id_excel_number", _EXCEL_NUMBER)
    try:
        certified_on = parse_date(cell("certified_on"), _FIELD_LABEL["certified_on"])
    except BadCell as err:
        certified_on, defect = None, defect or (err.code, err.reason)
    try:
        ended_on = parse_date(cell("ended_on"), _FIELD_LABEL["ended_on"])
    except BadCell as err:
        ended_on, defect = None, defect or (err.code, err.reason)
    if "category" in columns:
        category = category_code(cell("category"))
        # only a monitoring row can name a kind; the other rows of a million-row list skip the second lookup
        named = subtype_named(cell("category")) if category == Category.POVERTY_MONITORING else None
    else:
        category, named = rule.default or "", None
    subtype = named
    if "monitoring_type" in columns:
        try:
            category, subtype = monitoring_of(category, named, cell("monitoring_type"), required=rule.subtype_required)
        except BadCell as err:
            defect = defect or (err.code, err.reason)
    return SubmittedRow(
        line_no, id_text, category, certified_on, ended_on,
        text(cell("township")) or None, text(cell("village")) or None, defect,
        subtype, rule.assumed,
    )


def rows_from_records(records: Iterable[Mapping[str, object]]) -> list[SubmittedRow]:
    """JSON rows (HTTP body or Kafka message) through the same cell rules as a file."""
    columns = {"person_id": 0, "category": 1, "certified_on": 2, "ended_on": 3, "township": 4, "village": 5}
    out = []
    for number, record in enumerate(records, 1):
        cells = [record.get("id"), record.get("category"), record.get("certified_on"), record.get("ended_on"),
                 record.get("township"), record.get("village")]
        row = to_row(number, cells, columns)
        out.append(row or SubmittedRow(number, "", "", None, None))
    return out
