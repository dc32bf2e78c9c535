"""The differential check's oracle and generator, without servers (tests/support/differential.py, population.py).

The system test (tests/system/test_differential.py) trusts `expect` to say what the engine answers for a
person's facts; these pin it on hand-made people whose answers the seeds give, and show that the generator is
seeded and the comparison can fail.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from shared.policy.dates import REGION_TIME
from shared.resident_id import check_character, parse_resident_id
from tests.support import differential
from tests.support.differential import PENDING_NAMES, Selection, expect, observed, pending_groups
from tests.support.population import Certified, Resident, generate

HY, SQ, AK = "340321", "430502", "610900"
TODAY = date(2026, 12, 2)   # after the season, as the drive runs


def person(region: str, *, kind: str = "general", born: date = date(1970, 5, 6), paid: str | None = None,
           registered: str | None = None, event: str | None = None,
           statuses: tuple[Certified, ...] = (), enrolled: tuple[int, ...] = ()) -> Resident:
    """A resident of `region`'s register; `paid`: the local moment (ISO, Asia/Shanghai) of the payment."""
    first17 = f"{region}{born:%Y%m%d}123"
    at = datetime.fromisoformat(paid).replace(tzinfo=REGION_TIME) if paid else None
    return Resident(0, first17 + check_character(first17), region, "镇", "村", True, None, None, kind,
                    date.fromisoformat(event) if event else None, None, statuses,
                    date.fromisoformat(registered) if registered else None, at, enrolled)


def status(category: str, certified: str, ended: str | None = None, department: str = "civil_affairs") -> Certified:
    return Certified(category, department, date.fromisoformat(certified), date.fromisoformat(ended) if ended else None)


def test_a_general_resident_paying_in_the_collection_period_is_covered_for_the_year() -> None:
    """怀远: 400 in the period (seed 000 L75-79), cover 2025-01-01 … 2025-12-31 (L119-122)."""
    got = expect(person(HY, paid="2024-10-15T10:00"), TODAY)
    assert (got["state"], got["due_fen"], got["paid_total_fen"], got["benefit_start"], got["benefit_end"],
            got["waiting_months"], got["path"], got["funded_by"]) == (
        "covered", 40000, 40000, date(2025, 1, 1), date(2025, 12, 31), 0, "collection", None)


def test_a_payment_just_past_local_midnight_is_judged_on_the_local_day() -> None:
    """00:10 on 1 January in Beijing is 31 December in UTC: outside 怀远's period (pack paths.outside_period),
    cover from the day after payment plus 3 months."""
    got = expect(person(HY, paid="2025-01-01T00:10"), TODAY)
    assert (got["path"], got["benefit_start"], got["waiting_months"]) == ("outside_period", date(2025, 4, 2), 3)


def test_shuangqing_outside_the_period_charges_400_plus_670_and_waits_90_days() -> None:
    """双清 seed 003 L45, L81."""
    got = expect(person(SQ, paid="2025-03-01T09:00"), TODAY)
    assert (got["due_fen"], got["paid_total_fen"], got["waiting_days"], got["benefit_start"]) == (
        107000, 107000, 90, date(2025, 5, 30))


def test_someone_fully_subsidised_who_never_pays_is_covered_by_the_fund() -> None:
    """特困 in 怀远: 400 paid by medical assistance (seed 000 L81-85), no receipt."""
    got = expect(person(HY, statuses=(status("extreme_poverty", "2024-03-01"),)), TODAY)
    assert (got["state"], got["due_fen"], got["paid_total_fen"], got["funded_by"], got["benefit_start"]) == (
        "covered", 0, 0, "medical_assistance", date(2025, 1, 1))


def test_a_status_certified_after_the_payment_is_refunded_afterwards() -> None:
    """怀远 低保 certified after the person paid 400 in the period: 340 refunded later (pack status_rules)."""
    got = expect(person(HY, paid="2024-10-05T10:00", statuses=(status("minimum_living", "2024-11-20"),)), TODAY)
    assert (got["due_fen"], got["refund_after_fen"], got["lines"]) == (
        40000, 34000, "minimum_living:34000:medical_assistance:refund_after")


def test_a_registration_before_the_window_opens_is_refused_with_the_engine_s_reason() -> None:
    got = expect(person(HY, registered="2024-08-20"), TODAY)
    assert (got["state"], got["refused"], got["due_fen"]) == ("refused", "not_open", None)


def test_a_lapse_registered_after_the_period_is_judged_on_its_own_path() -> None:
    """双清 employee-insurance lapse within 90 days (seed 003 L51): 400, cover from the lapse."""
    got = expect(person(SQ, kind="employee_lapse", event="2025-02-10", registered="2025-03-05",
                        paid="2025-03-06T10:00"), TODAY)
    assert (got["path"], got["due_fen"], got["benefit_start"]) == ("employee_lapse_90_days", 40000, date(2025, 2, 10))


def test_history_reaches_the_engine_only_with_an_accepted_registration() -> None:
    """A gap of two years before 2025 (安康 L108): 3 + 1 months; unregistered, nobody told the system of it."""
    gap = person(AK, registered="2025-02-05", paid="2025-02-10T10:00", enrolled=(2021, 2022))
    assert expect(gap, TODAY)["waiting_months"] == 4
    assert expect(person(AK, paid="2025-02-10T10:00", enrolled=(2021, 2022)), TODAY)["waiting_months"] == 3


def test_no_group_is_pending_and_an_unknown_group_is_refused() -> None:
    assert pending_groups(person(SQ, paid="2025-03-01T09:00")) == []      # every fact group is compared
    assert Selection.of(["all"]).pending == frozenset(PENDING_NAMES) == frozenset()
    with pytest.raises(ValueError):
        Selection.of(["no_such_group"])


def test_the_generator_is_seeded_and_its_ids_are_valid() -> None:
    people = generate(7, 300, history=True)
    assert people == generate(7, 300, history=True) and people != generate(8, 300, history=True)
    assert len({r.id for r in people}) == 300
    for r in people:
        assert parse_resident_id(r.id).birth_date == r.birth_date
        for s in r.statuses:
            assert s.ended_on is None or s.ended_on >= s.certified_on
        assert set(r.paid_back_years).isdisjoint(r.enrolled_years)
    kept = Selection.of().people(7, 300)
    assert all(not pending_groups(r) for r in kept)


def test_the_comparison_finds_a_corrupted_value_and_nothing_else() -> None:
    people = generate(11, 60, history=True)
    expected = {r.index: expect(r, TODAY) for r in people}
    assert differential.compare(people, expected, expected) == []
    wrong = differential.compare(people, expected, differential.corrupt(expected, people[5].index))
    assert [(d.index, d.field) for d in wrong] == [(people[5].index, "due_fen")]
    assert observed(None) == {**observed(None), "state": "none", "due_fen": None}
