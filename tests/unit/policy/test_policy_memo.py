"""`assess_cached` (shared/policy/memo.py) answers exactly as `assess` does, for every generated person.

The memo keys on the facts the engine reads; these tests hold it to the engine on the differential
check's population (every kind, status, event, history, day) and on the cases where the person's own
birth date decides: a newborn's window, and dates the engine must refuse for one person and not another.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from shared.policy import PolicyError, assess, assess_cached, memo, parse_scenario
from tests.support.people import resident_id
from tests.support.population import generate


def engine(data: dict[str, Any]) -> Any:
    try:
        return assess(parse_scenario(data))
    except PolicyError as err:
        return ("error", err.field, err.message)


def cached(data: dict[str, Any]) -> Any:
    try:
        return assess_cached(data)
    except PolicyError as err:
        return ("error", err.field, err.message)


def question(r: Any, day: date) -> dict[str, Any]:
    data: dict[str, Any] = {
        "region": r.region, "year": 2025, "kind": r.kind, "payment_date": day.isoformat(),
        "person": {"id": r.id, "hukou_region": r.hukou_region, "residence_region": r.residence_region},
        "statuses": [{"category": s.category, "certified_on": s.certified_on.isoformat(),
                      "ended_on": s.ended_on.isoformat() if s.ended_on else None} for s in r.statuses],
        "enrolled_years": list(r.enrolled_years), "paid_back_years": list(r.paid_back_years),
        "zero_reimbursement_years": list(r.zero_reimbursement_years),
    }
    if r.event_date is not None:
        data["event_date"] = r.event_date.isoformat()
    return data


def test_every_generated_person_gets_the_engines_answer_on_every_day_asked() -> None:
    memo._answers.clear()
    people = generate(7, 600, history=True)
    days = [date(2024, 10, 8), date(2024, 12, 31), date(2025, 2, 10), date(2025, 5, 20), date(2025, 9, 1)]
    for r in people:
        for day in days:
            data = question(r, day)
            assert cached(data) == engine(data), (r.index, day)


def test_residents_who_share_the_facts_share_one_answer() -> None:
    """The point of the memo: 1,000 general residents of a region paying on 5 days are 5 questions."""
    memo._answers.clear()
    for n in range(1000):
        person = resident_id("340321", born=date(1950, 1, 1) + timedelta(days=n * 17))
        for day in ("2024-10-08", "2024-11-11", "2024-12-31", "2025-02-10", "2025-05-20"):
            cached({"region": "340321", "year": 2025, "payment_date": day,
                    "person": {"id": person, "hukou_region": "340321"}})
    assert len(memo._answers) == 5


def test_a_newborns_window_is_his_own_birth_not_a_neighbours() -> None:
    memo._answers.clear()
    early, late = resident_id("610900", born=date(2025, 3, 1)), resident_id("610900", born=date(2024, 12, 1))
    base = {"region": "610900", "year": 2025, "kind": "newborn", "payment_date": "2025-05-01"}
    assert cached({**base, "person": {"id": early}}).allowed
    assert not cached({**base, "person": {"id": late}}).allowed


@pytest.mark.parametrize("field", ["payment_date", "event_date", "enrolled_years"])
def test_a_date_before_the_persons_birth_is_refused_for_him_though_an_older_person_shares_the_rest(field: str) -> None:
    memo._answers.clear()
    older, younger = resident_id("430502", born=date(1970, 1, 1)), resident_id("430502", born=date(2010, 6, 1))
    base: dict[str, Any] = {"region": "430502", "year": 2025, "kind": "employee_lapse", "payment_date": "2025-03-06",
                            "event_date": "2025-02-10"}
    early = {"payment_date": "2005-01-01", "event_date": "2005-01-01",
             "enrolled_years": [2005]}[field]
    if field == "payment_date":
        base["event_date"] = None
    base[field] = early
    assert cached({**base, "person": {"id": older}}) == engine({**base, "person": {"id": older}})
    refused = cached({**base, "person": {"id": younger}})
    assert refused == engine({**base, "person": {"id": younger}}) and refused[0] == "error"


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    memo._answers.clear()
    monkeypatch.setattr(memo, "MAX_ANSWERS", 10)
    person = resident_id("340321")
    for n in range(25):
        cached({"region": "340321", "year": 2025, "payment_date": (date(2024, 9, 1) + timedelta(days=n)).isoformat(),
                "person": {"id": person}})
    assert len(memo._answers) <= 10
