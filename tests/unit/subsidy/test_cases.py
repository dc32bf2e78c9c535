"""The pure decision per person and year, against the real policy packs (pure library, no fakes)."""
from __future__ import annotations

from datetime import date

import pytest

from services.subsidy.domain.cases import REFUND_AFTER_SUBSIDY, Case, Enrollment, decide
from shared.policy import PolicyError
from tests.support.people import resident_id

HY, SQ, AK = "340321", "430502", "610900"
TODAY = date(2026, 11, 22)  # long after the 2025 collection periods: unpaid people are assessed on the last day


def status(category: str, certified_on: date, ended_on: date | None = None) -> dict:
    return {"category": category, "certified_on": certified_on, "ended_on": ended_on}


def case(region: str, *statuses: dict, paid_fen: int = 0, paid_on: date | None = None, **extra) -> Case:
    return Case(person_id=resident_id(region), year=2025, region=region, township="某镇", statuses=statuses,
                paid_fen=paid_fen, first_paid_on=paid_on, **extra)


def reasons(decision) -> str:
    return "\n".join(decision.due.reasons)


def test_not_yet_paid_a_status_gives_a_new_due():
    assert decide(case(HY), TODAY).due.due_fen == 40000
    assert decide(case(HY, status("minimum_living", date(2024, 10, 8))), TODAY).due.due_fen == 6000


def test_ankang_already_paid_a_later_status_changes_nothing_and_refunds_nothing():
    paid = case(AK, status("minimum_living", date(2024, 11, 1)), paid_fen=40000, paid_on=date(2024, 10, 15))
    decision = decide(paid, TODAY)
    assert (decision.due.due_fen, decision.due.subsidy_fen, decision.refunds) == (40000, 0, ())
    assert "已缴费用不退、资助不调整" in reasons(decision)
    unpaid = decide(case(AK, status("minimum_living", date(2024, 11, 1))), TODAY)
    assert unpaid.due.due_fen == 20000


def test_shuangqing_certified_inside_the_collection_period_gets_this_years_subsidy():
    decision = decide(case(SQ, status("minimum_living", date(2024, 11, 20))), TODAY)
    assert (decision.due.due_fen, decision.due.subsidy_fen) == (20000, 20000)


def test_shuangqing_certified_outside_the_collection_period_waits_for_next_year():
    decision = decide(case(SQ, status("minimum_living", date(2025, 1, 10))), TODAY)
    assert (decision.due.due_fen, decision.due.subsidy_fen, decision.refunds) == (40000, 0, ())
    assert "纳入下一年度资助范围" in reasons(decision)


def test_shuangqing_paid_in_full_then_certified_in_the_period_is_refunded_the_subsidy():
    decision = decide(case(SQ, status("minimum_living", date(2024, 11, 20)), paid_fen=40000,
                           paid_on=date(2024, 10, 15)), TODAY)
    assert [(r.amount_fen, r.reason, r.funding_source) for r in decision.refunds] == [
        (20000, REFUND_AFTER_SUBSIDY, "medical_assistance")]


def test_huaiyuan_pay_first_refund_later_once_the_receipt_is_in():
    veteran = status("entitled_veteran", date(2024, 9, 20))
    unpaid = decide(case(HY, veteran), TODAY)
    assert (unpaid.due.due_fen, unpaid.due.refund_after_fen, unpaid.refunds) == (40000, 40000, ())
    paid = decide(case(HY, veteran, paid_fen=40000, paid_on=date(2024, 10, 15)), TODAY)
    assert [(r.amount_fen, r.funding_source) for r in paid.refunds] == [(40000, "finance")]
    assert "本次下退费单400元" in reasons(paid)


def test_a_refund_is_ordered_once_and_not_before_the_due_is_paid():
    veteran = status("entitled_veteran", date(2024, 9, 20))
    part = decide(case(HY, veteran, paid_fen=20000, paid_on=date(2024, 10, 15)), TODAY)
    assert part.refunds == ()
    again = decide(case(HY, veteran, paid_fen=40000, paid_on=date(2024, 10, 15),
                        ordered_fen={REFUND_AFTER_SUBSIDY: 40000}), TODAY)
    assert again.refunds == ()


def test_an_ended_enrollment_stops_collection():
    ended = Enrollment("general", "ended", date(2024, 11, 30), "death")
    decision = decide(case(HY, status("minimum_living", date(2024, 10, 8)), enrollment=ended), TODAY)
    assert (decision.state, decision.due.due_fen, decision.due.lines, decision.refunds) == ("ended", 0, (), ())
    assert "死亡" in reasons(decision)


def test_a_region_without_a_pack_is_an_error_with_a_reason():
    with pytest.raises(PolicyError, match="没有110101的政策包"):
        decide(case("110101"), TODAY)
