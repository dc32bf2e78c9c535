"""Cells and headers as departments write them: dates, full-width text, Chinese names, title rows."""
from datetime import date, datetime

import pytest

from services.identity_certification.domain.cells import BadCell, category_code, is_footer, parse_date, text
from services.identity_certification.domain.headers import NoHeader, find_header


@pytest.mark.parametrize("cell", ["2024-11-05", "2024/11/5", "2024年11月5日", "20241105", "２０２４－１１－０５",
                                  "2024.11.05", "2024-11-05 00:00:00", 45601, 45601.0, "45601",
                                  datetime(2024, 11, 5, 0, 0), date(2024, 11, 5)])
def test_every_listed_date_spelling_reads_as_the_same_day(cell):
    assert parse_date(cell, "认定时间") == date(2024, 11, 5)


@pytest.mark.parametrize("cell, words", [("2024-13-01", "不是存在的日期"), ("2024年2月30日", "不是存在的日期"),
                                         ("上个月", "无法识别"), (123, "不是日期")])
def test_a_bad_date_says_what_was_written_and_how_to_write_it(cell, words):
    with pytest.raises(BadCell) as err:
        parse_date(cell, "认定时间")
    assert err.value.code == "bad_date" and words in err.value.reason and "认定时间" in err.value.reason


def test_blank_dates_are_none_and_full_width_spaces_go():
    assert parse_date("  \u3000 ", "退出时间") is None and parse_date(None, "退出时间") is None
    assert text("\u3000３４０３２１ ") == "340321"


@pytest.mark.parametrize("word, code", [("低保", "minimum_living"), ("低保对象", "minimum_living"),
                                        ("特困供养人员", "extreme_poverty"), (" 特 困 ", "extreme_poverty"),
                                        ("边缘易致贫户", "poverty_monitoring"), ("minimum_living", "minimum_living"),
                                        ("双女户", "daughter_family"), ("重度残疾人", "severe_disability")])
def test_category_names_map_to_codes(word, code):
    assert category_code(word) == code


def test_an_unknown_category_comes_back_as_written():
    assert category_code("贫困户") == "贫困户"


def test_total_and_signature_rows_are_footers():
    assert is_footer(["合计", "", "128人"]) and is_footer(["", "填表人：张三"]) and not is_footer(["张三", "低保"])


def test_header_below_title_rows_with_synonyms_and_a_header_not_understood():
    rows = [["XX镇2024年11月低保对象花名册", "", ""], [], ["序号", "姓名", "身份证号码", "救助类别", "纳入时间",
                                                          "取消时间", "乡镇（街道）", "村(社区)", "手机号"]]
    header = find_header(rows)
    assert header.row_index == 2
    assert header.columns == {"person_id": 2, "category": 3, "certified_on": 4, "ended_on": 5, "township": 6,
                              "village": 7}
    assert header.not_understood == ("手机号",)


def test_no_id_column_means_no_header():
    with pytest.raises(NoHeader) as err:
        find_header([["姓名", "人员类别"], ["张三", "低保"]])
    assert "身份证号" in err.value.reason
