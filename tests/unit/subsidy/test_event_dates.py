"""Event dates in the subsidy decision, pure, against the real 双清区 pack (shared/policy/packs/430502-2025.yaml).

Issue 13 point 4: enrollment.registered carries the kind's event date and the registration day;
the due of a registration whose event came after the collection period (2024-09-01 … 2024-12-31,
seed 003 L43) is judged from the event on, on the kind's own path, instead of on the period's last
day (where the lapse looked like a collection-period payment, and a birth after it was unassessable).
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.subsidy import usecases
from services.subsidy.domain.cases import Case, Enrollment, decide
from services.subsidy.domain.dues import assessment_date
from services.subsidy.store import Facts
from shared.policy import PolicyError
from tests.support.people import resident_id

SQ = "430502"
TODAY = date(2026, 11, 22)  # long after the 2025 collection period
LOW = {"category": "minimum_living", "certified_on": date(2024, 10, 8), "ended_on": None}


def registered(kind: str, event: date | None, on: date) -> Enrollment:
    return Enrollment(kind, "registered", event_date=event, registered_on=on)


def case(enrollment: Enrollment | None, *statuses: dict[str, Any], born: date = date(1980, 1, 1),
         paid_on: date | None = None) -> Case:
    return Case(person_id=resident_id(SQ, born=born), year=2025, region=SQ, township="渡头桥镇", statuses=statuses,
                enrollment=enrollment, paid_fen=40000 if paid_on else 0, first_paid_on=paid_on)


def benefit(decision) -> str:
    [text] = [r for r in decision.due.reasons if r.startswith("待遇享受期：")]
    return text.split("（")[0]


def test_the_assessment_date_is_the_period_day_unless_the_event_comes_later():
    assert assessment_date(SQ, 2025, TODAY) == date(2024, 12, 31)
    assert assessment_date(SQ, 2025, date(2024, 8, 1)) == date(2024, 9, 1)
    assert assessment_date(SQ, 2025, TODAY, not_before=date(2024, 10, 1), registered_on=date(2024, 10, 3)) == date(
        2024, 12, 31)
    assert assessment_date(SQ, 2025, TODAY, not_before=date(2025, 2, 10), registered_on=date(2025, 3, 5)) == date(
        2025, 3, 5)
    assert assessment_date(SQ, 2025, TODAY, not_before=date(2025, 2, 10)) == date(2025, 2, 10)


def test_an_employee_lapse_after_the_period_is_judged_on_its_own_path_with_the_subsidy():
    """Seed 003 L51: within 90 days of the lapse, the individual rate, cover from the lapse; L61/L77: the 低保
    subsidy of 200 certified in the period counts (pack default: the special cases keep their subsidy)."""
    d = decide(case(registered("employee_lapse", date(2025, 2, 10), date(2025, 3, 5)), LOW), TODAY)
    assert (d.due.standard_fen, d.due.subsidy_fen, d.due.due_fen) == (40000, 20000, 20000)
    assert benefit(d) == "待遇享受期：2025-02-10 至 2025-12-31"
    assert any("劳动关系终止导致职工医保断保" in r for r in d.due.reasons)


def test_an_employee_lapse_registered_after_90_days_pays_as_late_as_enrollment_said():
    """Seed 003 L45: outside the period and not a special case: 400 + 670, no subsidy, with a waiting period."""
    d = decide(case(registered("employee_lapse", date(2025, 2, 10), date(2025, 6, 5)), LOW), TODAY)
    assert (d.due.subsidy_fen, d.due.due_fen) == (0, 107000)


def test_a_welfare_institution_child_after_the_period_is_funded_by_the_institution_from_entry():
    """Seed 003 L49: covered from entry; outside the period the institution pays the whole contribution."""
    d = decide(case(registered("welfare_institution_child", date(2025, 3, 1), date(2025, 3, 3)),
                    born=date(2018, 6, 1)), TODAY)
    assert (d.due.subsidy_fen, d.due.due_fen) == (40000, 0)
    assert [(source, amount) for _, amount, source, _ in d.due.lines] == [("welfare_institution", 40000)]
    assert benefit(d) == "待遇享受期：2025-03-01 至 2025-12-31"


def test_an_event_inside_the_period_keeps_the_collection_period_due():
    """Seed 003 L49: inside the period the child's share follows its certified status, like everyone's."""
    d = decide(case(registered("welfare_institution_child", date(2024, 10, 1), date(2024, 10, 3)), LOW,
                    born=date(2018, 6, 1)), TODAY)
    assert (d.due.due_fen, benefit(d)) == (20000, "待遇享受期：2025-01-01 至 2025-12-31")


def test_a_newborn_registered_after_the_period_is_judged_from_birth_a_status_alone_stays_unassessable():
    """Seed 003 L47: within 90 days of birth, covered from birth. A baby known only by a status (nothing
    registered) is not given a late general due: the rules say why they cannot judge."""
    born = date(2025, 3, 1)
    d = decide(case(registered("newborn", None, date(2025, 3, 20)), born=born), TODAY)
    assert (d.due.due_fen, benefit(d)) == (40000, "待遇享受期：2025-03-01 至 2025-12-31")
    with pytest.raises(PolicyError, match="出生日期"):
        decide(case(None, {**LOW, "certified_on": date(2025, 3, 10)}, born=born), TODAY)


def test_a_payment_before_the_event_is_judged_without_it_and_after_it_on_the_path():
    lapse = registered("employee_lapse", date(2025, 2, 10), date(2025, 3, 5))
    before = decide(case(lapse, paid_on=date(2024, 11, 1)), TODAY)
    after = decide(case(lapse, paid_on=date(2025, 3, 6)), TODAY)
    assert benefit(before) == "待遇享受期：2025-01-01 至 2025-12-31"
    assert (after.due.due_fen, benefit(after)) == (40000, "待遇享受期：2025-02-10 至 2025-12-31")


def test_an_ending_keeps_nothing_to_collect_whatever_the_event():
    ended = Enrollment("employee_lapse", "ended", date(2025, 3, 10), "death", date(2025, 2, 10), date(2025, 3, 5))
    assert (decide(case(ended), TODAY).state, decide(case(ended), TODAY).due.due_fen) == ("ended", 0)


def test_the_stored_event_date_and_registration_day_reach_the_case():
    person = resident_id(SQ)
    row = {"person_id": person, "year": 2025, "region": SQ, "township": "渡头桥镇", "kind": "employee_lapse",
           "state": "registered", "ended_on": None, "end_reason": None, "event_date": date(2025, 2, 10),
           "registered_on": date(2025, 3, 5)}
    built = usecases.build_case((person, 2025), Facts(person={}, enrollment={(person, 2025): row}, payment={},
                                                      ordered={}, due={}), None)
    assert built is not None and built.enrollment == registered("employee_lapse", date(2025, 2, 10), date(2025, 3, 5))
