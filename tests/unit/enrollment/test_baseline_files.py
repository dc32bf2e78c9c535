"""Baseline and roster files as people keep them: titles, Chinese headers, GBK, 合计 rows, Excel numbers."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from services.enrollment import sheets
from services.enrollment.domain import baseline
from tests.support.people import resident_id

HY = "340321"


def test_a_gbk_csv_with_a_title_row_and_a_total_row():
    good = resident_id(HY)
    text = (f"榴城镇户籍人口花名册\n姓名,公民身份号码,乡镇(街道),村（社区）,联系电话\n"
            f"张三,{good},榴城镇,城关村,138\n,,,,\n合计,1人,,,\n")
    sheet = sheets.read(text.encode("gb18030"), "list.csv")
    assert [r["line_no"] for r in sheet.rows] == [3] and sheet.ignored_lines == [4, 5]
    judged = baseline.households(sheet.rows, HY)
    assert [(h.person_id, h.township, h.village, h.name) for h in judged.accepted] == [(good, "榴城镇", "城关村", "张三")]


def test_an_xlsx_with_an_id_stored_as_a_number_is_refused_with_that_reason():
    good = resident_id(HY)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "民族"])
    sheet.append([good, "李四", "汉"])
    sheet.append([340321198001010000, "王五", "汉"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = sheets.read(buffer.getvalue(), "名册.xlsx")
    assert parsed.unknown_headers == ["民族"]
    judged = baseline.households(parsed.rows, HY)
    assert len(judged.accepted) == 1
    assert [(r[0], r[2]) for r in judged.rejected] == [(3, "id_excel_number")]
    assert "Excel" in judged.rejected[0][3]


def test_rows_of_another_region_and_repeated_ids_are_refused_and_counted():
    person = resident_id(HY)
    rows = [{"line_no": 1, "id": person}, {"line_no": 2, "id": person}, {"line_no": 3, "id": resident_id(HY), "region": "430502"}]
    judged = baseline.households(rows, HY)
    assert len(judged.accepted) + len(judged.rejected) == 3
    assert [r[2] for r in judged.rejected] == ["duplicate_row", "other_region"]


@pytest.mark.parametrize("cell", ["2024-11-05", "2024/11/5", "2024年11月5日", "20241105", 45601])
def test_roster_dates_in_every_spelling(cell):
    judged = baseline.employees([{"line_no": 1, "id": resident_id(HY), "insured_from": cell}], HY)
    assert judged.accepted[0].insured_from == date(2024, 11, 5)


def test_roster_rows_without_a_start_or_with_reversed_dates_are_refused():
    rows = [{"line_no": 1, "id": resident_id(HY)},
            {"line_no": 2, "id": resident_id(HY), "insured_from": "2024-11-05", "insured_to": "2024-01-01"},
            {"line_no": 3, "id": resident_id(HY), "insured_from": "11月5日"}]
    assert [r[2] for r in baseline.employees(rows, HY).rejected] == ["insured_from_missing", "dates_reversed", "bad_date"]


def test_a_file_without_an_id_column_is_refused_as_a_whole():
    with pytest.raises(sheets.SheetError):
        sheets.read("姓名,村\n张三,城关村\n".encode(), "x.csv")
