"""Registration decisions, pure: the checks before the policy and the policy's own refusals."""
from __future__ import annotations

from datetime import date

from services.enrollment.domain.registration import EmployeeCover, Facts, Request, decide
from tests.support.people import resident_id

HY, SQ = "340321", "430502"


def req(person: str, **kw) -> Request:
    return Request(**{"person_id": person, "region": HY, "year": 2025, "kind": "general",
                      "registered_on": date(2024, 10, 10), **kw})


def test_in_the_household_register_is_enough_evidence_of_place():
    d = decide(req(resident_id(HY)), Facts(in_baseline=True))
    assert (d.outcome, d.hukou_region, d.benefit_start, d.due_fen) == ("registered", HY, date(2025, 1, 1), 40000)


def test_no_evidence_of_place_is_refused():
    assert decide(req(resident_id(HY)), Facts()).reason_code == "place_unknown"


def test_hukou_elsewhere_is_refused_by_the_policy_and_a_residence_permit_here_is_accepted():
    person = resident_id(SQ)
    refused = decide(req(person, hukou_region=SQ), Facts())
    assert refused.reason_code == "place_mismatch" and "户籍地或居住证所在地" in refused.reasons[0]
    assert decide(req(person, hukou_region=SQ, residence_region=HY), Facts()).accepted


def test_employee_insurance_on_the_day_refuses_and_a_lapsed_one_does_not():
    person = resident_id(HY)
    active = EmployeeCover(HY, date(2020, 1, 1), None)
    lapsed = EmployeeCover(HY, date(2020, 1, 1), date(2024, 6, 30))
    assert decide(req(person), Facts(in_baseline=True, employee=(active,))).reason_code == "employee_insured"
    assert decide(req(person), Facts(in_baseline=True, employee=(lapsed,))).accepted


def test_paid_in_another_region_is_refused_registered_there_is_not():
    person = resident_id(HY)
    assert decide(req(person), Facts(in_baseline=True, states={SQ: "paid"})).reason_code == "enrolled_elsewhere"
    assert decide(req(person), Facts(in_baseline=True, states={SQ: "registered"})).accepted
    assert decide(req(person), Facts(in_baseline=True, states={HY: "paid"})).outcome == "already"


def test_students_enrol_at_their_school():
    person = resident_id(SQ, born=date(2005, 1, 1))
    kind = "university_student"
    assert decide(req(person, kind=kind), Facts()).reason_code == "school_unknown"
    assert decide(req(person, kind=kind, school_region=SQ), Facts()).reason_code == "school_place"
    assert decide(req(person, kind=kind, school_region=HY), Facts()).accepted


def test_newborn_within_90_days_from_birth_after_from_the_day_after_payment():
    inside = decide(req(resident_id(HY, born=date(2025, 3, 1)), kind="newborn", registered_on=date(2025, 5, 29)),
                    Facts(in_baseline=True))
    outside = decide(req(resident_id(HY, born=date(2025, 3, 1)), kind="newborn", registered_on=date(2025, 5, 31)),
                     Facts(in_baseline=True))
    assert (inside.path, inside.benefit_start) == ("newborn_90_days", date(2025, 3, 1))
    assert (outside.path, outside.benefit_start) == ("newborn_under_one", date(2025, 6, 1))


def test_a_region_without_a_pack_is_refused_with_the_policy_reason():
    d = decide(req(resident_id("110101"), region="110101", hukou_region="110101"), Facts())
    assert d.reason_code == "policy_error" and "110101" in d.reasons[0]
