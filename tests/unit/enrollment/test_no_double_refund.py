"""No double refund (issue 13, point 6): a personal refund for death, duplicate payment or employee cover nets
the 先缴后补 refunds the subsidy service ordered, and an order arriving after it keeps only what the person still
bore (services/enrollment/domain/netting.py). Seed 000 L111-115 (先缴后补: pay 400, the township refunds the
subsidised part), L211-219 (before the benefit start the personal payment comes back)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain import netting
from services.enrollment.domain.netting import PersonalRefunds, SubsidyRefund
from services.enrollment.domain.refunds import PaidEnrollment, decide
from tests.support.people import resident_id

HY = "340321"
ORDERED = datetime(2024, 10, 16, 2, tzinfo=UTC)


def paid(**kw) -> PaidEnrollment:
    return PaidEnrollment(**{"person_id": resident_id(HY), "region": HY, "year": 2025, "kind": "general",
                             "paid_on": date(2024, 10, 15), "paid_total_fen": 40000, "hukou_region": HY, **kw})


def order(amount_fen: int, minutes: int = 0) -> SubsidyRefund:
    return SubsidyRefund(id=uuid4(), person_id=resident_id(HY), region=HY, year=2025, reason="refund_after_subsidy",
                         amount_fen=amount_fen, ordered_at=ORDERED + timedelta(minutes=minutes))


def test_a_veteran_refunded_400_by_the_township_gets_no_personal_refund_on_death():
    outcome = decide(paid(subsidy_refunded_fen=40000), "death", date(2024, 12, 1))
    assert (outcome.approved, outcome.amount_fen) == (True, 0)
    assert "乡镇已下达先缴后补退补400元" in outcome.explanation
    assert "本人实际负担0元，个人退费只退0元" in outcome.explanation


def test_an_only_son_family_refunded_half_gets_the_other_half_back():
    outcome = decide(paid(subsidy_refunded_fen=20000), "employee_insurance", date(2024, 12, 1))
    assert (outcome.approved, outcome.amount_fen) == (True, 20000)
    assert "本人实际负担200元，个人退费只退200元" in outcome.explanation


def test_without_a_subsidy_refund_the_explanation_is_the_policys_alone():
    outcome = decide(paid(), "death", date(2024, 12, 1))
    assert (outcome.approved, outcome.amount_fen) == (True, 40000)
    assert "先缴后补退补" not in outcome.explanation


def test_a_refused_refund_returns_nothing_whatever_the_township_ordered():
    outcome = decide(paid(subsidy_refunded_fen=20000), "death", date(2025, 1, 2))
    assert (outcome.approved, outcome.amount_fen) == (False, 0)


def test_the_cap_never_goes_below_zero_nor_above_what_the_policy_allows():
    assert netting.personal_cap(40000, 40000, 50000) == 0
    assert netting.personal_cap(30000, 40000, 0) == 30000
    assert netting.personal_cap(40000, 6000, 0) == 6000


def test_an_order_after_the_personal_refund_returned_everything_is_withheld_in_full_with_why():
    personal = PersonalRefunds(paid_fen=40000, refunded_fen=40000, requested_on=date(2024, 12, 1))
    [late] = netting.arrived_late([order(40000)], 0, personal)
    assert (late.withheld_fen, late.returned_fen) == (40000, 0)
    assert late.note is not None and "2024-12-01申请" in late.note and "不予退补，乡镇不得支付" in late.note


def test_late_orders_keep_what_the_person_still_bore_oldest_first():
    personal = PersonalRefunds(paid_fen=40000, refunded_fen=20000, requested_on=date(2024, 12, 1))
    second, first = order(20000, minutes=5), order(10000)
    kept = netting.arrived_late([second, first], 0, personal)
    assert [(o.id, o.returned_fen, o.withheld_fen) for o in kept] == [(first.id, 10000, 0), (second.id, 10000, 10000)]
    assert kept[0].note is not None and "照常退补" in kept[0].note
    assert kept[1].note is not None and "只退补100元，其余100元不予退补" in kept[1].note


def test_an_order_netted_before_the_personal_refund_leaves_no_room_for_a_second_one():
    personal = PersonalRefunds(paid_fen=40000, refunded_fen=20000, requested_on=date(2024, 12, 1))
    [late] = netting.arrived_late([order(20000, minutes=5)], earlier_fen=20000, personal=personal)
    assert late.withheld_fen == 20000


def test_the_balance_says_paid_returned_and_kept_in_one_sentence():
    b = netting.balance(2025, 40000, 40000, 40000, 40000)
    assert (b.returned_fen, b.kept_fen) == (40000, 0)
    assert b.text == ("2025年度：所缴400元；乡镇先缴后补退补0元（另有400元不予退补，乡镇不得支付）；"
                      "个人退费400元；合计退还400元，本人负担0元")
    assert netting.balance(2025, 6050, 0, 0, 0).text.startswith("2025年度：所缴60.50元")


@given(paid_fen=st.integers(0, 100000), asked=st.integers(0, 100000),
       orders=st.lists(st.tuples(st.integers(0, 100000), st.booleans()), max_size=4))
def test_whatever_arrives_when_nothing_comes_back_beyond_what_was_paid(paid_fen: int, asked: int,
                                                                      orders: list[tuple[int, bool]]) -> None:
    """Each order reaches enrollment before (False) or after (True) the personal refund is decided."""
    before = [order(amount, i) for i, (amount, late) in enumerate(orders) if not late]
    after = [order(amount, i) for i, (amount, late) in enumerate(orders) if late]
    personal = netting.personal_cap(asked, paid_fen, netting.returned(before))
    kept = netting.arrived_late(after, netting.returned(before), PersonalRefunds(paid_fen, personal, date(2024, 12, 1)))
    everything = [*before, *kept]
    b = netting.balance(2025, paid_fen, personal, sum(o.amount_fen for o in everything),
                        sum(o.withheld_fen for o in everything))
    assert b.paid_fen == b.kept_fen + b.returned_fen
    if netting.returned(before) <= paid_fen:  # the subsidy service never orders more than was paid
        assert 0 <= b.kept_fen
    assert all(0 <= o.withheld_fen <= o.amount_fen for o in kept)
