"""People who owe nothing (资助参保), coverage year 2025: from the department's list to the village figures.

A person whose due is 0 is enrolled and covered from the benefit start without any receipt; the full
subsidy is booked to its funding source; they never appear on the not-enrolled lists (应保未保); the
duplicate-enrollment rule runs for them as for a payer (DOMAIN.md §3, §6). Each test follows one person
through the running services by their public interfaces and cites the seed lines it asserts:
seed 000 (怀远县 340321), seed 003 (双清区 430502).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.resident_id import mask
from tests.support.chain import Chain, until
from tests.support.people import resident_id

HY, HQ, SQ, YEAR = "340321", "341522", "430502", 2025
CERTIFIED = "2024-10-08"  # inside every seed's collection period 2024-09-01 … 2024-12-31


def enrollment_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record's 2025 enrollment (the record holds the caller's region only)."""
    return next((e for e in record["enrollments"] if e["year"] == YEAR), None)


def funded(record: dict[str, Any]) -> bool:
    e = enrollment_of(record)
    return e is not None and e["state"] in ("paid", "covered") and e["funded_by"] is not None


def covered(record: dict[str, Any]) -> bool:
    e = enrollment_of(record)
    return e is not None and e["state"] == "covered"


async def certify(chain: Chain, department: str, region: str, person: str, category: str, place: tuple[str, str],
                  **row: str) -> None:
    await chain.certify(department, region, "2024-10", [{"id": person, "category": category, "certified_on": CERTIFIED,
                                                         "township": place[0], "village": place[1], **row}])


async def covered_free_of_charge(chain: Chain, region: str, person: str, funded_by: str) -> dict[str, Any]:
    """Enrolled from the due of 0 (paid by the fund, nothing paid, no receipt), then covered by the office's daily
    step: the benefit window 2025-01-01 … 2025-12-31 has begun. Returns the covered enrollment."""
    record = await chain.record_when(region, person, funded)
    e = enrollment_of(record)
    assert e is not None
    assert (e["state"], e["paid_total_fen"], e["funded_by"]) == ("paid", 0, funded_by), e
    assert (e["benefit_start"], e["benefit_end"], e["waiting_months"], e["waiting_days"]) == (
        "2025-01-01", "2025-12-31", 0, 0), e
    assert record["payments"] == []
    await chain.advance_coverage(region)
    e = enrollment_of(await chain.record_when(region, person, covered))
    assert e is not None and (e["paid_total_fen"], e["benefit_start"]) == (0, "2025-01-01")
    return e


async def counted_as_enrolled(chain: Chain, region: str, person: str, category: str,
                              place: tuple[str, str]) -> None:
    """Reconciliation holds the status and the enrollment, the person is off the group's not-enrolled list,
    and the village counts them enrolled (paid nothing)."""
    await chain.reconciled_when(region, person, lambda v: bool(v["statuses"]) and any(
        e["year"] == YEAR and e["state"] == "paid" for e in v["enrollments"]))
    listed = [p for p in await chain.not_enrolled(region, YEAR)
              if (p["person"], p["township"], p["village"]) == (mask(person), *place)]
    assert listed == [], listed
    groups = {g["category"]: g for g in (await chain.vulnerable(region, YEAR))["groups"]}
    assert groups[category]["enrolled"] >= 1, groups
    figures = (await chain.progress(region, YEAR))["progress"]["villages"]
    [village] = [v for v in figures if (v["township"], v["village"]) == place]
    assert (village["baseline_people"], village["enrolled_people"], village["paid_people"]) == (1, 1, 0), village


async def test_an_extreme_poverty_person_in_huaiyuan_is_covered_for_2025_with_no_receipt(chain: Chain) -> None:
    """特困: "通过医疗救助资金对特困人员给予400元全额资助（个人缴纳0元）" (seed 000 L81-85); the benefit period
    2025-01-01 … 2025-12-31 (L119-122). Civil affairs certifies; the quote says 0; the record shows the cover with no
    receipt; the village counts them enrolled; the 400 is booked to 医疗救助资金 (medical_assistance)."""
    person, place = resident_id(HY), ("榴城镇", "城关村")
    await chain.baseline(HY, [(person, *place)])
    await certify(chain, "civil_affairs", HY, person, "extreme_poverty", place)
    due = await chain.quoted(HY, person, YEAR)
    assert (due["standard_fen"], due["subsidy_fen"], due["due_fen"]) == (40000, 40000, 0), due
    await covered_free_of_charge(chain, HY, person, "medical_assistance")
    await counted_as_enrolled(chain, HY, person, "extreme_poverty", place)
    booked = (await chain.transfers(HY, YEAR))["by_source_and_township"]
    assert {"funding_source": "medical_assistance", "label": "医疗救助资金", "township": "榴城镇", "mode": "net",
            "people": 1, "amount_fen": 40000} in booked, booked


async def test_an_orphan_registered_at_the_counter_is_covered_once_certified(chain: Chain) -> None:
    """孤儿: "全额资助纳入孤儿和特困人员范围的儿童参保" (seed 000 L89-91). Registered by the office first (owing 400
    with no status), then certified: the registration becomes the cover, with nothing paid."""
    child, place = resident_id(HY, born=date(2014, 6, 1)), ("龙亢镇", "龙亢村")
    await chain.baseline(HY, [(child, *place)])
    registered = await chain.register(HY, {"id": child, "year": YEAR, "registered_on": "2024-10-09"})
    assert registered.status_code == 200 and registered.json()["expected_due_fen"] == 40000, registered.text
    await chain.record_when(HY, child, lambda r: (enrollment_of(r) or {}).get("state") == "registered")
    await certify(chain, "civil_affairs", HY, child, "orphan", place)
    e = await covered_free_of_charge(chain, HY, child, "medical_assistance")
    assert (e["registered_on"], e["kind"]) == ("2024-10-09", "general")
    await counted_as_enrolled(chain, HY, child, "orphan", place)


async def test_a_severely_disabled_person_in_shuangqing_is_covered_by_the_finance_fund(chain: Chain) -> None:
    """重度残疾人: "根据区残疾人联合会核定名单，对区辖重度残疾人参加居民医保的个人缴费部分，通过财政资金给予全额资助"
    (seed 003 L63); benefit period 2025-01-01 … 2025-12-31 (L43). The 400 is booked to finance."""
    person, place = resident_id(SQ), ("兴隆街道", "佘湖村")
    await chain.baseline(SQ, [(person, *place)])
    await certify(chain, "disability_federation", SQ, person, "severe_disability", place)
    due = await chain.quoted(SQ, person, YEAR)
    assert (due["subsidy_fen"], due["due_fen"]) == (40000, 0), due
    await covered_free_of_charge(chain, SQ, person, "finance")
    await counted_as_enrolled(chain, SQ, person, "severe_disability", place)
    booked = (await chain.transfers(SQ, YEAR))["by_source"]
    assert {"funding_source": "finance", "label": "财政资金", "amount_fen": 40000} in booked, booked


async def test_a_covered_free_person_who_also_pays_in_another_county_keeps_home_and_is_refunded(chain: Chain) -> None:
    """特困 in 怀远县 (seed 000 L81-85), whose register lists the person, and covered there free of charge; in January
    the person also pays 400 in 霍邱县 (341522), whose period has closed (seed 002 L12: 集中征缴期为2024年9月至12月底),
    so the tax side takes the general 400. Two valid enrollments for 2025: "不重复参保" (seed 002 L10). The
    duplicate rule (DOMAIN.md §6: employee > university student > place of residence) keeps 怀远县's funded cover;
    霍邱县's ends before its benefit start and its 400 is refunded ("在待遇享受期未开始前因…重复缴费、参加…其他地市
    居民医保，可…申请办理个人退费", seed 000 L211-217, which 霍邱县's pack follows)."""
    person, place = resident_id(HY), ("褚集镇", "褚集村")
    await chain.baseline(HY, [(person, *place)])
    await certify(chain, "civil_affairs", HY, person, "extreme_poverty", place)
    await covered_free_of_charge(chain, HY, person, "medical_assistance")
    await chain.pay(person, 40000, region=HQ, year=YEAR, paid_at=datetime(2025, 1, 15, 2, tzinfo=UTC))
    away = await chain.record_when(HQ, person, lambda r: (enrollment_of(r) or {}).get("state") == "ended")
    e = enrollment_of(away)
    assert e is not None and (e["end_reason"], e["paid_total_fen"], e["paid_on"]) == (
        "other_region", 40000, "2025-01-15"), e
    [case] = away["duplicate_cases"]
    assert (case["kept"], case["dropped_region"], case["rule"]) == (HY, HQ, "residence"), case
    [refund] = away["refunds"]
    assert (refund["approved"], refund["amount_fen"], refund["reason"], refund["duplicate_case_id"]) == (
        True, 40000, "other_region", case["id"]), refund
    home = await chain.record(HY, person)
    kept = enrollment_of(home.json())
    assert kept is not None and (kept["state"], kept["funded_by"], kept["paid_total_fen"]) == (
        "covered", "medical_assistance", 0), kept
    assert [c["id"] for c in home.json()["duplicate_cases"]] == [case["id"]]
    await chain.reconciled_when(HY, person, lambda v: bool(v["statuses"]) and any(
        e["year"] == YEAR and e["state"] == "paid" for e in v["enrollments"]))
    assert not [p for p in await chain.not_enrolled(HY, YEAR) if (p["person"], p["village"]) == (mask(person), place[1])]


async def test_a_free_cover_counts_as_enrolled_elsewhere_when_another_county_registers_the_person(
        chain: Chain) -> None:
    """The duplicate check at the counter runs for a funded cover as for a paid one: 霍邱县 refuses to register a
    person 怀远县 already covers free of charge for 2025 ("不重复参保", seed 002 L10; 特困 seed 000 L81-85)."""
    person, place = resident_id(HY), ("魏庄镇", "魏庄村")
    await chain.baseline(HY, [(person, *place)])
    await certify(chain, "civil_affairs", HY, person, "extreme_poverty", place)
    await chain.record_when(HY, person, funded)
    refused = await chain.register(HQ, {"id": person, "year": YEAR, "registered_on": "2024-11-20",
                                        "hukou_region": HY, "residence_region": HQ})
    assert refused.status_code == 422 and refused.json()["detail"]["reason_code"] == "enrolled_elsewhere", refused.text


async def test_a_status_that_ends_after_the_cover_began_keeps_the_cover_and_says_so(chain: Chain) -> None:
    """The 特困 status is reported ended on 2024-12-01 once 2025's cover has begun: the subsidy now assesses 400,
    but nothing is undone after the benefit start (seed 000 L211-217: 待遇享受期开始后 … 个人缴费不再退回), so the
    cover stays, the record says why, and the person stays counted as enrolled."""
    person, place = resident_id(HY), ("荆山镇", "涂山村")
    await chain.baseline(HY, [(person, *place)])
    await certify(chain, "civil_affairs", HY, person, "extreme_poverty", place)
    await covered_free_of_charge(chain, HY, person, "medical_assistance")
    await certify(chain, "civil_affairs", HY, person, "extreme_poverty", place, ended_on="2024-12-01")
    await until(lambda: chain.quote(HY, person, YEAR), lambda r: r.status_code == 200 and r.json()["due_fen"] == 40000)
    record = await chain.record_when(HY, person, lambda r: any(
        "不再全额资助" in reason for reason in (enrollment_of(r) or {}).get("policy_reasons", [])))
    e = enrollment_of(record)
    assert e is not None and (e["state"], e["funded_by"], e["benefit_start"]) == (
        "covered", "medical_assistance", "2025-01-01")
    assert "待遇享受期已于2025-01-01开始" in e["policy_reasons"][0]
    await counted_as_enrolled(chain, HY, person, "extreme_poverty", place)
