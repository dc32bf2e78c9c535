"""Refund decisions by the policy, and the payment lifecycle of one enrollment row."""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.enrollment.domain import lifecycle
from services.enrollment.domain.enrollment import Enrollment, Place
from services.enrollment.domain.refunds import PaidEnrollment, decide
from tests.support.people import resident_id

HY = "340321"


def enrollment(**kw) -> PaidEnrollment:
    return PaidEnrollment(**{"person_id": resident_id(HY), "region": HY, "year": 2025, "kind": "general",
                             "paid_on": date(2024, 10, 15), "paid_total_fen": 40000, "hukou_region": HY, **kw})


def test_a_refund_before_the_benefit_start_is_approved_for_what_was_paid():
    outcome = decide(enrollment(), "death", date(2024, 12, 31))
    assert (outcome.approved, outcome.amount_fen) == (True, 40000)


def test_a_refund_from_the_benefit_start_on_is_refused_with_the_reason():
    outcome = decide(enrollment(), "other_region", date(2025, 1, 1))
    assert (outcome.approved, outcome.amount_fen) == (False, 0)
    assert "2025-01-01开始" in outcome.explanation and "不再退回" in outcome.explanation


def test_the_refund_never_exceeds_what_was_actually_paid():
    assert decide(enrollment(paid_total_fen=6000), "death", date(2024, 12, 1)).amount_fen == 6000


def test_a_request_dated_before_the_payment_is_refused():
    assert not decide(enrollment(), "death", date(2024, 10, 1)).approved


def row() -> Enrollment:
    return lifecycle.new(resident_id(HY), HY, 2025, Place("榴城镇", "城关村"))


def test_a_payment_makes_the_row_paid_with_the_policy_window_on_chinas_calendar_day():
    # 2024-12-31 17:00 UTC is 2025-01-01 01:00 in China: outside 怀远县's collection period
    r, paid_now = lifecycle.apply_payment(row(), 40000, datetime(2024, 12, 31, 17, tzinfo=UTC), ())
    assert paid_now
    assert (r.state, r.paid_on, r.policy_path) == ("paid", date(2025, 1, 1), "outside_period")
    assert r.waiting_months == 3


def test_a_reversal_back_to_zero_returns_the_row_to_registered_and_an_ended_row_stays_ended():
    r, _ = lifecycle.apply_payment(row(), 40000, datetime(2024, 10, 1, tzinfo=UTC), ())
    r, paid_now = lifecycle.apply_payment(r, -40000, datetime(2024, 10, 2, tzinfo=UTC), ())
    assert not paid_now
    assert (r.state, r.benefit_start) == ("registered", None)
    r = lifecycle.end(r, "death", date(2024, 10, 3))
    r, paid_now = lifecycle.apply_payment(r, 40000, datetime(2024, 10, 4, tzinfo=UTC), ())
    assert not paid_now
    assert (r.state, r.paid_total_fen) == ("ended", 40000)


def test_covered_only_once_the_window_has_begun():
    r, _ = lifecycle.apply_payment(row(), 40000, datetime(2024, 10, 1, tzinfo=UTC), ())
    assert not lifecycle.coverable(r, date(2024, 12, 31))
    assert lifecycle.coverable(r, date(2025, 1, 1))
    assert lifecycle.cover(r, date(2025, 1, 1)).state == "covered"


def test_a_step_leaves_the_enrollment_it_was_given_as_it_was():
    before = row()
    after, _ = lifecycle.apply_payment(before, 40000, datetime(2024, 10, 1, tzinfo=UTC), ())
    assert (before.state, before.paid_total_fen, after.state) == ("registered", 0, "paid")
    assert (before.township, before.hukou_region) == ("榴城镇", HY)
