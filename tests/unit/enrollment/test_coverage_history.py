"""A person's history of cover as the rules read it for one coverage year (domain.history), and what it does to
a payment's waiting period and critical-illness cap through the lifecycle (seed 004 L106-108)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.enrollment.domain import lifecycle
from services.enrollment.domain.enrollment import Enrollment
from services.enrollment.domain.history import History, Year, declared, history_for
from tests.support.people import resident_id

AK = "610900"


def test_only_years_before_the_coverage_year_and_after_birth_count():
    h = history_for(2025, [Year(2019, covered=True), Year(2025, covered=True), Year(2010, covered=True)],
                    paid_years=[2024, 2026], born_in=2015)
    assert h.enrolled_years == frozenset({2019, 2024})


def test_a_paid_back_year_that_was_covered_is_covered_and_zero_reimbursement_needs_cover():
    h = history_for(2025, [Year(2022, covered=True), Year(2022, paid_back=True), Year(2023, paid_back=True),
                           Year(2021, zero_reimbursement=True)])
    assert (h.enrolled_years, h.paid_back_years, h.zero_reimbursement_years) == (
        frozenset({2022}), frozenset({2023}), frozenset())


def test_a_registration_declares_covered_years_and_those_with_nothing_reimbursed():
    assert declared([2021, 2022], [2022]) == [Year(2021, True, False), Year(2022, True, True)]


def _paid(history: History) -> Enrollment:
    person = resident_id(AK, born=date(1980, 1, 1))
    row = Enrollment(person, AK, 2025).with_history(history)
    paid, _ = lifecycle.apply_payment(row, 40000, datetime(2025, 2, 10, 2, tzinfo=UTC), ())  # 补缴期, seed 004 L62
    return paid


def test_a_gap_lengthens_the_wait_paying_back_repairs_it_and_the_cap_is_cut_after_a_lapse():
    # seed 004 L68: 补缴期内缴费设置固定待遇等待期3个月; L108: 每多断保1年 +1个月, 每多缴纳1年 −1个月; L106: 断保 −3000元
    lapsed = _paid(History(enrolled_years=frozenset({2021, 2022})))      # gap 2023-2024
    assert (lapsed.waiting_months, lapsed.benefit_start, lapsed.cap_adjustment_fen) == (4, date(2025, 6, 10), -300000)
    repaired = _paid(History(enrolled_years=frozenset({2021, 2022}), paid_back_years=frozenset({2023})))
    assert (repaired.waiting_months, repaired.benefit_start) == (3, date(2025, 5, 10))


def test_four_gap_years_or_more_keep_at_least_six_months_after_repair():
    long_gap = History(enrolled_years=frozenset({2017, 2018}), paid_back_years=frozenset({2019, 2020, 2021, 2022}))
    assert _paid(long_gap).waiting_months == 6  # seed 004 L108: 连续断缴4年及以上…不少于6个月


def test_a_paid_enrollment_not_yet_covered_is_judged_again_when_a_year_is_paid_back():
    lapsed = _paid(History(enrolled_years=frozenset({2021, 2022})))
    again = lifecycle.repaired(lapsed, (), History(enrolled_years=frozenset({2021, 2022}), paid_back_years=frozenset({2023})))
    assert (again.waiting_months, again.benefit_start, again.paid_back_years) == (3, date(2025, 5, 10), (2023,))
    covered = lifecycle.cover(lapsed, date(2025, 6, 10))
    assert lifecycle.repaired(covered, (), History(paid_back_years=frozenset({2023}))).benefit_start == date(2025, 6, 10)


def test_the_paid_event_built_without_validation_reads_back_as_the_same_validated_event():
    from datetime import datetime as dt

    from services.enrollment import events
    from shared.messages import EnrollmentPaid, ReceiptAccepted
    from tests.support.people import receipt
    e = _paid(History(enrolled_years=frozenset({2021, 2022})))
    accepted = ReceiptAccepted.model_validate({k: v for k, v in receipt(e.person_id, 40000, region=AK).items()})
    out = events.paid(e, accepted, dt(2025, 2, 10, 2, tzinfo=UTC))
    assert isinstance(out.message, EnrollmentPaid)
    again = EnrollmentPaid.model_validate_json(out.message.model_dump_json())
    assert again.model_dump() == out.message.model_dump()
    assert (again.waiting_months, again.critical_illness_cap_adjustment_fen) == (4, -300000)
