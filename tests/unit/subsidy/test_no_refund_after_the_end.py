"""The other direction of no double refund (issue 13, point 6): once the enrollment has ended, the subsidy
service orders no 先缴后补 refund; the personal refund is enrollment's (seed 000 L111-115, L211-219: 尚未退补的
先缴后补资助不再发放). An order it made before hearing of the end is netted or withheld by enrollment."""
from __future__ import annotations

from datetime import date

from services.subsidy.domain.cases import REFUND_AFTER_SUBSIDY, Case, Enrollment, decide
from tests.support.people import resident_id

HY = "340321"
TODAY = date(2024, 12, 2)
VETERAN = {"category": "entitled_veteran", "certified_on": date(2024, 9, 20), "ended_on": None}


def veteran(enrollment: Enrollment, **kw) -> Case:
    return Case(person_id=resident_id(HY), year=2025, region=HY, township="榴城镇", statuses=(VETERAN,),
                enrollment=enrollment, paid_fen=40000, first_paid_on=date(2024, 10, 15), **kw)


def test_a_veteran_who_paid_400_is_ordered_the_400_back_while_enrolled():
    decision = decide(veteran(Enrollment("general", "registered")), TODAY)
    assert [(r.amount_fen, r.reason) for r in decision.refunds] == [(40000, REFUND_AFTER_SUBSIDY)]


def test_after_the_enrollment_ended_no_refund_after_subsidy_is_ordered():
    ended = Enrollment("general", "ended", date(2024, 12, 1), "death")
    decision = decide(veteran(ended), TODAY)
    assert (decision.state, decision.refunds) == ("ended", ())
    assert "个人缴费是否退还由参保登记按退费规则办理" in "".join(decision.due.reasons)
