"""A control character in a register row refuses that row with a reason; its neighbours go through.

PostgreSQL text cannot hold a NUL, so one in a name or an ID made the whole import a 500 (found by schemathesis).
"""
from __future__ import annotations

from services.enrollment.domain import baseline
from tests.support.people import resident_id

REGION = "340321"


def test_a_row_with_a_control_character_is_refused_and_its_neighbours_accepted() -> None:
    good, bad_name, bad_id = resident_id(REGION), resident_id(REGION), resident_id(REGION)
    rows = [
        {"line_no": 1, "id": good, "name": "张三"},
        {"line_no": 2, "id": bad_name, "name": "李\x00四"},
        {"line_no": 3, "id": bad_id[:5] + "\x00" + bad_id[6:], "township": "榴城镇"},
        {"line_no": 4, "id": resident_id(REGION), "village": "城关村\ud800"},
    ]
    judged = baseline.households(rows, REGION)
    assert [h.person_id for h in judged.accepted] == [good]
    assert [(line, code) for line, _, code, _ in judged.rejected] == [
        (2, "control_character"), (3, "control_character"), (4, "control_character")]
    for _, masked, _, reason in judged.rejected:
        assert "\x00" not in masked and "\ud800" not in masked and "一栏含有控制字符" in reason
    assert "name" in judged.rejected[0][3]


def test_roster_rows_are_judged_the_same_way() -> None:
    rows = [{"line_no": 1, "id": resident_id(REGION), "employer": "某\x07公司", "insured_from": "2024-01-01"}]
    judged = baseline.employees(rows, REGION)
    assert not judged.accepted and judged.rejected[0][2] == "control_character"
