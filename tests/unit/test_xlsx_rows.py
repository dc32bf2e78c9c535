"""shared.xlsx_rows gives, for every workbook, exactly the rows openpyxl's read-only reader gives.

Each test builds a workbook (with openpyxl, or its XML by hand for what openpyxl never writes: shared strings,
rich text, cached formula values, namespace prefixes, gaps and disorder in r=) and compares the new reader's rows
with `load_workbook(read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True)`, padding included;
a few also state the expected values, so that a fault shared by both readers shows too.
"""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

import shared.xlsx_rows as xlsx_rows
from shared.xlsx_rows import XlsxUnreadable, iter_rows, open_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Cell styles of STYLES, by index (s=): what a number in such a cell reads as.
GENERAL, DATE14, DATETIME22, TIME20, CHINESE_DATE, DURATION, TWO_DECIMALS, ISO_DATETIME = range(8)
STYLES = f"""<styleSheet xmlns="{MAIN}"><numFmts count="4">
<numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>
<numFmt numFmtId="165" formatCode="[h]:mm:ss"/><numFmt numFmtId="166" formatCode="0.00"/>
<numFmt numFmtId="167" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="20" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def package(sheets: list[tuple[str, str, str]], *, strings: str | None = None, date1904: bool = False,
            absolute: bool = False, encoding: str = "utf-8") -> bytes:
    """A workbook of hand-written parts: `sheets` as (name, part path under xl/, worksheet XML), in workbook order."""
    overrides = "".join(f'<Override PartName="/xl/{path}" ContentType="application/vnd.openxmlformats-'
                        'officedocument.spreadsheetml.worksheet+xml"/>' for _, path, _ in sheets)
    if strings is not None:
        overrides += ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.sharedStrings+xml"/>')
    listed = "".join(f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                     for i, (name, _, _) in enumerate(sheets))
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{REL}/worksheet" Target="{"/xl/" if absolute else ""}{path}"/>'
                   for i, (_, path, _) in enumerate(sheets))
    flag = ' date1904="1"' if date1904 else ""
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        f'<workbookPr{flag}/><sheets>{listed}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships">{rels}<Relationship Id="rIdS" Type="{REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rIdT" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": STYLES,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode("utf-8"))
        for _, path, xml in sheets:
            z.writestr(f"xl/{path}", xml.encode(encoding))
    return out.getvalue()


def sheet(rows: str, *, head: str = "", root: str = f'xmlns="{MAIN}"') -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {root}>{head}<sheetData>{rows}</sheetData></worksheet>'


def sst(*items: str) -> str:
    return f'<sst xmlns="{MAIN}" count="{len(items)}" uniqueCount="{len(items)}">{"".join(items)}</sst>'


def saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def openpyxl_rows(data: bytes, index: int = 0) -> list[list[object]]:
    """openpyxl's read-only rows of the sheet, its stated <dimension> set aside (`reset_dimensions`), as the new
    reader sets it aside."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = book.worksheets[index]
        ws.reset_dimensions()
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        book.close()


def same(data: bytes) -> list[list[object]]:
    """The new reader's rows, asserted equal (value, type and padding) to openpyxl's."""
    ours = list(iter_rows(data))
    theirs = openpyxl_rows(data)
    assert [[(type(v), v) for v in row] for row in ours] == [[(type(v), v) for v in row] for row in theirs]
    return ours


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the reader handed a sheet to openpyxl (the rows it had already given, each time)."""
    seen: list[int] = []
    original = xlsx_rows.Book._openpyxl_rows

    def spy(self, ours, index, given):  # type: ignore[no-untyped-def]
        seen.append(given)
        return original(self, ours, index, given)

    monkeypatch.setattr(xlsx_rows.Book, "_openpyxl_rows", spy)
    return seen


@pytest.fixture
def parsed_rows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rows the patterns did not take, parsed by ElementTree and openpyxl's parse_row instead."""
    seen: list[str] = []
    original = xlsx_rows._Cells.parsed

    def spy(self, row):  # type: ignore[no-untyped-def]
        seen.append(row)
        return original(self, row)

    monkeypatch.setattr(xlsx_rows._Cells, "parsed", spy)
    return seen


def tags(rows: list[str]) -> list[str]:
    return [row[:row.index(">") + 1] for row in rows]


def test_a_list_as_openpyxl_writes_it_title_merged_dates_numbers_and_gaps(fallbacks: list[int],
                                                                           parsed_rows: list[str]) -> None:
    book = Workbook()
    ws = book.active
    ws.append(["2024年11月特困人员名册"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "姓名", "身份证号", "认定时间", "金额", "备注"])
    ws.append([1, "张三", "34032119400101002X", date(2024, 11, 1), 12.5, None])
    ws.append([2, "李 四 ", 340321194001010011, datetime(2024, 11, 2, 8, 30), -1e-7, True])
    ws.append([3, "A&B <王五> \"x\" 'y'", 1.5e300, time(13, 45, 10), 0, False])
    ws["C9"] = "隔了几行"
    ws["H9"] = "隔了几列"
    ws["D3"].number_format = 'yyyy"年"m"月"d"日"'
    ws["E4"] = timedelta(hours=30, minutes=5)
    rows = same(saved(book))
    assert rows[2][:4] == [1, "张三", "34032119400101002X", datetime(2024, 11, 1)]
    assert rows[4][3] == time(13, 45, 10) and rows[3][4] == timedelta(hours=30, minutes=5)
    assert len(rows) == 9 and rows[5] == [] and rows[8][2] == "隔了几行"
    assert fallbacks == [] and tags(parsed_rows) == ['<row r="5">']  # A&amp;B: an entity


def test_a_write_only_workbook_has_no_dimension_so_each_row_is_as_wide_as_its_last_cell() -> None:
    book = Workbook(write_only=True)
    ws = book.create_sheet("名单")
    ws.append(["身份证号", "姓名", "类别"])
    ws.append(["340321194001010011", None, "低保对象", None])
    ws.append([])
    ws.append([None, None, None, 7])
    ws.append([date(2024, 1, 31), datetime(1900, 1, 1, 12), 3.0, 10**15])
    rows = same(saved(book))
    assert rows[1] == ["340321194001010011", None, "低保对象"] and rows[2] == [] and rows[3] == [None, None, None, 7]


def test_a_1904_workbook_dates_count_from_1904() -> None:
    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    book.active.append([date(2024, 2, 29), datetime(1904, 1, 1, 6), 5])
    assert same(saved(book))[0][:2] == [datetime(2024, 2, 29), time(6)]  # a serial under 1 is a time
    rows = sheet(f'<row r="1"><c r="A1" s="{DATE14}"><v>1</v></c><c r="B1" s="{DATETIME22}"><v>45000.25</v></c></row>')
    assert same(package([("s", "worksheets/sheet1.xml", rows)], date1904=True)) == [
        [datetime(1904, 1, 2), datetime(2027, 3, 16, 6)]]


STRINGS = sst(
    "<si><t>姓名</t></si>",
    '<si><t xml:space="preserve">  前后有空格  </t></si>',
    "<si><r><rPr><b/><sz val=\"11\"/></rPr><t>富</t></r><r><t xml:space=\"preserve\">文本 </t></r></si>",
    "<si><t>A&amp;B &lt;c&gt; &#20013;&#x6587; &quot;q&quot;</t></si>",
    "<si><t>ルビ</t><rPh sb=\"0\" eb=\"2\"><t>るび</t></rPh><phoneticPr fontId=\"1\"/></si>",
    "<si><t/></si>",
    "<si><t>_x005F_x000D_ kept as openpyxl keeps it</t></si>",
    "<si><t>two\r\nlines\rend</t></si>",
    "<si><t>340321194001010011</t></si>",
)


@pytest.mark.filterwarnings("ignore:Cell I4 is marked as a date")  # openpyxl's, reading 1e20 as #VALUE!
def test_hand_written_cells_of_every_type_read_as_openpyxl_reads_them(fallbacks: list[int],
                                                                      parsed_rows: list[str]) -> None:
    rows = sheet(
        '<row r="1" spans="1:9"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c>'
        '<c r="G1" t="s"><v>6</v></c><c r="H1" t="s"><v>7</v></c><c r="I1" s="0" t="s"><v>8</v></c></row>'
        '<row r="2"><c r="A2"><v>340321194001010011</v></c><c r="B2"><v>1.5E+3</v></c><c r="C2"><v>2e-3</v></c>'
        '<c r="D2"><v>-0</v></c><c r="E2" t="n"><v>42.0</v></c><c r="F2" t="b"><v>1</v></c><c r="G2" t="b"><v>0</v></c>'
        '<c r="H2" t="e"><v>#N/A</v></c><c r="I2" t="e"><v>#DIV/0!</v></c></row>'
        '<row r="3"><c r="A3" t="str"><f>A1&amp;B1</f><v>姓名  前后有空格  </v></c><c r="B3"><f>SUM(A2:B2)</f><v>1500</v></c>'
        '<c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D3" t="str"><f t="shared" ref="D3:D4" si="0">C3</f><v></v></c>'
        '<c r="E3" t="b"><f>TRUE()</f><v>1</v></c><c r="F3" s="6"><v>3.14159</v></c><c r="G3" t="str"><v>a &amp; b</v></c>'
        '<c r="H3" t="inlineStr"><is><t>行内</t></is></c><c r="I3" t="inlineStr"><is><r><t>富</t></r><r><t>行内</t></r></is></c></row>'
        f'<row r="4"><c r="A4" s="{DATE14}"><v>45597</v></c><c r="B4" s="{DATETIME22}"><v>45597.5</v></c>'
        f'<c r="C4" s="{TIME20}"><v>0.75</v></c><c r="D4" s="{CHINESE_DATE}"><v>45658</v></c>'
        f'<c r="E4" s="{DURATION}"><v>1.25</v></c><c r="F4" s="{ISO_DATETIME}"><v>45597.000011574</v></c>'
        f'<c r="G4" s="{DATE14}"><v>59</v></c><c r="H4" s="{DATE14}"><v>61</v></c><c r="I4" s="{DATE14}"><v>1e20</v></c></row>'
        '<row r="5"><c r="A5" t="inlineStr"><v>ignored</v></c><c r="B5" t="s"/><c r="C5" s="3"/>'
        '<c r="D5" t="inlineStr"><is><t></t></is></c><c r="E5" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c>'
        '<c r="F5" t="str"><v>line&#13;&#10;two</v></c><c r="G5" t="d"><v>2024-11-01T08:00:00</v></c></row>')
    data = package([("名单", "worksheets/sheet1.xml", rows)], strings=STRINGS)
    got = same(data)
    assert got[0][:4] == ["姓名", "  前后有空格  ", "富文本 ", 'A&B <c> 中文 "q"'] and got[0][4] == "ルビ"
    assert got[1][:5] == [340321194001010011, 1500.0, 0.002, 0, 42.0] and got[1][5:8] == [True, False, "#N/A"]
    assert got[2][:3] == ["姓名  前后有空格  ", 1500, "#DIV/0!"] and got[2][7:] == ["行内", "富行内"]
    assert got[3][:4] == [datetime(2024, 11, 1), datetime(2024, 11, 1, 12), time(18), datetime(2025, 1, 1)]
    assert got[3][4] == timedelta(hours=30) and got[3][8] == "#VALUE!"
    assert got[4][:5] == [None, None, None, "", " x "] and got[4][6] == datetime(2024, 11, 1, 8)
    assert fallbacks == [] and tags(parsed_rows) == ['<row r="3">', '<row r="5">']  # &amp;, rich text, t="d"


def test_gaps_and_disorder_in_row_and_cell_numbers_are_numbered_as_openpyxl_numbers_them() -> None:
    rows = sheet(
        '<row r="2"><c r="C2"><v>1</v></c><c r="A2"><v>2</v></c></row>'   # out of order: width from the last cell
        '<row r="5"><c r="B5"><v>3</v></c><c r="B5"><v>4</v></c><c r="E5"><v>5</v></c></row>'
        '<row><c r="A6"><v>7</v></c><c><v>8</v></c><c r="D6"/><c><v>9</v></c></row>'  # no r=: the next one
        '<row r="4"><c r="A4"><v>6</v></c></row>'                            # behind: left out
        '<row r="6"><c r="A6"><v>10</v></c></row>'                            # repeated: left out
        '<row r="8" spans="1:3" ht="20" customHeight="1"/>'
        '<row r="9.0"><c r="AA9"><v>11</v></c></row>'
        '<row r="10" customFormat="1" s="3"></row>'
        '\n  <row r="11">\n    <c r="B11" t="inlineStr">\n      <is>\n        <t>缩进</t>\n      </is>\n    </c>\n  </row>\n')
    got = same(package([("s", "worksheets/sheet1.xml", rows)]))
    assert got[:3] == [[], [2], []] and got[4] == [None, 4, None, None, 5]
    assert got[5] == [7, 8, None, None, 9] and got[8][26] == 11 and len(got) == 11


def test_a_dimension_smaller_or_larger_than_the_data_cuts_nothing_and_pads_nothing() -> None:
    """Some programs write <dimension ref="A1"/> over a whole sheet: openpyxl's read-only reader would give one
    cell, and a range short of the data would drop rows without a word. Every row present is read."""
    cells = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "ABC") + "</row>"
                    for r in (1, 2, 4))
    whole = [[1, 1, 1], [2, 2, 2], [], [4, 4, 4]]
    for ref in ("B2:C3", "A1:E9", "A1:B2", "A1"):
        data = package([("s", "worksheets/sheet1.xml", sheet(cells, head=f'<dimension ref="{ref}"/>'))])
        assert same(data) == whole, ref
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    assert [list(r) for r in book.worksheets[0].iter_rows(values_only=True)] == [[1]]  # openpyxl trusting "A1"
    book.close()


def test_the_first_sheet_is_the_first_in_the_workbook_not_sheet1_xml() -> None:
    first = sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>第一张</t></is></c></row>')
    second = sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>sheet1.xml</t></is></c></row>')
    for absolute in (False, True):
        data = package([("汇总", "worksheets/sheet3.xml", first), ("明细", "worksheets/sheet1.xml", second)],
                       absolute=absolute)
        assert same(data) == [["第一张"]]
        with open_workbook(data) as book:
            assert book.sheet_names == ["汇总", "明细"] and list(book.rows(1)) == openpyxl_rows(data, 1)


def test_a_sheet_and_strings_written_with_a_namespace_prefix(fallbacks: list[int], parsed_rows: list[str]) -> None:
    rows = ('<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>'
            '<x:row r="3"><x:c r="A3"><x:f>1+1</x:f><x:v>2</x:v></x:c><x:c r="B3" t="inlineStr"><x:is><x:t>行内</x:t>'
            '</x:is></x:c><x:c r="C3" t="str"><x:v>&lt;</x:v></x:c></x:row>')
    worksheet = (f'<x:worksheet xmlns:x="{MAIN}" xmlns:r="{REL}"><x:dimension ref="A1:C3"/>'
                 f'<x:sheetData>{rows}</x:sheetData></x:worksheet>')
    strings = f'<x:sst xmlns:x="{MAIN}"><x:si><x:t>姓名</x:t></x:si><x:si><x:r><x:t>身份</x:t></x:r><x:r><x:t>证</x:t></x:r></x:si></x:sst>'
    got = same(package([("s", "worksheets/sheet1.xml", worksheet)], strings=strings))
    assert got == [["姓名", "身份证"], [], [2, "行内", "<"]] and fallbacks == []
    assert tags(parsed_rows) == ['<x:row r="3">']  # &lt;


@pytest.mark.parametrize("between", ["<!-- 审核人：张三 -->", "<?pi data?>"])
def test_what_the_patterns_do_not_cut_is_read_by_openpyxl_from_that_row(between: str, fallbacks: list[int]) -> None:
    rows = ["".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in numbers)
            for numbers in (range(1, 4), range(11, 14))]
    data = package([("s", "worksheets/sheet1.xml", sheet(rows[0] + between + rows[1]))])
    assert same(data)[-1] == [13] and fallbacks == [3]


def test_cdata_a_comment_in_a_row_and_another_encoding_are_read_by_openpyxl(fallbacks: list[int]) -> None:
    cdata = sheet('<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[</row><x>]]></t></is></c></row>')
    comment = sheet('<row r="1"><c r="A1"><v>1</v></c><!-- </row> --><c r="B1"><v>2</v></c></row>')
    utf16 = sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>十六</t></is></c></row>').replace("UTF-8", "UTF-16")
    assert same(package([("s", "worksheets/sheet1.xml", cdata)])) == [["</row><x>"]]
    assert same(package([("s", "worksheets/sheet1.xml", comment)])) == [[1, 2]]
    assert same(package([("s", "worksheets/sheet1.xml", utf16)], encoding="utf-16")) == [["十六"]]
    assert fallbacks == [0, 0, 0]


def test_a_row_with_an_entity_or_a_cell_without_r_is_parsed_by_openpyxl_and_the_rest_stays_fast(
        fallbacks: list[int], parsed_rows: list[str]) -> None:
    rows = ('<row r="1"><c r="A1" t="str"><v>&#x41;</v></c></row><row r="2"><c t="n" r="A2"><v>2</v></c></row>'
            '<row r="3"><c r="A3" cm="1" vm="2" s="1"><v>45000</v></c></row>')
    assert same(package([("s", "worksheets/sheet1.xml", sheet(rows))])) == [["A"], [2], [datetime(2023, 3, 15)]]
    assert fallbacks == [] and tags(parsed_rows) == ['<row r="1">', '<row r="2">']


def test_strings_the_pattern_does_not_take_are_read_by_openpyxl_s_own_string_table_reader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tables: list[int] = []
    original = xlsx_rows.read_string_table
    monkeypatch.setattr(xlsx_rows, "read_string_table", lambda raw: tables.append(1) or original(raw))
    rows = sheet('<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABC")) + "</row>")
    plain = sst("<si><t>甲</t></si>", "<si><t>乙</t></si>", "<si/>")
    commented = sst("<si><t>甲</t></si>", "<!-- 乙 -->", "<si><t>乙</t></si>", "<si/>")
    other_root = f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si><t>甲</t></si><extLst/><si><t>乙</t></si><si/></sst>'
    for strings in (plain, commented, other_root):
        assert same(package([("s", "worksheets/sheet1.xml", rows)], strings=strings)) == [["甲", "乙", ""]]
    assert len(tables) == 2


def test_an_empty_sheet_a_bom_and_single_quotes_in_the_declaration() -> None:
    assert same(package([("s", "worksheets/sheet1.xml", sheet("").replace("<sheetData></sheetData>",
                                                                          '<dimension ref="A1:C4"/><sheetData/>'))])) == []
    quoted = "\ufeff" + sheet('<row r="2"><c r="B2"><v>1</v></c></row>').replace('"UTF-8"', "'utf-8'")
    assert same(package([("s", "worksheets/sheet1.xml", quoted)])) == [[], [None, 1]]


def test_a_broken_workbook_is_refused_with_the_name_of_what_failed() -> None:
    with pytest.raises(XlsxUnreadable) as not_zip:
        list(iter_rows(b"PK\x03\x04not a zip"))
    assert not_zip.value.kind == "BadZipFile"
    truncated = package([("s", "worksheets/sheet1.xml", sheet('<row r="1"><c r="A1"><v>1</v></c></row>')[:-30])])
    with pytest.raises(XlsxUnreadable):
        list(iter_rows(truncated))
    with pytest.raises(ParseError):
        openpyxl_rows(truncated)
    not_a_number = package([("s", "worksheets/sheet1.xml", sheet('<row r="1"><c r="A1"><v>1,5</v></c></row>'))])
    with pytest.raises(XlsxUnreadable) as bad_value:
        list(iter_rows(not_a_number))
    assert bad_value.value.kind == "ValueError"
    with pytest.raises(ValueError):
        openpyxl_rows(not_a_number)
    bad_style = package([("s", "worksheets/sheet1.xml", sheet('<row r="1"><c r="A1" s="x"/></row>'))])
    with pytest.raises(XlsxUnreadable):
        list(iter_rows(bad_style))
    with pytest.raises(ValueError):
        openpyxl_rows(bad_style)


# What XML can hold: no surrogates, no control characters but tab and line ends, not U+FFFE/U+FFFF.
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=[
    *(chr(i) for i in range(32) if chr(i) not in "\t\n\r"), "\ufffe", "\uffff"]), max_size=6)
CELL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**18), 10**18),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
    st.sampled_from(["&", "<>", " 前后 ", "x005F_y", "a\nb", "姓名", "340321194001010011"]),
    st.dates(date(1900, 3, 1), date(2100, 1, 1)),
    st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)).map(lambda d: d.replace(microsecond=0)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELL_VALUES, max_size=5), max_size=6), st.booleans())
def test_any_small_grid_openpyxl_writes_reads_the_same(grid: list[list[object]], write_only: bool) -> None:
    book = Workbook(write_only=write_only)
    ws = book.create_sheet("s") if write_only else book.active
    for row in grid:
        ws.append(row)
    same(saved(book))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["s", "n", "str", "inlineStr", "b", "e"]),
                                   st.integers(0, 7), XML_TEXT), max_size=5),
                max_size=5),
       st.lists(st.integers(1, 12), min_size=5, max_size=5))
def test_any_small_hand_written_sheet_reads_the_same(cells: list[list[tuple[int, str, int, str]]],
                                                     row_numbers: list[int]) -> None:
    """Random columns (in any order), types, styles and row numbers; shared strings and inline strings."""
    texts = [escape(t) for row in cells for _, _, _, t in row]
    xml = ""
    for number, row in zip(row_numbers, cells):
        xml += f'<row r="{number}">'
        for k, (column, kind, style, text) in enumerate(row):
            ref = f"{chr(64 + column) if column <= 26 else 'A' + chr(64 + column - 26)}{number}"
            value = {"s": str(texts.index(escape(text))), "n": str(len(text) * 7.5), "b": str(len(text) % 2),
                     "e": "#REF!", "str": escape(text), "inlineStr": ""}[kind]
            body = f"<is><t>{escape(text)}</t></is>" if kind == "inlineStr" else f"<v>{value}</v>"
            xml += f'<c r="{ref}" s="{style}" t="{kind}">{body}</c>' if k % 3 else f'<c r="{ref}" t="{kind}" s="{style}">{body}</c>'
        xml += "</row>"
    strings = sst(*(f"<si><t>{t}</t></si>" for t in texts)) if texts else sst()
    same(package([("s", "worksheets/sheet1.xml", sheet(xml))], strings=strings))
