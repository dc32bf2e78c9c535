"""Statuses per person and region in the subsidy decision, pure, against the real packs (issue 13, point 9).

A person listed by 怀远县 (340321) and 霍邱县 (341522) has one status set per county. A person-year's due is
judged on the set of the region whose due it is (services/subsidy/domain/regions.py): 怀远's 低保 is 340 of
the 400 (seed 000 L84-86), 霍邱's 360 (seed 002 L14); neither county's set reaches the other's due.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.subsidy import usecases
from services.subsidy.domain.regions import due_region
from services.subsidy.store import Facts
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

HY, HQ = "340321", "341522"
NOW = datetime(2024, 11, 8, 2, 0, tzinfo=UTC)  # inside both collection periods (seed 000 L119-121)
PERSON = resident_id(HY, seq=911)


def status_set(region: str, *, ended_on: date | None = None, township: str = "榴城镇") -> dict[str, Any]:
    """The region's 低保 of the person: certified 2024-10-08, or 2024-03-01 … `ended_on`."""
    return {"person_id": PERSON, "region": region, "township": township,
            "statuses": [{"category": "minimum_living", "certified_on": "2024-03-01" if ended_on else "2024-10-08",
                          "ended_on": ended_on.isoformat() if ended_on else None}]}


def enrolled(region: str) -> dict[str, Any]:
    return {"region": region, "township": None, "kind": "general", "state": "registered", "ended_on": None,
            "end_reason": None, "event_date": None, "registered_on": date(2024, 11, 5)}


def facts(*sets: dict[str, Any], enrollment: dict[str, Any] | None = None, paid_in: str | None = None,
          due_in: str | None = None) -> Facts:
    """`sets` oldest announced first, as load_facts orders them."""
    key = (PERSON, 2025)
    return Facts(
        person={PERSON: {s["region"]: s for s in sets}} if sets else {},
        enrollment={key: enrollment} if enrollment else {},
        payment={key: {"paid_fen": 40000, "first_paid_at": NOW, "region": paid_in}} if paid_in else {},
        ordered={},
        due={key: {"region": due_in}} if due_in else {},
    )


def test_the_enrollment_decides_then_the_receipt_then_a_listing_region_then_the_event():
    assert due_region(enrolled=HY, paid=HQ, listed=[HQ], assessed=HQ, fallback=HQ) == HY
    assert due_region(enrolled=None, paid=HQ, listed=[HY], assessed=HY, fallback=HY) == HQ
    assert due_region(enrolled=None, paid=None, listed=[HY], assessed=None, fallback=HQ) == HY
    assert due_region(enrolled=None, paid=None, listed=[], assessed=None, fallback=HQ) == HQ
    assert due_region(enrolled=None, paid=None, listed=[], assessed=HY, fallback=None) is None


def test_a_second_county_listing_the_person_does_not_move_their_due():
    # 怀远 listed them first and their due is 怀远's; 霍邱 lists them later: the due stays 怀远's
    assert due_region(enrolled=None, paid=None, listed=[HY, HQ], assessed=HY, fallback=HQ) == HY
    # no due yet: the latest to list them; a due of a region that no longer lists them follows the listing
    assert due_region(enrolled=None, paid=None, listed=[HY, HQ], assessed=None, fallback=None) == HQ
    assert due_region(enrolled=None, paid=None, listed=[HQ], assessed=HY, fallback=None) == HQ


def test_enrolled_in_huaiyuan_whose_status_ended_owes_400_though_huoqiu_still_lists_them():
    known = facts(status_set(HY, ended_on=date(2024, 8, 31)), status_set(HQ, township="城关镇"),
                  enrollment=enrolled(HY))
    case = usecases.build_case((PERSON, 2025), known, None)
    assert case is not None and (case.region, case.township) == (HY, "榴城镇")
    assert [s["ended_on"] for s in case.statuses] == ["2024-08-31"]  # 怀远's set only
    decided = usecases.decide_cases(MemoryUnitOfWork(now=NOW), [(PERSON, 2025)], known, regions={}, source="test")
    [row] = decided.dues
    assert (row.region, row.due.due_fen, row.due.lines) == (HY, 40000, ())


def test_each_countys_due_is_judged_on_its_own_set_at_its_own_rate():
    both = (status_set(HY), status_set(HQ, township="城关镇"))
    huaiyuan = usecases.decide_cases(MemoryUnitOfWork(now=NOW), [(PERSON, 2025)],
                                     facts(*both, enrollment=enrolled(HY)), regions={}, source="test")
    huoqiu = usecases.decide_cases(MemoryUnitOfWork(now=NOW), [(PERSON, 2025)],
                                   facts(*both, enrollment=enrolled(HQ)), regions={}, source="test")
    assert [(r.region, r.due.subsidy_fen, r.due.due_fen) for r in huaiyuan.dues] == [(HY, 34000, 6000)]
    assert [(r.region, r.due.subsidy_fen, r.due.due_fen, r.township) for r in huoqiu.dues] == [
        (HQ, 36000, 4000, "城关镇")]


def test_a_receipt_places_the_due_when_there_is_no_enrollment():
    known = facts(status_set(HY, ended_on=date(2024, 8, 31)), status_set(HQ), paid_in=HY)
    case = usecases.build_case((PERSON, 2025), known, None)
    assert case is not None and case.region == HY and case.statuses[0]["ended_on"] == "2024-08-31"


def test_a_region_without_a_set_of_the_person_judges_them_without_statuses():
    case = usecases.build_case((PERSON, 2025), facts(status_set(HQ), enrollment=enrolled(HY)), None)
    assert case is not None and (case.region, case.statuses, case.township) == (HY, (), None)
