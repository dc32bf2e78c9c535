"""Lists without a 人员类别 column (issue 15): a department that certifies one category, and 农业农村's
防返贫监测 lists whose 监测类型 column names the category and the kind of household."""
import hashlib
import io
import json
from datetime import date

import pytest

from services.identity_certification.domain.cells import (
    BadCell,
    category_code,
    monitoring_of,
    monitoring_subtype,
    subtype_named,
)
from services.identity_certification.domain.headers import find_header, map_header
from services.identity_certification.domain.results import result_line
from services.identity_certification.domain.rows import SubmittedRow, sole_category, validate_row
from services.identity_certification.intake import FileRefused, read_file
from services.identity_certification.usecases import content_hash
from tests.support.people import resident_id

A, B, C, D, E = (resident_id("340321", seq=s) for s in (601, 603, 605, 607, 609))
TODAY = date(2024, 12, 10)


def read(lines: list[list[str]], **kw):
    data = "\r\n".join(",".join(cells) for cells in lines).encode("gb18030")  # as Windows Excel saves it
    report, rows = read_file(io.BytesIO(data), **kw)
    return report, list(rows)


# --- headers and cells -------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["监测类型", "监测对象类型", "监测户类型", " 监测类别 ", "监测对象类别", "监测户属性",
                                  "监测类型：", "monitoring_type"])
def test_the_monitoring_type_header_in_its_usual_wordings(word):
    columns, unknown, _ = map_header(["身份证号码", word, "纳入时间"])
    assert columns == {"person_id": 0, "monitoring_type": 1, "certified_on": 2} and unknown == []


def test_a_monitoring_list_without_category_column_has_a_header():
    header = find_header([["XX镇防返贫监测对象名册"], ["序号", "户主姓名", "身份证号", "监测对象类型", "纳入时间"]])
    assert header.row_index == 1 and header.columns == {"person_id": 2, "monitoring_type": 3, "certified_on": 4}


@pytest.mark.parametrize("cell, code", [
    ("脱贫不稳定户", "unstable_lifted"), ("脱贫不稳定", "unstable_lifted"), ("脱贫不稳定人口", "unstable_lifted"),
    ("边缘易致贫户", "marginal_at_risk"), (" 边缘易致贫 ", "marginal_at_risk"), ("边缘易致贫对象", "marginal_at_risk"),
    ("突发严重困难户", "sudden_hardship"), ("\u3000突发严重困难户", "sudden_hardship"), ("sudden_hardship", "sudden_hardship"),
])
def test_each_kind_of_monitored_household_reads_as_its_code(cell, code):
    assert monitoring_subtype(cell) == code


def test_a_blank_monitoring_type_is_none_and_an_unknown_one_says_what_to_write():
    assert monitoring_subtype("") is None and monitoring_subtype(None) is None
    with pytest.raises(BadCell) as err:
        monitoring_subtype("一般农户")
    assert err.value.code == "unknown_monitoring_type"
    assert "一般农户" in err.value.reason and all(w in err.value.reason for w in ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户"))


def test_a_subtype_written_as_the_category_names_the_category_and_the_kind():
    assert category_code("边缘易致贫") == category_code("脱贫不稳定户") == "poverty_monitoring"
    assert subtype_named("突发严重困难户") == "sudden_hardship"
    assert subtype_named("监测对象") is None and subtype_named("脱贫户") is None and category_code("脱贫户") == "lifted_from_poverty"


def test_monitoring_type_makes_a_row_without_category_a_monitoring_status_with_its_kind():
    assert monitoring_of("", None, "边缘易致贫户", required=True) == ("poverty_monitoring", "marginal_at_risk")
    assert monitoring_of("poverty_monitoring", None, "脱贫不稳定户", required=False) == ("poverty_monitoring",
                                                                                      "unstable_lifted")
    # a list naming the category may leave the kind out; a list whose category comes from the kind may not
    assert monitoring_of("lifted_from_poverty", None, "", required=False) == ("lifted_from_poverty", None)
    assert monitoring_of("poverty_monitoring", "sudden_hardship", " ", required=False) == ("poverty_monitoring",
                                                                                        "sudden_hardship")
    with pytest.raises(BadCell) as err:
        monitoring_of("poverty_monitoring", None, "", required=True)
    assert err.value.code == "missing_monitoring_type" and "缺少监测类型" in err.value.reason


def test_a_kind_beside_another_category_or_another_kind_is_refused_never_guessed():
    with pytest.raises(BadCell) as err:
        monitoring_of("lifted_from_poverty", None, "边缘易致贫户", required=False)
    assert err.value.code == "monitoring_type_mismatch" and "脱贫人口" in err.value.reason and "另起一行" in err.value.reason
    with pytest.raises(BadCell) as err:
        monitoring_of("poverty_monitoring", "sudden_hardship", "边缘易致贫户", required=False)
    assert err.value.code == "monitoring_type_mismatch" and "突发严重困难户" in err.value.reason
    # an unknown category is left to its own rule (unknown_category), with its own reason
    assert monitoring_of("贫困户", None, "边缘易致贫户", required=False) == ("贫困户", None)


@pytest.mark.parametrize("department, sole", [("veterans", "entitled_veteran"),
                                              ("disability_federation", "severe_disability"),
                                              ("civil_affairs", None), ("agriculture", None), ("health", None),
                                              ("education", None), ("nobody", None), (None, None)])
def test_only_a_department_that_certifies_exactly_one_category_has_a_sole_category(department, sole):
    assert sole_category(department) == sole


# --- files -----------------------------------------------------------------------------------------

def test_a_single_category_departments_list_without_category_column_is_read_as_its_category_and_says_so():
    report, rows = read([["身份证号", "认定时间"], [A, "2024-11-05"], [B, "2024/11/6"]], department="veterans")
    assert [(r.person_id, r.category, r.category_assumed) for r in rows] == [
        (A, "entitled_veteran", True), (B, "entitled_veteran", True)]
    assert report.all_notes()[0].startswith("文件没有“人员类别”列：退役军人事务部门只认定重点优抚对象一种人员类别")
    assert all(validate_row(r, received_on=TODAY).accepted for r in rows)


def test_the_clerks_category_wins_and_is_not_an_assumption():
    _, rows = read([["身份证号", "认定时间"], [A, "2024-11-05"]], department="veterans",
                   default_category="entitled_veteran")
    assert rows[0].category == "entitled_veteran" and not rows[0].category_assumed


@pytest.mark.parametrize("department", ["civil_affairs", "agriculture", "health", None])
def test_a_department_with_several_categories_still_gets_the_refusal_that_says_what_to_do(department):
    with pytest.raises(FileRefused) as err:
        read([["身份证号", "认定时间"], [A, "2024-11-05"]], department=department)
    assert err.value.code == "no_category"
    assert err.value.reason == "文件没有“人员类别”列：请加上该列，或报送时指定人员类别（--category）"


MONITORING = [
    ["XX县2024年11月防返贫监测对象名册"],
    ["序号", "户主姓名", "身份证号", "监测户类型", "纳入时间", "乡镇", "村"],
    ["1", "张三", A, "脱贫不稳定户", "2024-11-01", "榴城镇", "城关村"],
    ["2", "李四", B, "边缘易致贫户", "2024-11-02", "榴城镇", "城关村"],
    ["3", "王五", C, "突发严重困难户", "2024-11-03", "榴城镇", "城关村"],
    ["4", "赵六", D, "一般农户", "2024-11-04", "榴城镇", "城关村"],
    ["5", "钱七", E, "", "2024-11-05", "榴城镇", "城关村"],
    ["合计", "", "5户", "", "", "", ""],
]


def test_a_monitoring_list_is_read_as_poverty_monitoring_with_each_kind_and_bad_kinds_refused_per_row():
    report, rows = read(MONITORING, department="agriculture")
    assert [(r.line_no, r.category, r.subtype) for r in rows] == [
        (3, "poverty_monitoring", "unstable_lifted"), (4, "poverty_monitoring", "marginal_at_risk"),
        (5, "poverty_monitoring", "sudden_hardship"), (6, "poverty_monitoring", None), (7, "poverty_monitoring", None)]
    verdicts = [validate_row(r, received_on=TODAY) for r in rows]
    assert [v.reason_code for v in verdicts] == [None, None, None, "unknown_monitoring_type", "missing_monitoring_type"]
    assert "一般农户" in verdicts[3].reason
    notes = report.all_notes()
    assert "各行按防止返贫监测对象" in notes[0]
    assert "监测类型：脱贫不稳定户1行、边缘易致贫户1行、突发严重困难户1行" in notes[1]
    assert not any(r.category_assumed for r in rows)


def test_a_list_with_both_columns_checks_the_kind_against_the_category():
    _, rows = read([["身份证号", "人员类别", "监测类型", "认定时间"],
                    [A, "监测对象", "边缘易致贫户", "2024-11-01"],
                    [B, "脱贫户", "", "2024-11-01"],
                    [C, "脱贫户", "突发严重困难户", "2024-11-01"],
                    [D, "", "脱贫不稳定户", "2024-11-01"],
                    [E, "监测对象", "", "2024-11-01"]], department="agriculture")
    assert [(r.category, r.subtype, r.defect and r.defect[0]) for r in rows] == [
        ("poverty_monitoring", "marginal_at_risk", None), ("lifted_from_poverty", None, None),
        ("lifted_from_poverty", None, "monitoring_type_mismatch"), ("poverty_monitoring", "unstable_lifted", None),
        ("poverty_monitoring", None, None)]


def test_a_kind_written_in_the_category_column_is_kept_too():
    _, rows = read([["身份证号", "人员类别", "认定时间"], [A, "边缘易致贫户", "2024-11-01"]])
    assert (rows[0].category, rows[0].subtype) == ("poverty_monitoring", "marginal_at_risk")


# --- what the department and the other services see -------------------------------------------------

def test_the_result_line_shows_the_kind_and_the_assumed_category():
    base = {"line_no": 3, "person_masked": "340321**********01", "accepted": True, "reason_code": None, "reason": None}
    kind = result_line(base | {"category": "poverty_monitoring", "subtype": "marginal_at_risk", "category_assumed": False})
    assumed = result_line(base | {"category": "entitled_veteran", "subtype": None, "category_assumed": True})
    assert kind[6:] == ["边缘易致贫户", ""]
    assert assumed[6:] == ["", "文件无人员类别列，按本部门唯一可认定的类别“重点优抚对象”读取"]


def test_a_different_kind_is_different_content_and_rows_without_a_kind_hash_as_before():
    one, other = (SubmittedRow(1, A, "poverty_monitoring", date(2024, 11, 1), subtype=s)
                  for s in ("marginal_at_risk", "sudden_hardship"))
    assert content_hash([one]) != content_hash([other])
    # the hash a list without kinds had before kinds were kept: re-posting it is still a duplicate
    plain = SubmittedRow(1, A, "minimum_living", date(2024, 11, 1), township="榴城镇")
    before = json.dumps([[A, "minimum_living", "2024-11-01", "None", "榴城镇", None]], ensure_ascii=False)
    assert content_hash([plain]) == hashlib.sha256(before.encode()).hexdigest()
