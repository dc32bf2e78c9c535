"""Last year's enrollment as a county exports it (services/reconciliation/domain/prior_year.py), as files really are
(DOMAIN.md §10): title rows, header variants, 合计 rows, GB18030, IDs Excel turned into numbers, dates in any
spelling; bad rows refused with a reason and counted, an unreadable file refused as a whole."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from services.reconciliation.domain.prior_year import read_prior_enrollment
from services.reconciliation.domain.sheet_reader import SheetRefused
from tests.support.people import resident_id

HY, LAST = "340321", 2024
A, B, C = (resident_id(HY, seq=n) for n in (11, 12, 13))

CSV = (f"怀远县2024年度城乡居民医保参保名单\n"
       f"序号,公民身份号码,姓名,乡镇（街道）,村（社区）,参保年度,缴费日期,缴费金额,人员类别,联系电话,经办网点\n"
       f"1,{A},张三,榴城镇,城关村,2024,2023-10-08,380.00,普通居民,13800000000,榴城\n"
       f",,,,,,,,,,\n"
       f"2,{B},李四,榴城镇,城关村,2024年度,2023/11/5,60,低保对象,,榴城\n"
       f"3,{C},王五,荆山镇,涂山村,,,,,,\n"
       f"合计,3人,,,,,,,,,\n")


def test_a_csv_with_a_title_row_header_variants_and_a_total_row():
    found = read_prior_enrollment(CSV.encode(), region=HY, year=LAST)
    rows = found.parsed.rows
    assert [(r.person_id, r.name, r.township, r.village, r.paid_on, r.amount_fen, r.category) for r in rows] == [
        (A, "张三", "榴城镇", "城关村", date(2023, 10, 8), 38000, "普通居民"),
        (B, "李四", "榴城镇", "城关村", date(2023, 11, 5), 6000, "低保对象"),
        (C, "王五", "荆山镇", "涂山村", None, None, None)]
    assert found.parsed.lines_in == 3 and not found.parsed.rejected
    assert found.unknown_headers == ["经办网点"], "a header not understood is named"
    assert found.ignored == ["第4行", "第7行"] and found.format == "csv"


def test_gb18030_as_windows_excel_saves_it_reads_the_same():
    utf8 = read_prior_enrollment(CSV.encode(), region=HY, year=LAST)
    gbk = read_prior_enrollment(CSV.encode("gb18030"), region=HY, year=LAST)
    assert gbk.parsed.rows == utf8.parsed.rows


def xlsx(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, grid in sheets:
        ws = book.create_sheet(title)
        for row in grid:
            ws.append(row)
        if len(grid[0]) == 1:  # a title row, merged across the table as clerks do
            ws.merge_cells("A1:D1")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_with_merged_title_number_ids_and_every_date_spelling():
    content = xlsx(("参保名单", [
        ["2024年度参保名单（榴城镇）"],
        ["身份证号码", "姓名", "乡镇", "村", "缴费时间", "金额"],
        [A, "张三", "榴城镇", "城关村", datetime(2023, 10, 8, 9, 30), 380],
        [B, "李四", "榴城镇", "城关村", 45231, 60.5],                  # an Excel serial number: 2023-11-01
        [C, "王五", "榴城镇", "新城社区", "2023年12月1日", "380元"],
        [340321198001010000, "赵六", "榴城镇", "城关村", "2023-10-09", 380],  # Excel kept 15 digits
    ]))
    found = read_prior_enrollment(content, region=HY, year=LAST)
    assert [(r.person_id, r.paid_on, r.amount_fen) for r in found.parsed.rows] == [
        (A, date(2023, 10, 8), 38000), (B, date(2023, 11, 1), 6050), (C, date(2023, 12, 1), 38000)]
    ((line, _raw, reason),) = found.parsed.rejected
    assert line == 6 and reason.startswith("第6行：身份证号被 Excel 存成了数字")
    assert found.format == "xlsx"


def test_each_bad_row_is_refused_with_its_reason_and_counted():
    wrong_check = A[:17] + ("1" if A[17] != "1" else "2")
    text = ("身份证号,姓名,参保年度,缴费日期,缴费金额,统筹区\n"
            f"{A},甲,2024,2023-10-08,380,340321\n"
            f"{wrong_check},乙,2024,2023-10-08,380,340321\n"
            f"{B},丙,2023,2022-10-08,350,340321\n"
            f"{C},丁,2024,2025-01-03,380,340321\n"
            f"{resident_id(HY, seq=14)},戊,2024,2023-13-40,380,340321\n"
            f"{resident_id(HY, seq=15)},己,2024,2023-10-08,三百八,340321\n"
            f"{resident_id(HY, seq=16)},庚,2024,2023-10-08,380,341522\n"
            f"{A},甲,2024,2023-11-08,380,340321\n"
            f"{resident_id(HY, seq=17)},辛\x00,2024,2023-10-08,380,340321\n")
    found = read_prior_enrollment(text.encode(), region=HY, year=LAST)
    reasons = {line: reason for line, _raw, reason in found.parsed.rejected}
    assert [r.name for r in found.parsed.rows] == ["甲"]
    assert found.parsed.lines_in == 9 == len(found.parsed.rows) + len(found.parsed.rejected)
    assert "校验位" in reasons[3]
    assert "参保年度为2023，本次导入的是2024年度的名单" in reasons[4]
    assert "晚于2024年度末" in reasons[5]
    assert "无法识别" in reasons[6]
    assert "不是数字" in reasons[7]
    assert "属于统筹区341522" in reasons[8]
    assert reasons[9] == "第9行：与第2行是同一人，已按该行计入"
    assert "无法识别的字符" in reasons[10]
    assert all(A not in reason for reason in reasons.values()), "reasons never carry the ID"


def test_every_worksheet_with_a_header_is_read_and_refusals_say_which():
    content = xlsx(("榴城镇", [["身份证号", "姓名"], [A, "甲"], ["123", "乙"]]),
                   ("说明", [["本表由县医保中心导出"]]),
                   ("荆山镇", [["身份证号", "姓名"], [B, "丙"], ["456", "丁"]]))
    found = read_prior_enrollment(content, region=HY, year=LAST)
    assert [r.name for r in found.parsed.rows] == ["甲", "丙"]
    reasons = [reason for _line, _raw, reason in found.parsed.rejected]
    assert reasons[0].startswith("工作表“榴城镇”第3行：") and reasons[1].startswith("工作表“荆山镇”第3行：")
    lines = [line for line, _raw, _reason in found.parsed.rejected] + found.parsed.line_numbers
    assert len(set(lines)) == len(lines), "line numbers stay unique across worksheets (they key the kept refusals)"


def zip_of_nothing() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return out.getvalue()


@pytest.mark.parametrize(("content", "says"), [
    (b"", "文件为空"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Excel（.xls）"),
    (zip_of_nothing(), "无法打开这个 Excel 文件"),
    (bytes(range(128, 256)) * 4, "既不是 Excel 工作簿，也不是 UTF-8 或 GB18030"),
    ("姓名,乡镇\n张三,榴城镇\n".encode(), "找不到身份证号列"),
])
def test_an_unreadable_file_is_refused_whole_with_what_to_do(content: bytes, says: str):
    with pytest.raises(SheetRefused) as refused:
        read_prior_enrollment(content, region=HY, year=LAST)
    assert says in str(refused.value)
    assert "请" in str(refused.value), "the reason tells the clerk what to do"
