"""The rows of an .xlsx worksheet, streamed, with the values openpyxl's read-only reader gives — several times faster.

A department's monthly list or a county's population register is up to millions of rows. openpyxl's
`load_workbook(read_only=True, data_only=True)` reads a 1,000,000-row, 7-column sheet in about two minutes: one
pass just to size a sheet that has no <dimension> (what openpyxl's own write-only mode produces), then an
ElementTree element and a dict for every cell. Here the worksheet is decompressed a chunk at a time and cut into
rows and cells by compiled regular expressions that accept only the plain shapes spreadsheet programs write
(`<c r="B7" s="1" t="s"><v>12</v></c>`, inline strings, cached formula values); memory stays bounded by the
chunk, plus the shared-strings table, which openpyxl holds whole as well.

The values are openpyxl's, because openpyxl is reused wherever a file is not plain:
- the workbook's parts (content types, workbook.xml and its relationships, styles and their date formats,
  date1904) are read by openpyxl's own `ExcelReader`, so the sheets, their order
  and the dates are its own;
- a row holding anything the patterns do not accept (an entity, rich text, a cell without r=, a carriage
  return…) is parsed by ElementTree and openpyxl's `WorkSheetParser.parse_row`;
- a sheet the patterns cannot cut into rows at all (another encoding, a DTD, comments or CDATA in the data,
  elements of another namespace) is read by openpyxl itself from the row where that was found.
Rows are numbered exactly as `ReadOnlyWorksheet.iter_rows(values_only=True)` numbers them (an empty row for each
gap in r=), since line numbers are shown to whoever sent the file. The <dimension> a file states is not trusted:
some programs write "A1" over a sheet of thousands of rows, or a range smaller than the data, and openpyxl's
read-only reader then cuts the sheet there without a word. Every row present is read, each as wide as its last
cell: openpyxl's rows after `reset_dimensions()`, the remedy its documentation gives. `open_workbook` gives the
sheet names and the rows of any sheet; `iter_rows` the first worksheet's rows.
"""
from __future__ import annotations

import codecs
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import islice
from typing import IO, Any, BinaryIO, cast
from xml.sax.saxutils import quoteattr

from openpyxl import load_workbook
from openpyxl.cell.text import Text
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import ExcelReader
from openpyxl.reader.strings import read_string_table
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

_CHUNK = 1 << 20            # decompressed bytes read at a time
_MAX_PENDING = 64 << 20     # text with no complete row in it: past this the sheet is not what the patterns expect
_CACHE = 4096               # distinct attribute sets (and date serials) remembered; a file has a handful
_WS = "[ \t\r\n]"           # XML's white space (Python's \s would take U+3000 and others as well)
# Text that reads the same raw and parsed: no markup, entity, line end to normalise or character XML forbids.
_PLAIN = "[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_COLUMN = {get_column_letter(i): i for i in range(1, 18279)}   # A..ZZZ, what openpyxl accepts
_MAIN = f"{{{SHEET_MAIN_NS}}}"
_NAME = r"(?:([A-Za-z_][\w.-]*):)?"
_SHEET_DATA = re.compile(rf"<{_NAME}sheetData(?=[ \t\r\n/>])[^>]*>")
_SST = re.compile(rf"<{_NAME}sst(?=[ \t\r\n/>])[^>]*>")
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Kinds of cell, by their attributes: how the text of <v> (or of the inline string) becomes the value.
_NUMBER, _SHARED, _TEXT, _BOOL, _INLINE, _DATE, _DURATION, _OTHER = range(8)


class XlsxUnreadable(ValueError):
    """The workbook, or a part of it, cannot be read. `kind` names what failed (BadZipFile, KeyError, ParseError…),
    as the callers showed openpyxl's own exception names to whoever sent the file."""

    def __init__(self, cause: BaseException | str) -> None:
        self.kind = cause if isinstance(cause, str) else type(cause).__name__
        super().__init__(self.kind if isinstance(cause, str) else f"{self.kind}: {cause}")


class _NotPlain(Exception):
    """A sheet the patterns cannot cut into rows: openpyxl reads it from there."""


def open_workbook(file: BinaryIO | bytes) -> Book:
    """The workbook opened (its parts read as openpyxl reads them); raises XlsxUnreadable. `file` must be seekable."""
    source: BinaryIO = io.BytesIO(file) if isinstance(file, bytes) else file
    reader = None
    try:
        reader = _Reader(source)
        reader.read()
    except Exception as err:  # zipfile, expat and openpyxl raise many kinds; the sender's remedy is the same
        if reader is not None:
            reader.archive.close()
        raise XlsxUnreadable(err) from err
    return Book(source, reader)


def iter_rows(file: BinaryIO | bytes) -> Iterator[list[object]]:
    """The first worksheet's rows (workbook order), as lists; raises XlsxUnreadable, also while reading."""
    book = open_workbook(file)
    try:
        yield from book.rows(0)
    finally:
        book.close()


class Book:
    """An open workbook: its worksheets' names in workbook order, and the rows of each (read afresh per call)."""

    def __init__(self, source: BinaryIO, reader: Any) -> None:
        self._source = source
        self._archive = reader.archive
        self._book = reader.wb
        self.sheet_names: list[str] = [ws.title for ws in self._book.worksheets]

    def rows(self, index: int = 0) -> Iterator[list[object]]:
        """The rows of the `index`th worksheet: each a new list, None for an empty cell, numbered as openpyxl's
        read-only `iter_rows(values_only=True)`. Raises XlsxUnreadable when there is no such sheet or it is broken."""
        if not 0 <= index < len(self.sheet_names):
            raise XlsxUnreadable(f"no worksheet {index + 1} (the workbook has {len(self.sheet_names)})")
        return self._rows(self._book.worksheets[index], index)

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, ws: Any, index: int) -> Iterator[list[object]]:
        given = 0
        try:
            with self._archive.open(ws._worksheet_path) as raw:
                for row in _numbered(_sheet_rows(raw, ws, self._book)):
                    given += 1
                    yield row
        except _NotPlain:
            yield from self._openpyxl_rows(ws, index, given)
        except XlsxUnreadable:
            raise
        except Exception as err:  # a damaged part found half-way: as many kinds as when opening
            raise XlsxUnreadable(err) from err

    def _openpyxl_rows(self, ours: Any, index: int, given: int) -> Iterator[list[object]]:
        """openpyxl's own rows of the sheet after the `given` ones already read (which were the same as its own)."""
        try:
            book = load_workbook(self._source, read_only=True, data_only=True)
        except Exception as err:
            raise XlsxUnreadable(err) from err
        try:
            ws = book.worksheets[index]
            ws.reset_dimensions()  # as ours: every row present, whatever the <dimension> says
            for row in islice(ws.iter_rows(values_only=True), given, None):
                yield list(row)
        except XlsxUnreadable:
            raise
        except Exception as err:
            raise XlsxUnreadable(err) from err
        finally:
            book.close()


def _numbered(parsed: Iterator[tuple[int, list[object]]]) -> Iterator[list[object]]:
    """openpyxl's `ReadOnlyWorksheet._cells_by_row` of an unsized sheet: an empty row for each row number missing
    from the file, a row numbered at or below one already given left out."""
    counter = 1
    for idx, values in parsed:
        while counter < idx:
            counter += 1
            yield []
        if counter == idx:
            counter += 1
            yield values


class _Reader(ExcelReader):  # type: ignore[misc]
    """openpyxl's reading of a workbook's parts, but the shared strings read by `_shared_strings` and each worksheet
    left unsized (`_Unsized`), its rows left to `_sheet_rows`."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__(source, read_only=True, data_only=True)

    def read_strings(self) -> None:
        found = self.package.find(SHARED_STRINGS)
        if found is not None:
            self.shared_strings = _shared_strings(self.archive, found.PartName[1:])

    def read_worksheets(self) -> None:
        # openpyxl's ExcelReader.read_worksheets, its read-only branch: same sheets, same order, same failures.
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.read_chartsheet(sheet, rel)
                continue
            rels_path = get_rels_path(rel.target)
            if rels_path in self.valid_files:
                get_dependents(self.archive, rels_path)
            ws = _Unsized(self.wb, sheet.name, rel.target, self.shared_strings)
            ws.sheet_state = sheet.state
            self.wb._sheets.append(ws)


class _Unsized(ReadOnlyWorksheet):  # type: ignore[misc]
    """A read-only worksheet whose <dimension> is not read: it is not trusted (the module's docstring), and sizing a
    sheet without one would be openpyxl's pass over the whole sheet."""

    def _get_size(self) -> None:
        return None


def _text(raw: IO[bytes]) -> Iterator[str]:
    """A part's XML as text, a chunk at a time (UTF-8, what every spreadsheet program writes)."""
    chunk = raw.read(_CHUNK)
    if chunk.startswith(codecs.BOM_UTF8):
        chunk = chunk[3:]
    declared = _ENCODING.match(chunk)
    if chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or (declared and declared[1].lower() not in (b"utf-8", b"utf8")):
        raise _NotPlain
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk:
        yield decoder.decode(chunk)
        chunk = raw.read(_CHUNK)
    yield decoder.decode(b"", final=True)


def _read_to(tag: re.Pattern[str], chunks: Iterator[str]) -> tuple[str, re.Match[str] | None]:
    """The text up to and including the start tag `tag` finds (None if not within _MAX_PENDING characters)."""
    buf = ""
    for chunk in chunks:
        buf += chunk
        if (found := tag.search(buf)) or len(buf) > _MAX_PENDING:
            return buf, found
    return buf, None


class _Head:
    """A worksheet up to its <sheetData> start tag, read by an ElementTree pull parser (which checks it is XML and
    keeps reading the part after the rows): the namespaces in scope of the rows, their prefix."""

    def __init__(self, chunks: Iterator[str]) -> None:
        buf, found = _read_to(_SHEET_DATA, chunks)
        if not found or "<!DOCTYPE" in buf[:found.start()]:
            raise _NotPlain  # no sheet data, or entities declared: openpyxl decides
        self.parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start-ns", "start", "end"))
        self.parser.feed(buf[:found.end()])
        scope = self._events()
        self.prefix = f"{found[1]}:" if found[1] else ""
        self.namespaces = _declarations(scope)
        self.empty = found[0].endswith("/>")
        self.rest = buf[found.end():]
        self.chunks = chunks

    def _events(self) -> dict[str, str]:
        """The namespaces declared on the elements still open (the root and sheetData)."""
        declared: list[dict[str, str]] = []
        pending: dict[str, str] = {}
        last = None
        for event, item in _read(self.parser):
            if event == "start-ns":
                pending[item[0]] = item[1]
            elif event == "start":
                declared.append(pending)
                pending, last = {}, item
            else:
                declared.pop()
        if last is None or last.tag != _MAIN + "sheetData":
            raise _NotPlain  # a "sheetData" in a comment or another namespace
        return {k: v for scope in declared for k, v in scope.items()}

    def finish(self, tail: str) -> None:
        """Read the part to its end after the rows, as openpyxl does: a truncated or malformed part fails here,
        and zipfile checks the part's CRC."""
        self.parser.feed(tail)
        _clear(self.parser)
        for chunk in self.chunks:
            self.parser.feed(chunk)
            _clear(self.parser)
        self.parser.close()


def _clear(parser: ET.XMLPullParser[ET.Element]) -> None:
    for event, item in _read(parser):
        if event == "end":
            item.clear()


def _read(parser: ET.XMLPullParser[ET.Element]) -> Iterator[tuple[str, Any]]:
    """The parser's events: ("start-ns", (prefix, uri)), else (event, element)."""
    return cast(Iterator[tuple[str, Any]], parser.read_events())


def _sheet_rows(raw: IO[bytes], ws: Any, book: Any) -> Iterator[tuple[int, list[object]]]:
    """(row number, values) for each <row> of the part, in file order."""
    head = _Head(_text(raw))
    cells = _Cells(head, ws, book)
    p = head.prefix
    end_tag, buf = f"</{p}sheetData>", head.rest
    while not head.empty:
        end = buf.find(end_tag)
        if end >= 0:
            yield from cells.rows_in(buf[:end])
            buf = buf[end:]
            break
        cut = _last_end(buf, f"{p}row")
        if cut:
            yield from cells.rows_in(buf[:cut])
            buf = buf[cut:]
        chunk = next(head.chunks, None)
        if chunk is None or len(buf) > _MAX_PENDING:
            raise _NotPlain  # the part ends inside its rows, or a row never ends: openpyxl says what is wrong
        buf += chunk
    head.finish(buf)


def _last_end(buf: str, tag: str) -> int:
    """Where the last complete element `tag` in `buf` ends (a <row> or <si>, closed or self-closing), else 0."""
    close = buf.rfind(f"</{tag}>")
    cut = close + len(tag) + 3 if close >= 0 else 0
    opening = buf.rfind(f"<{tag}", cut)
    if opening >= 0:
        gt = buf.find(">", opening)
        if gt > 0 and buf[gt - 1] == "/":
            cut = gt + 1
    return cut


class _Cells:
    """The values of a sheet's rows: plain rows by the patterns, the others by openpyxl's own `parse_row`."""

    def __init__(self, head: _Head, ws: Any, book: Any) -> None:
        p = re.escape(head.prefix)
        self.row = re.compile(rf"{_WS}*(<{p}row(?: r=\"([0-9]+)\")?(?=[ \t\r\n/>])[^>]*?(/?)>)")
        self.close = f"</{head.prefix}row>"
        self.cell = re.compile(
            rf"<{p}c r=\"([A-Z]{{1,3}})[0-9]+\"((?: [A-Za-z]+=\"[^\"&<>]*\")*){_WS}*(?:/>|>{_WS}*"
            rf"(?:<{p}f(?=[ \t\r\n/>])[^>]*?(?:/>|>[^<]*</{p}f>){_WS}*)?"
            rf"(?:<{p}v>({_PLAIN}*)</{p}v>|<{p}is>{_WS}*<{p}t(?: xml:space=\"preserve\")?>({_PLAIN}+)</{p}t>{_WS}*</{p}is>)?"
            rf"{_WS}*</{p}c>)|([^ \t\r\n])")
        self.wrap = f"<w{head.namespaces}>"
        self.sst = ws._shared_strings
        self.dates_in, self.durations_in = book._date_formats, book._timedelta_formats
        self.epoch = book.epoch
        self.kinds: dict[str, int] = {}
        self.dates: dict[tuple[str, int], object] = {}
        self.parser = WorkSheetParser(None, self.sst, data_only=True, epoch=book.epoch,
                                      date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        self.last = 0  # the last row's number: a row without r= is the next one

    def rows_in(self, region: str) -> Iterator[tuple[int, list[object]]]:
        """(number, values) of each row in `region`, a run of whole <row> elements."""
        pos, match, close = 0, self.row.match, self.close
        while found := match(region, pos):
            if found[3]:
                body, pos = "", found.end()
            else:
                stop = region.find(close, found.end())
                if stop < 0:
                    raise _NotPlain
                body, pos = region[found.end():stop], stop + len(close)
            if "<!" in body:
                raise _NotPlain  # a comment or CDATA: where the row ends is not known from the text
            values = self.plain(body) if found[2] else None
            if values is None:
                self.last, values = self.parsed(region[found.start(1):pos])
            else:
                self.last = int(found[2])
            yield self.last, values
        if region[pos:].strip(" \t\r\n"):
            raise _NotPlain  # something between rows other than white space

    def plain(self, body: str) -> list[object] | None:
        """The values of a row's cells, or None when one is not plain (the row is then parsed by openpyxl)."""
        values: list[object] = []
        columns: list[int] | None = None  # set once the cells stop being A, B, C… in order
        kinds, sst = self.kinds, self.sst
        value: object
        for letters, attributes, v, inline, other in self.cell.findall(body):
            if other:
                return None
            kind = kinds.get(attributes)
            if kind is None:
                kind = self.kind(attributes)
            if kind == _OTHER:
                return None  # even when empty: openpyxl may fail on its attributes
            if kind == _INLINE:
                value = inline or None  # openpyxl reads <is> only, never <v>, in an inline-string cell
            elif not v:
                value = None
            elif kind == _NUMBER:  # openpyxl's _cast_number
                value = float(v) if "." in v or "E" in v or "e" in v else int(v)
            elif kind == _SHARED:
                value = sst[int(v)]
            elif kind == _TEXT:
                value = v
            elif kind == _BOOL:
                value = bool(int(v))
            else:
                value = self.date(v, kind)
            column = _COLUMN[letters]
            if columns is None:
                if column == len(values) + 1:
                    values.append(value)
                    continue
                columns = list(range(1, len(values) + 1))
            columns.append(column)
            values.append(value)
        return self.placed(values, columns)

    def placed(self, values: list[object], columns: list[int] | None) -> list[object]:
        """openpyxl's ReadOnlyWorksheet._get_row of an unsized sheet: up to the column of the row's last cell."""
        if not values:
            return []
        width = columns[-1] if columns else len(values)
        if columns is None:
            if width <= len(values):
                return values if width == len(values) else values[:width]
            return values + [None] * (width - len(values))
        row: list[object] = [None] * width
        for column, value in zip(columns, values):
            if 1 <= column <= width:
                row[column - 1] = value
        return row

    def kind(self, attributes: str) -> int:
        """How a cell with these attributes (after r=) reads, as openpyxl's parse_cell would read it."""
        try:
            attrib = ET.fromstring(f"<c{attributes}/>").attrib
            t, style = attrib.get("t", "n"), attrib.get("s", 0)
            style = int(style) if style else style
        except (ET.ParseError, ValueError):
            kind = _OTHER  # parse_row will raise what openpyxl raises
        else:
            if t == "n":
                kind = (_DURATION if style in self.durations_in else _DATE) if style in self.dates_in else _NUMBER
            else:
                kind = {"s": _SHARED, "b": _BOOL, "inlineStr": _INLINE, "d": _OTHER}.get(t, _TEXT)
        if len(self.kinds) < _CACHE:
            self.kinds[attributes] = kind
        return kind

    def date(self, v: str, kind: int) -> object:
        """A serial in a date-formatted cell as openpyxl gives it (datetime, date's time, timedelta, or #VALUE!)."""
        value = self.dates.get((v, kind))
        if value is None:
            number = float(v) if "." in v or "E" in v or "e" in v else int(v)
            try:
                value = from_excel(number, self.epoch, timedelta=kind == _DURATION)
            except (OverflowError, ValueError):
                value = "#VALUE!"  # openpyxl's reading of a serial out of the range of dates
            if len(self.dates) >= _CACHE:
                self.dates.clear()
            self.dates[(v, kind)] = value
        return value

    def parsed(self, row: str) -> tuple[int, list[object]]:
        """A row that is not plain, through ElementTree and openpyxl's own parse_row."""
        try:
            element = ET.fromstring(f"{self.wrap}{row}</w>")[0]
        except ET.ParseError:
            raise _NotPlain from None  # openpyxl reads the sheet: it parses it otherwise, or fails as it fails
        self.parser.row_counter = self.last
        number, cells = self.parser.parse_row(element)
        self.parser.row_dimensions.clear()  # kept by openpyxl for its own worksheets; unbounded here
        return number, self.placed([c["value"] for c in cells], [c["column"] for c in cells])


def _shared_strings(archive: Any, path: str) -> list[str]:
    """The shared-strings table as openpyxl's read_string_table reads it, plain <si><t>…</t></si> by a pattern."""
    try:
        with archive.open(path) as raw:
            return _plain_strings(_text(raw))
    except _NotPlain:
        with archive.open(path) as raw:
            return list(read_string_table(raw))


def _plain_strings(chunks: Iterator[str]) -> list[str]:
    buf, root = _read_to(_SST, chunks)
    if not root or "<!" in buf[:root.start()]:
        raise _NotPlain  # no <sst>, a DTD, or a comment before it: openpyxl reads it
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start-ns", "start"))
    parser.feed(buf[:root.end()])
    events = list(_read(parser))
    if not events or events[-1][0] != "start" or events[-1][1].tag != _MAIN + "sst":
        raise _NotPlain  # an "sst" in a processing instruction, or in another namespace
    if root[0].endswith("/>"):
        return []
    p = re.escape(f"{root[1]}:" if root[1] else "")
    pattern = re.compile(
        rf"{_WS}*<{p}si><{p}t(?: xml:space=\"preserve\")?>({_PLAIN}*)</{p}t></{p}si>"
        rf"|{_WS}*(<{p}si(?=[ \t\r\n/>])[^>]*?(?:/>|>.*?</{p}si>))|([^ \t\r\n])", re.S)
    wrap = f"<w{_declarations(dict(item for event, item in events if event == 'start-ns'))}>"
    strings: list[str] = []
    buf = buf[root.end():]
    while True:
        cut = _last_end(buf, f"{root[1]}:si" if root[1] else "si")
        _add_strings(strings, pattern.findall(buf, 0, cut), wrap)
        buf = buf[cut:]
        more = next(chunks, None)
        if more is None or len(buf) > _MAX_PENDING:
            break
        buf += more
    if not re.fullmatch(rf"{_WS}*</{p}sst>{_WS}*", buf):
        raise _NotPlain  # more than strings in it, or cut short: openpyxl reads it, or says what is wrong
    return strings


def _declarations(scope: dict[str, str]) -> str:
    """Namespace declarations, to parse an element cut out of its part as if it were still in it."""
    return "".join(f" xmlns:{k}={quoteattr(v)}" if k else f" xmlns={quoteattr(v)}" for k, v in scope.items())


def _add_strings(strings: list[str], found: list[tuple[str, str, str]], wrap: str) -> None:
    append = strings.append
    for plain, other, junk in found:
        if other:
            if "<!" in other:
                raise _NotPlain
            try:
                element = ET.fromstring(f"{wrap}{other}</w>")[0]
            except ET.ParseError:
                raise _NotPlain from None
            plain = Text.from_tree(element).content
        elif junk:
            raise _NotPlain
        append(plain.replace("x005F_", ""))  # as read_string_table does
