"""怀远县 (340321), coverage year 2025: people who pay, from the department's list to the village counter.

Seed 000 (怀远县2025年度城乡居民医保参保缴费工作方案). Each test follows one person through
the running services by their public interfaces and asserts what the seed says of them.
"""
from __future__ import annotations

from datetime import UTC, datetime

from tests.support.chain import Chain, until
from tests.support.people import resident_id

REGION, YEAR = "340321", 2025
TOWNSHIP, VILLAGE = "榴城镇", "城关村"
IN_PERIOD = datetime(2024, 11, 5, 2, 0, tzinfo=UTC)  # 10:00 Beijing, inside 2024-09-01 … 2024-12-31 (L119-121)


def paid(record: dict) -> bool:
    return any(e["year"] == YEAR and e["state"] in ("paid", "covered") for e in record["enrollments"])


def enrollment_of(record: dict) -> dict:
    [found] = [e for e in record["enrollments"] if e["year"] == YEAR]  # the record holds the caller's region only
    return found


async def test_a_minimum_living_allowance_holder_owes_60_pays_it_and_is_covered_for_2025(chain: Chain) -> None:
    """低保对象: 340 of the 400 is subsidised, the person pays 60 (seed 000 L84-86); cover runs over the
    benefit period 2025-01-01 … 2025-12-31 (L121-122); the village counts the payment."""
    person = resident_id(REGION)
    await chain.baseline(REGION, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify("civil_affairs", REGION, "2024-10", [
        {"id": person, "category": "minimum_living", "certified_on": "2024-10-08", "township": TOWNSHIP, "village": VILLAGE}])
    due = await chain.quoted(REGION, person, YEAR)
    assert (due["standard_fen"], due["subsidy_fen"], due["due_fen"]) == (40000, 34000, 6000)
    before = await chain.progress(REGION, YEAR)
    await chain.pay(person, due["due_fen"], region=REGION, year=YEAR, paid_at=IN_PERIOD)
    record = await chain.record_when(REGION, person, paid)
    enrollment = enrollment_of(record)
    assert (enrollment["paid_total_fen"], enrollment["benefit_start"], enrollment["benefit_end"]) == (
        6000, "2025-01-01", "2025-12-31")
    counted = sum(v["paid_people"] for v in before["villages"]) + 1
    await until(lambda: chain.progress(REGION, YEAR),
                lambda p: sum(v["paid_people"] for v in p["villages"]) >= counted)


async def test_a_resident_without_a_status_pays_the_full_400(chain: Chain) -> None:
    """个人缴费标准 400 元 (seed 000 L79), no subsidy; paid in the period, covered for 2025."""
    person = resident_id(REGION)
    await chain.baseline(REGION, [(person, TOWNSHIP, VILLAGE)])
    registered = await chain.register(REGION, {"id": person, "year": YEAR, "registered_on": "2024-11-05"})
    assert registered.status_code == 200, registered.text
    due = await chain.quoted(REGION, person, YEAR)
    assert (due["subsidy_fen"], due["due_fen"]) == (0, 40000)
    await chain.pay(person, 40000, region=REGION, year=YEAR, paid_at=IN_PERIOD)
    enrollment = enrollment_of(await chain.record_when(REGION, person, paid))
    assert (enrollment["paid_total_fen"], enrollment["benefit_start"]) == (40000, "2025-01-01")
