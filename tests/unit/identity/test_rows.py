"""Each validation rule on one row, and the authority check, with the reasons a department reads."""
from datetime import date

import pytest

from services.identity_certification.domain.results import result_line, safe_cell
from services.identity_certification.domain.rows import SubmittedRow, foreign_categories, refusal_for, validate_row
from services.identity_certification.domain.snapshot import period_bounds, snapshot_end_date
from tests.support.people import resident_id

TODAY = date(2024, 11, 20)
GOOD = resident_id("340321")


def verdict(**fields):
    row = dict(line_no=3, person_id=GOOD, category="minimum_living", certified_on=date(2024, 11, 5)) | fields
    return validate_row(SubmittedRow(**row), received_on=TODAY)


def test_a_good_row_passes_with_the_normalised_id():
    v = verdict(person_id=" " + GOOD.lower() + "\u3000")
    assert v.accepted and v.person_id == GOOD


@pytest.mark.parametrize("fields, code", [
    ({"person_id": GOOD[:17] + ("1" if GOOD[17] != "1" else "2")}, "id_check_character"),
    ({"person_id": "3403211980010100"}, "id_length"),
    ({"person_id": "340321198013010019"}, "id_birth_date"),
    ({"person_id": "3.40321E+17"}, "id_excel_number"),
    ({"person_id": resident_id("990000")}, "id_region_unknown"),
    ({"category": "贫困户"}, "unknown_category"),
    ({"category": ""}, "missing_category"),
    ({"certified_on": None}, "missing_certified_on"),
    ({"certified_on": date(2024, 12, 1)}, "certified_in_future"),
    ({"ended_on": date(2024, 10, 1)}, "ended_before_certified"),
    ({"defect": ("bad_date", "认定时间“上月”无法识别")}, "bad_date"),
    ({"defect": ("id_excel_number", "身份证号被 Excel 存成了数字")}, "id_excel_number"),
])
def test_each_kind_of_bad_row_is_rejected_with_its_reason(fields, code):
    v = verdict(**fields)
    assert not v.accepted and v.reason_code == code and v.reason


def test_a_rejected_row_shows_the_id_masked():
    assert GOOD not in verdict(category="x").person_masked


def test_a_foreign_category_refuses_the_whole_submission_naming_the_owner():
    assert foreign_categories("civil_affairs", {"minimum_living", "not_a_category"}) == set()
    foreign = foreign_categories("civil_affairs", {"minimum_living", "poverty_monitoring"})
    assert foreign == {"poverty_monitoring"}
    refused = refusal_for("civil_affairs", foreign)
    assert refused.code == "category_not_owned" and "农业农村" in refused.reason and "整批退回" in refused.reason


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_formula_looking_cells_are_defused(cell):
    assert safe_cell(cell) == "'" + cell


def test_a_result_line_has_line_number_masked_id_and_reason():
    line = result_line({"line_no": 7, "person_masked": "340321**********1X", "category": "=1+1",
                        "accepted": False, "reason_code": "unknown_category", "reason": "人员类别“=1+1”不是规定的类别",
                        "subtype": None, "category_assumed": False})
    assert line == ["7", "340321**********1X", "'=1+1", "退回", "unknown_category", "人员类别“=1+1”不是规定的类别",
                    "", ""]


def test_snapshot_end_is_the_periods_last_day_or_the_day_received():
    assert period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert snapshot_end_date("2024-11", TODAY, "period_end") == date(2024, 11, 30)
    assert snapshot_end_date("2024-11", TODAY, "submission_date") == TODAY
