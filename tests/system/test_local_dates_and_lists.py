"""Local dates, refused registrations, reversals, refunds and the lists per village, through the running system.

Every date a rule reads is the region's calendar day (Asia/Shanghai): a receipt stamped 00:30 on 1 January in
Beijing is 16:30 on 31 December in UTC, and is outside a collection period that ended on 31 December.

- 怀远县 (340321), seed 000: collection period 2024-09-01 … 2024-12-31, cover 2025-01-01 … 2025-12-31
  (L119-122); a general resident paying after it waits 3 months (pack paths.outside_period).
- 安康市 (610900), seed 004: collection period to 2024-12-20 (L60), supplementary period 2025-01-01 …
  2025-03-31 (L62) with a fixed waiting period of 3 months (L68); "未在集中缴费期或补缴期参保缴费的，不得享受参保
  年度的居民医保待遇" (L68); the place chosen must match the hukou or the residence permit (L116); "参保人成功缴费，
  进入待遇享受期后，个人缴费不再退回 … 待遇享受期前死亡的，可按规定终止参保关系并办理个人退费" (L128-130);
  监测对象 200 (L42).
- 霍邱县 (341522), seed 002: 监测人口 200 (L14), lists of the county's agriculture department; progress per
  village (L17, L32: 村（社区）… 对辖区内参保缴费情况要适时进行公示).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from shared.resident_id import mask
from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

HY, HQ, AK, YEAR = "340321", "341522", "610900", 2025


def window(e: dict[str, Any] | None) -> tuple[Any, ...]:
    assert e is not None
    return e["state"], e["paid_total_fen"], e["policy_path"], e["benefit_start"], e["benefit_end"], e["waiting_months"]


async def person_in(chain: Chain, region: str, place: tuple[str, str], born: date = date(1979, 8, 8)) -> str:
    person = resident_id(region, born=born)
    await chain.baseline(region, [(person, *place)])
    return person


async def refused_receipt(chain: Chain, region: str, person: str, receipt_no: str) -> dict[str, Any]:
    """The refused receipt as reconciliation shows it in the person's view (the clerk asks by ID)."""
    seen = await chain.reconciled_when(region, person, lambda v: any(
        r["receipt_no"] == receipt_no for r in v["refused_receipts"]))
    found: list[dict[str, Any]] = [r for r in seen["refused_receipts"] if r["receipt_no"] == receipt_no]
    assert len(found) == 1, found
    return found[0]


async def test_a_huaiyuan_receipt_at_00_30_on_new_years_day_is_outside_the_period_one_at_23_30_inside(
        chain: Chain) -> None:
    """Two neighbours pay 400 (seed 000 L79): one at 23:30 on 2024-12-31 in Beijing, the last evening of the period
    (L119-121), covered from 2025-01-01 (L121-122); the other at 00:30 on 2025-01-01 in Beijing — still 31 December
    in UTC — after the period: a general payer then waits 3 months, cover from 2025-04-02."""
    place = ("榴城镇", "东关社区")
    evening, night = await person_in(chain, HY, place), await person_in(chain, HY, place)
    await chain.pay(evening, 40000, region=HY, year=YEAR, paid_at=beijing("2024-12-31", 23, 30))
    await chain.pay(night, 40000, region=HY, year=YEAR, paid_at=beijing("2025-01-01", 0, 30))
    assert beijing("2025-01-01", 0, 30).date() == date(2024, 12, 31)  # the UTC date is the period's last day

    e = enrollment_of(await chain.record_when(HY, evening, in_state("paid")))
    assert window(e) == ("paid", 40000, "collection", "2025-01-01", "2025-12-31", 0)
    assert e is not None and e["paid_on"] == "2024-12-31"
    e = enrollment_of(await chain.record_when(HY, night, in_state("paid")))
    assert window(e) == ("paid", 40000, "outside_period", "2025-04-02", "2025-12-31", 3)
    assert e is not None and e["paid_on"] == "2025-01-01"


async def test_an_ankang_receipt_at_00_30_after_the_period_ended_on_20_december_is_refused(chain: Chain) -> None:
    """安康's collection period ended on 2024-12-20 (seed 004 L60) and the supplementary period opens on 2025-01-01
    (L62): a receipt of 400 at 00:30 on 2024-12-21 in Beijing (20 December in UTC) buys nothing (L68) and is
    refused with its reason; the person stays registered, unpaid. A neighbour paying at 23:30 on 2024-12-20 is in
    the period and covered from 2025-01-01 (L66-68)."""
    place = ("汉滨区老城街道", "西城社区")
    late, in_time = await person_in(chain, AK, place), await person_in(chain, AK, place)
    for person in (late, in_time):
        answer = await chain.register(AK, {"id": person, "year": YEAR, "registered_on": "2024-12-01"})
        assert answer.status_code == 200, answer.text
    sent = await chain.pay(late, 40000, region=AK, year=YEAR, paid_at=beijing("2024-12-21", 0, 30))
    await chain.pay(in_time, 40000, region=AK, year=YEAR, paid_at=beijing("2024-12-20", 23, 30))

    e = enrollment_of(await chain.record_when(AK, in_time, in_state("paid")))
    assert window(e) == ("paid", 40000, "collection", "2025-01-01", "2025-12-31", 0)
    refusal = await refused_receipt(chain, AK, late, sent["receipt_no"])
    assert (refusal["reason_code"], refusal["amount_fen"]) == ("paid_outside_periods", 40000), refusal
    assert "2024-12-21" in refusal["reason"], refusal
    record = (await chain.record(AK, late)).json()
    assert record["payments"] == [] and record["refunds"] == []
    e = enrollment_of(record)
    assert e is not None and (e["state"], e["paid_total_fen"], e["benefit_start"]) == ("registered", 0, None), e


async def test_an_ankang_receipt_at_00_30_on_new_years_day_is_in_the_supplementary_period(chain: Chain) -> None:
    """At 00:30 on 2025-01-01 in Beijing the supplementary period has begun (seed 004 L62): 400 is taken, with the
    fixed waiting period of 3 months (L68) counted from the payment: cover 2025-04-01 … 2025-12-31."""
    person = await person_in(chain, AK, ("汉滨区新城街道", "培新社区"))
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-01-01", 0, 30))
    e = enrollment_of(await chain.record_when(AK, person, in_state("paid")))
    assert window(e) == ("paid", 40000, "supplementary", "2025-04-01", "2025-12-31", 3)
    assert e is not None and e["paid_on"] == "2025-01-01"


async def test_an_ankang_bulk_registration_keeps_its_two_refusals_with_their_reasons(chain: Chain) -> None:
    """Three registrations in one list: one in the collection period (seed 004 L60); one on 2025-05-10, after the
    collection and supplementary periods, which buy no cover that year (L68); one of a person whose hukou is in
    霍邱 and residence permit in 怀远, neither in 安康 (L116). One registered, two refused; each refusal is kept in
    the person's record with its reason, and the registered one owes 400 from 2025-01-01."""
    place = ("汉滨区江北街道", "桥儿沟社区")
    ok, too_late = await person_in(chain, AK, place), await person_in(chain, AK, place)
    elsewhere = resident_id(HQ)
    answer = await chain.register_bulk(AK, [
        {"id": ok, "year": YEAR, "registered_on": "2024-11-05"},
        {"id": too_late, "year": YEAR, "registered_on": "2025-05-10"},
        {"id": elsewhere, "year": YEAR, "registered_on": "2024-11-05", "hukou_region": HQ, "residence_region": HY},
    ])
    assert (answer["total"], answer["registered"], answer["refused"]) == (3, 1, 2), answer
    first, second, third = answer["results"]
    assert (first["expected_due_fen"], first["expected_benefit_start"]) == (40000, "2025-01-01")
    assert (second["reason_code"], third["reason_code"]) == ("no_path", "place_mismatch"), answer
    assert "安康市都不是" in third["reasons"][-1], third

    record = (await chain.record(AK, too_late)).json()
    [kept] = [r for r in record["refused_registrations"] if r["year"] == YEAR]
    assert (kept["line_no"], kept["registered_on"], kept["reason_code"]) == (2, "2025-05-10", second["reason_code"])
    assert any("不得享受参保年度的居民医保待遇" in r for r in kept["reasons"]), kept
    assert record["enrollments"] == []

    record = (await chain.record(AK, elsewhere)).json()
    [kept] = [r for r in record["refused_registrations"] if r["year"] == YEAR]
    assert (kept["line_no"], kept["hukou_region"], kept["residence_region"], kept["reason_code"]) == (
        3, HQ, HY, third["reason_code"])
    assert kept["reasons"] == third["reasons"] and record["enrollments"] == []
    e = enrollment_of((await chain.record(AK, ok)).json())
    assert e is not None and e["state"] == "registered"


async def test_huoqiu_lists_the_monitored_not_yet_enrolled_per_village(chain: Chain) -> None:
    """霍邱's agriculture department lists two 监测人口 in two villages of one township (subsidy 200, seed 002 L14).
    Both stand on the 应保未保 list under their own village; one pays 200 on 2024-11-18, in the period (L12): the
    list keeps only the other, the village of the payer counts one paid, and the payer is covered from 2025-01-01."""
    township = "冯井镇"
    payer, other = resident_id(HQ), resident_id(HQ)
    await chain.baseline(HQ, [(payer, township, "冯井村"), (other, township, "李台村")])
    await chain.certify("agriculture", HQ, "2024-10", [
        {"id": p, "category": "poverty_monitoring", "certified_on": "2024-10-08", "township": township, "village": v}
        for p, v in ((payer, "冯井村"), (other, "李台村"))])

    def listed(found: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {(p["person"], p["township"], p["village"]) for p in found if p["category"] == "poverty_monitoring"}

    both = {(mask(payer), township, "冯井村"), (mask(other), township, "李台村")}
    await until(lambda: chain.not_enrolled(HQ, YEAR), lambda found: both <= listed(found))
    await until(lambda: chain.quote(HQ, payer, YEAR), lambda r: r.status_code == 200 and r.json()["due_fen"] == 20000)
    await chain.tax_side_knows(payer, YEAR, lambda facts: [s["category"] for s in facts["statuses"]] == [
        "poverty_monitoring"])
    await chain.pay(payer, 20000, region=HQ, year=YEAR, paid_at=beijing("2024-11-18"))

    e = enrollment_of(await chain.record_when(HQ, payer, in_state("paid")))
    assert window(e) == ("paid", 20000, "collection", "2025-01-01", "2025-12-31", 0)
    found = await until(lambda: chain.not_enrolled(HQ, YEAR),
                        lambda found: (mask(payer), township, "冯井村") not in listed(found))
    assert (mask(other), township, "李台村") in listed(found)

    def paid_in(progress: dict[str, Any], village: str) -> int:
        return sum(v["paid_people"] for v in progress["villages"] if (v["township"], v["village"]) == (township, village))

    progress = await until(lambda: chain.progress(HQ, YEAR), lambda p: paid_in(p, "冯井村") == 1)
    assert paid_in(progress, "李台村") == 0, progress


async def test_an_ankang_payment_reversed_puts_the_monitored_person_back_on_the_list_until_paid_again(
        chain: Chain) -> None:
    """A 监测对象 (200, seed 004 L42) pays 200 on 2024-11-10; the payment is cancelled by a reversal of -200 on
    2024-11-11 pointing at it (DOMAIN.md §10): the enrollment is registered again, with no cover, and the person is
    back on the 应保未保 list of the village; paying 200 again on 2024-11-20 covers 2025-01-01 … 2025-12-31."""
    place = ("汉滨区关庙镇", "关庙村")
    person = await person_in(chain, AK, place)
    await chain.certify("agriculture", AK, "2024-10", [
        {"id": person, "category": "poverty_monitoring", "certified_on": "2024-10-08", "township": place[0],
         "village": place[1]}])
    await until(lambda: chain.quote(AK, person, YEAR), lambda r: r.status_code == 200 and r.json()["due_fen"] == 20000)
    await chain.tax_side_knows(person, YEAR, lambda facts: [s["category"] for s in facts["statuses"]] == [
        "poverty_monitoring"])
    on_list = (mask(person), *place)

    def listed(found: list[dict[str, Any]]) -> bool:
        return on_list in {(p["person"], p["township"], p["village"]) for p in found}

    await until(lambda: chain.not_enrolled(AK, YEAR), listed)
    first = await chain.pay(person, 20000, region=AK, year=YEAR, paid_at=beijing("2024-11-10"))
    await chain.record_when(AK, person, in_state("paid"))
    await until(lambda: chain.not_enrolled(AK, YEAR), lambda found: not listed(found))

    await chain.pay(person, -20000, region=AK, year=YEAR, paid_at=beijing("2024-11-11"),
                    original_receipt_no=first["receipt_no"])
    e = enrollment_of(await chain.record_when(AK, person, in_state("registered")))
    assert e is not None and (e["paid_total_fen"], e["benefit_start"], e["benefit_end"]) == (0, None, None), e
    await until(lambda: chain.not_enrolled(AK, YEAR), listed)

    await chain.pay(person, 20000, region=AK, year=YEAR, paid_at=beijing("2024-11-20"))
    record = await chain.record_when(AK, person, in_state("paid"))
    assert window(enrollment_of(record)) == ("paid", 20000, "collection", "2025-01-01", "2025-12-31", 0)
    assert [(p["amount_fen"], p["original_receipt_no"]) for p in record["payments"]] == [
        (20000, None), (-20000, first["receipt_no"]), (20000, None)]
    await until(lambda: chain.not_enrolled(AK, YEAR), lambda found: not listed(found))


async def test_in_ankang_a_death_before_the_benefit_start_is_refunded_and_a_request_after_it_is_not(
        chain: Chain) -> None:
    """Two residents paid 400 in the period (seed 004 L60). One dies on 2024-12-10, before the benefit period: the
    enrollment ends and the 400 comes back (L130). The other joins employee insurance and asks on 2025-02-03, after
    cover began on 2025-01-01: "进入待遇享受期后，个人缴费不再退回" (L128) — refused, still enrolled."""
    place = ("汉滨区建民街道", "建民村")
    died, late = await person_in(chain, AK, place), await person_in(chain, AK, place)
    for person in (died, late):
        await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2024-11-12"))
        await chain.record_when(AK, person, in_state("paid"))

    answer = await chain.refund(AK, died, YEAR, "death", "2024-12-12")
    assert (answer["approved"], answer["amount_fen"], answer["state"]) == (True, 40000, "ended"), answer
    record = (await chain.record(AK, died)).json()
    e = enrollment_of(record)
    assert e is not None and (e["state"], e["end_reason"], e["paid_total_fen"]) == ("ended", "death", 40000), e
    [kept] = record["refunds"]
    assert (kept["reason"], kept["approved"], kept["amount_fen"], kept["requested_on"]) == (
        "death", True, 40000, "2024-12-12"), kept

    answer = await chain.refund(AK, late, YEAR, "employee_insurance", "2025-02-03")
    assert (answer["approved"], answer["amount_fen"], answer["state"]) == (False, 0, "paid"), answer
    record = (await chain.record(AK, late)).json()
    assert window(enrollment_of(record)) == ("paid", 40000, "collection", "2025-01-01", "2025-12-31", 0)
    [kept] = record["refunds"]
    assert (kept["approved"], kept["amount_fen"]) == (False, 0), kept
