"""Reading real-world files: encodings, XLSX with numbers for IDs, title rows, totals, blank rows."""
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from services.identity_certification.intake import FileRefused, read_file, rows_from_records
from tests.support.people import resident_id

A, B = resident_id("340321"), resident_id("340321")
MESSY = [
    ["怀远县榴城镇2024年11月低保对象花名册"],
    ["填报单位：榴城镇民政办"],
    ["序号", "姓名", "身份证号", "困难类别", "认定日期", "退出时间", "乡镇（街道）", "村(社区)", "联系方式"],
    ["1", "张三", A, "低保", "2024/11/5", "", "榴城镇", "城关村", "138"],
    [],
    ["2", "李四", "\u3000" + B.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "特困", "2024年11月5日", "", "", "", ""],
    ["3", "王五", "340321198001010000", "低保", "20241105", "", "", "", ""],
    ["合计", "", "3人", "", "", "", "", "", ""],
]


def csv_bytes(rows, encoding):
    return "\r\n".join(",".join(r) for r in rows).encode(encoding)


def read(data: bytes, **kw):
    report, rows = read_file(io.BytesIO(data), **kw)
    return report, list(rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_a_messy_csv_in_every_encoding_reads_the_same(encoding):
    report, rows = read(csv_bytes(MESSY, encoding))
    assert report.format == "csv" and report.header_line == 3
    assert [(r.line_no, r.person_id, r.category, r.certified_on) for r in rows] == [
        (4, A, "minimum_living", date(2024, 11, 5)),
        (6, B, "extreme_poverty", date(2024, 11, 5)),
        (7, "340321198001010000", "minimum_living", date(2024, 11, 5)),
    ]
    assert rows[0].township == "榴城镇" and rows[0].village == "城关村"
    assert any("联系方式" in n for n in report.notes), report.notes
    assert any("第8行" in n for n in report.notes) and report.skipped_lines == 4  # 2 title, 1 blank, 1 total


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_with_an_id_stored_as_a_number_refuses_that_row_for_that_reason():
    data = xlsx_bytes([
        ["2024年11月特困人员名册"],
        ["公民身份号码", "人员类别", "认定时间"],
        [A, "特困供养人员", datetime(2024, 11, 5)],
        [340321198001010000, "特困供养人员", 45601],
        [B, "特困", "上个月"],
    ])
    report, rows = read(data)
    assert report.format == "xlsx" and report.header_line == 2
    assert rows[0].certified_on == rows[1].certified_on == date(2024, 11, 5) and rows[0].defect is None
    assert rows[1].defect[0] == "id_excel_number" and "Excel" in rows[1].defect[1]
    assert rows[2].defect[0] == "bad_date" and "上个月" in rows[2].defect[1]


def test_an_xlsx_whose_dimension_says_a1_is_read_whole():
    """Some export tools write <dimension ref="A1"/> over the whole sheet; read trusting it (as openpyxl's
    read-only mode does) the list would be one cell and refused for want of a header. Every row is read."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(MESSY[2:4] + [["2", "李四", B, "特困", "2024-11-05"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rewritten:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', body)
                assert n == 1
            rewritten.writestr(item, body)
    report, rows = read(out.getvalue())
    assert report.header_line == 1 and [(r.line_no, r.person_id) for r in rows] == [(2, A), (3, B)]


def test_a_file_without_category_column_needs_a_default_category():
    data = csv_bytes([["身份证号", "认定时间"], [A, "2024-11-05"]], "utf-8")
    with pytest.raises(FileRefused) as err:
        read(data)
    assert err.value.code == "no_category"
    _, rows = read(data, default_category="minimum_living")
    assert rows[0].category == "minimum_living"


@pytest.mark.parametrize("data, code", [(b"\xd0\xcf\x11\xe0rest", "xls_not_supported"),
                                        ("姓名,电话\n张三,1\n".encode(), "no_header"),
                                        (b"PK\x03\x04not a zip", "bad_xlsx")])
def test_unreadable_files_are_refused_as_a_whole_with_a_reason(data, code):
    with pytest.raises(FileRefused) as err:
        read(data)
    assert err.value.code == code and err.value.reason


def test_json_rows_go_through_the_same_cell_rules():
    rows = rows_from_records([{"id": A, "category": "低保", "certified_on": "2024/11/5"}, {}])
    assert rows[0].category == "minimum_living" and rows[0].certified_on == date(2024, 11, 5)
    assert rows[1].line_no == 2 and rows[1].person_id == ""
