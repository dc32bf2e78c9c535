"""The priority rule for duplicate enrollment: employee > university student > residence > earlier payment."""
from __future__ import annotations

from datetime import date

from services.enrollment.domain.duplicates import Paid, against_employee, between_regions
from services.enrollment.domain.registration import EmployeeCover

HY, SQ = "340321", "430502"
YEAR_START, YEAR_END = date(2025, 1, 1), date(2025, 12, 31)


def paid(region: str, paid_on: date, kind: str = "general", start: date = YEAR_START) -> Paid:
    return Paid(region, kind, paid_on, start, YEAR_END)


def test_employee_insurance_overlapping_wins_and_the_duplicate_arises_when_it_starts():
    r = against_employee(paid(HY, date(2024, 10, 1)), EmployeeCover(HY, date(2025, 3, 1), None))
    assert (r.kept, r.dropped, r.rule, r.refund_reason, r.arose_on) == (
        "employee_insurance", HY, "employee_first", "employee_insurance", date(2025, 3, 1))


def test_employee_insurance_that_ended_before_the_benefit_period_is_no_duplicate():
    assert against_employee(paid(HY, date(2024, 10, 1)), EmployeeCover(HY, date(2020, 1, 1), date(2024, 11, 30))) is None


def test_a_university_student_enrollment_beats_the_place_of_residence():
    r = between_regions(paid(HY, date(2024, 10, 1)), paid(SQ, date(2024, 11, 1), "university_student"), residence=HY)
    assert (r.kept, r.dropped, r.rule) == (SQ, HY, "university_student")


def test_the_place_of_residence_wins_between_two_general_enrollments():
    r = between_regions(paid(HY, date(2024, 10, 1)), paid(SQ, date(2024, 11, 1)), residence=SQ)
    assert (r.kept, r.dropped, r.rule, r.arose_on) == (SQ, HY, "residence", date(2024, 11, 1))


def test_with_nothing_to_tell_them_apart_the_earlier_payment_is_kept():
    r = between_regions(paid(SQ, date(2024, 11, 1)), paid(HY, date(2024, 10, 1)), residence=None)
    assert (r.kept, r.dropped, r.rule) == (HY, SQ, "earlier_payment")
    tie = between_regions(paid(SQ, date(2024, 11, 1)), paid(HY, date(2024, 11, 1)), residence=None)
    assert tie.kept == SQ  # same day: the one recorded first stays


def test_no_overlap_or_same_region_is_no_duplicate():
    late = paid(SQ, date(2025, 6, 1), start=date(2025, 6, 2))
    early = Paid(HY, "general", date(2024, 10, 1), YEAR_START, date(2025, 6, 1))
    assert between_regions(early, late, residence=None) is None
    assert between_regions(paid(HY, date(2024, 10, 1)), paid(HY, date(2024, 11, 1)), residence=None) is None
