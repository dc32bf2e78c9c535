"""People who owe nothing (资助参保): what an assessed due of 0, and a later rise, does to the enrollment.

The pure decision `domain.funding.decide`, the funded lifecycle steps, and a funded enrollment in the
duplicate-enrollment rule. Seeds: 000 (怀远县, HY) L81-85 (特困 400 元全额资助, 个人缴纳 0 元),
L119-122 (集中缴费期 2024-09-01 … 12-31, 待遇 2025-01-01 起), L211-217 (待遇享受期开始后不退);
003 (双清区, SQ) L49 (儿童福利机构接收儿童自进入之日起享受待遇), L63 (重度残疾人全额资助).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from services.enrollment.domain import duplicates, funding, lifecycle
from services.enrollment.domain.enrollment import Enrollment, Place
from services.enrollment.domain.registration import Decision, Request
from tests.support.people import resident_id

HY, HQ, SQ, YEAR = "340321", "341522", "430502", 2025
PLACE = Place("榴城镇", "城关村")
SPECIAL = ({"category": "extreme_poverty", "certified_on": "2024-10-08", "ended_on": None},)


def due(person: str, *, region: str = HY, due_fen: int = 0, assessed_on: date = date(2024, 11, 5),
        sources: tuple[str, ...] = ("medical_assistance",), state: str = "active", year: int = YEAR) -> funding.Due:
    subsidy = 40000 - due_fen if sources else 0
    return funding.Due(person, region, year, 40000, subsidy, due_fen, state, sources, assessed_on)


def funded(person: str, assessed_on: date = date(2024, 11, 5)) -> Enrollment:
    step = funding.decide(None, due(person, assessed_on=assessed_on), PLACE, SPECIAL)
    assert step.change == "funded" and step.enrollment is not None
    return step.enrollment


def test_a_due_of_0_enrolls_the_person_as_paid_by_the_fund_with_the_collection_periods_cover():
    person = resident_id(HY)
    e = funded(person)
    assert (e.state, e.paid_total_fen, e.funded_by, e.paid_on) == ("paid", 0, "medical_assistance", date(2024, 11, 5))
    assert (e.benefit_start, e.benefit_end, e.policy_path) == (date(2025, 1, 1), date(2025, 12, 31), "collection")
    assert (e.township, e.village, e.hukou_region) == ("榴城镇", "城关村", HY)
    assert e.funded and "全额资助" in e.policy_reasons[0] and "医疗救助资金" in e.policy_reasons[0]


def test_the_fund_pays_on_a_day_of_the_collection_period_as_the_subsidy_judged_the_due():
    person = resident_id(HY)
    # assessed after the period closed (the subsidy judges the unpaid on its last day) or before it opened
    assert funded(person, date(2026, 12, 2)).paid_on == date(2024, 12, 31)
    assert funded(person, date(2024, 8, 20)).paid_on == date(2024, 9, 1)
    assert funded(person, date(2026, 12, 2)).benefit_start == date(2025, 1, 1)  # no waiting period


def test_a_registered_enrollment_is_funded_and_keeps_what_was_registered():
    person = resident_id(HY)
    req = Request(person, HY, YEAR, "general", date(2024, 10, 9), hukou_region=HY)
    row = lifecycle.registered(req, Decision("registered", hukou_region=HY), PLACE, "agent-7")
    step = funding.decide(row, due(person), PLACE, SPECIAL)
    assert step.change == "funded" and step.enrollment is not None
    assert (step.enrollment.state, step.enrollment.registered_by, step.enrollment.registered_on) == (
        "paid", "agent-7", date(2024, 10, 9))


def test_a_welfare_institution_child_is_funded_from_entry_when_registered_after_the_period():
    """SQ L49: 儿童福利机构接收的儿童自进入之日起享受待遇，期外由儿童福利机构全额资助."""
    child = resident_id(SQ, born=date(2018, 5, 1))
    req = Request(child, SQ, YEAR, "welfare_institution_child", date(2025, 3, 10), hukou_region=SQ,
                  event_date=date(2025, 3, 1))
    row = lifecycle.registered(req, Decision("registered", hukou_region=SQ), None, "agency")
    step = funding.decide(row, due(child, region=SQ, sources=("welfare_institution",),
                                   assessed_on=date(2025, 3, 10)), None, ())
    assert step.enrollment is not None
    assert (step.change, step.enrollment.paid_on, step.enrollment.benefit_start, step.enrollment.policy_path) == (
        "funded", date(2025, 3, 10), date(2025, 3, 1), "welfare_institution_child")


def test_only_a_due_the_subsidy_pays_whole_funds_a_cover():
    person = resident_id(HY)
    assert funding.decide(None, due(person, due_fen=6000), PLACE, ()).change == "none"          # 低保: pays 60
    assert funding.decide(None, due(person, sources=()), PLACE, ()).change == "none"            # 0, no line: no cover
    assert funding.decide(None, due(person, state="ended"), PLACE, ()).change == "none"         # echoes an end
    assert not due(person, sources=()).fully_subsidised and due(person).fully_subsidised


def test_a_paid_or_ended_enrollment_is_left_as_it_is_and_a_funded_one_funded_once():
    person = resident_id(HY)
    paid, _ = lifecycle.apply_payment(lifecycle.new(person, HY, YEAR, PLACE), 40000,
                                      datetime(2024, 10, 1, 2, tzinfo=UTC), ())
    assert funding.decide(paid, due(person), PLACE, SPECIAL) == funding.Step("none", paid)
    ended = lifecycle.end(lifecycle.new(person, HY, YEAR, PLACE), "death", date(2024, 10, 2))
    assert funding.decide(ended, due(person), PLACE, SPECIAL) == funding.Step("none", ended)
    e = funded(person)
    assert funding.decide(e, due(person), PLACE, SPECIAL) == funding.Step("none", e)
    assert funding.decide(e, due(person, sources=("finance",)), PLACE, SPECIAL).enrollment.funded_by == "finance"


def test_no_policy_pack_for_the_year_leaves_the_person_unenrolled_with_the_reason():
    person = resident_id(HY)
    assert funding.decide(None, due(person, year=2031), PLACE, SPECIAL) == funding.Step("unfundable", None)


def test_a_due_that_rises_before_the_benefit_start_withdraws_the_free_cover():
    person = resident_id(HY)
    step = funding.decide(funded(person), due(person, due_fen=40000, sources=(), assessed_on=date(2024, 12, 1)),
                          PLACE, ())
    e = step.enrollment
    assert step.change == "withdrawn" and e is not None
    assert (e.state, e.funded_by, e.paid_on, e.benefit_start, e.benefit_end) == ("registered", None, None, None, None)
    assert "应缴400元" in e.policy_reasons[0] and "撤销资助参保" in e.policy_reasons[0]
    assert funding.decide(e, due(person, due_fen=40000, sources=()), PLACE, ()).change == "none"


def test_a_due_that_rises_once_the_benefit_period_runs_keeps_the_cover_and_says_so_once():
    """HY L211-217: 待遇享受期开始后 … 不再退回; nothing is undone once benefits run."""
    person = resident_id(HY)
    covered = lifecycle.cover(funded(person), date(2025, 1, 1))
    risen = due(person, due_fen=40000, sources=(), assessed_on=date(2025, 2, 1))
    step = funding.decide(covered, risen, PLACE, ())
    e = step.enrollment
    assert step.change == "kept" and e is not None
    assert (e.state, e.funded_by, e.benefit_start) == ("covered", "medical_assistance", date(2025, 1, 1))
    assert "待遇享受期已于2025-01-01开始" in e.policy_reasons[0]
    assert funding.decide(e, risen, PLACE, ()).enrollment == e  # told again: noted once


def test_money_on_a_funded_cover_never_takes_the_cover_away():
    person = resident_id(HY)
    e, paid_now = lifecycle.apply_payment(funded(person), 40000, datetime(2024, 11, 6, 2, tzinfo=UTC), ())
    assert not paid_now and (e.state, e.paid_total_fen, e.funded_by) == ("paid", 40000, "medical_assistance")
    e, _ = lifecycle.apply_payment(e, -40000, datetime(2024, 11, 7, 2, tzinfo=UTC), ())
    assert (e.state, e.paid_total_fen, e.benefit_start) == ("paid", 0, date(2025, 1, 1))


def test_a_funded_enrollment_counts_in_the_duplicate_rule_like_a_paid_one():
    """The person paid 400 in 霍邱县 and is 特困 in 怀远县, where the register lists them: residence keeps 怀远县."""
    person = resident_id(HY)
    other, _ = lifecycle.apply_payment(lifecycle.new(person, HQ, YEAR, None), 40000,
                                       datetime(2024, 10, 20, 2, tzinfo=UTC), ())
    mine = funded(person, date(2026, 12, 2))
    rows = {other.key: other, mine.key: mine}
    [found] = duplicates.find(rows, {mine.key}, {}, {person: {HY}})
    assert (found.resolution.kept, found.resolution.dropped, found.resolution.rule, found.resolution.arose_on) == (
        HY, HQ, "residence", date(2024, 12, 31))
    assert duplicates.DuplicateCase.of(found, case_id=UUID(int=1), refund_id=None).refund_id is None
