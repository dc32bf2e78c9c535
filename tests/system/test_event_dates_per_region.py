"""Event dates — a birth, an employee-insurance lapse — that decide a payer's cover, region by region, through the
running system. Each person is registered with their kind (and event date), pays on the gateway's topic, and the
record (一人一档) and quote say the cover the event gives.

- 怀远县 (340321), seed 000 L133-141: a newborn paid for within 90 days of birth is covered from birth; after 90
  days, within the first year, from the day after payment.
- 霍邱县 (341522), seed 002 L12: "新生儿实行“落地”参保 … 在新生儿出生后的90天内完成参保缴费，自出生之日起享受待遇".
- 安康市 (610900), seed 004: an employee-insurance lapse is covered "参加居民医保缴费后的次月起" (L74); a newborn
  paid for within 90 days of birth from birth (L78); born less than 90 days before 31 December, paying the next year
  within 90 days, from 1 January (L80).
- 双清区 (430502), seed 003: a lapse registered more than 90 days after it is not the special case of L51; it pays
  400 + 670 with a waiting period (L45), the 670 a provisional figure (pack money.late_surcharge, awaiting
  双清区医疗保障局).

Receipts here fall on days a general payer could pay the same amount (怀远/霍邱 after the period, 安康's
supplementary period 2025-01-01 … 03-31); the cases whose amount differs from a general payer's that day are in
test_payer_windows.py.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

HY, HQ, SQ, AK, YEAR = "340321", "341522", "430502", "610900", 2025
PLACES = {HY: ("榴城镇", "东关社区"), HQ: ("城关镇", "东湖社区"), SQ: ("渡头桥镇", "渡头桥社区"),
          AK: ("汉滨区江北街道", "张岭社区")}

paid = in_state("paid", "covered")


def quoted_cover(start: str) -> Callable[[Any], bool]:
    def holds(answer: Any) -> bool:
        return answer.status_code == 200 and any(r.startswith(f"待遇享受期：{start} 至 {YEAR}-12-31")
                                                 for r in answer.json()["reasons"])
    return holds


async def pays_on_event_path(chain: Chain, region: str, kind: str, *, pay_day: str, path: str, start: str,
                             born: date = date(1983, 6, 6), event_date: str | None = None, due: int = 40000,
                             waiting: tuple[int, int] = (0, 0)) -> tuple[str, dict[str, Any]]:
    """Registered with the kind (and event) on the day they pay `due`; the registration, the record and the quote
    agree on the path, the benefit start and the waiting. Returns the person and their record."""
    person = resident_id(region, born=born)
    await chain.baseline(region, [(person, *PLACES[region])])
    registration = {"id": person, "year": YEAR, "kind": kind, "registered_on": pay_day,
                    **({"event_date": event_date} if event_date else {})}
    answer = await chain.register(region, registration)
    assert answer.status_code == 200, answer.text
    registered = answer.json()
    assert (registered["path"], registered["expected_due_fen"], registered["expected_benefit_start"]) == (
        path, due, start), registered
    quote = (await until(lambda: chain.quote(region, person, YEAR), quoted_cover(start))).json()
    assert quote["due_fen"] == due, quote

    await chain.pay(person, due, region=region, year=YEAR, paid_at=beijing(pay_day))
    record = await chain.record_when(region, person, paid)
    e = enrollment_of(record)
    assert e is not None
    assert (e["kind"], e["event_date"], e["policy_path"], e["paid_total_fen"], e["paid_on"]) == (
        kind, event_date, path, due, pay_day), e
    assert (e["benefit_start"], e["benefit_end"], (e["waiting_months"], e["waiting_days"])) == (
        start, f"{YEAR}-12-31", waiting), e
    assert record["refunds"] == [] and record["refused_registrations"] == []
    return person, record


async def test_an_ankang_employee_insurance_lapse_is_covered_from_the_month_after_paying(chain: Chain) -> None:
    """职工医保断保 on 2025-01-20, registered and paid 400 on 2025-02-10: "待遇享受期为参加居民医保缴费后的次月起至12月
    31日" (seed 004 L74; L140: "参保年度内职工医保停保人员参保居民医保，待遇期按照目前规定次月享受"): 2025-03-01, with
    no waiting — not the supplementary period's 3 months (L68)."""
    await pays_on_event_path(chain, AK, "employee_lapse", pay_day="2025-02-10", event_date="2025-01-20",
                             path="employee_lapse", start="2025-03-01")


async def test_an_ankang_newborn_paid_for_within_90_days_is_covered_from_birth(chain: Chain) -> None:
    """Born 2025-01-10, paid 400 for the birth year on 2025-02-15 (36 days): "待遇享受期为出生之日起至出生当年12月
    31日" (seed 004 L78)."""
    await pays_on_event_path(chain, AK, "newborn", pay_day="2025-02-15", born=date(2025, 1, 10),
                             path="newborn_birth_year_90_days", start="2025-01-10")


async def test_an_ankang_baby_born_late_in_2024_paying_2025_within_90_days_is_covered_from_1_january(
        chain: Chain) -> None:
    """Born 2024-11-15, less than 90 days before 31 December; paid 400 for 2025 on 2025-01-20 (66 days): "如享受
    出生次年医保待遇，须在出生后90天内缴纳出生次年医疗保险费，待遇享受期为次年1月1日至12月31日" (seed 004 L80)."""
    await pays_on_event_path(chain, AK, "newborn", pay_day="2025-01-20", born=date(2024, 11, 15),
                             path="newborn_next_year_90_days", start="2025-01-01")


async def test_a_huaiyuan_newborn_paid_for_within_90_days_is_covered_from_birth(chain: Chain) -> None:
    """Born 2025-03-10, paid 400 on 2025-04-20 (41 days): "自出生之日起享受居民医保待遇" (seed 000 L133-139), with
    no waiting though the collection period has closed."""
    await pays_on_event_path(chain, HY, "newborn", pay_day="2025-04-20", born=date(2025, 3, 10),
                             path="newborn_90_days", start="2025-03-10")


async def test_a_huaiyuan_baby_paid_for_after_90_days_is_covered_from_the_day_after_paying(chain: Chain) -> None:
    """Born 2025-01-05, paid 400 on 2025-06-10 (156 days, under one year): "超过90日参保缴费的一周岁内新生儿，自缴费
    到账次日起享受居民医保待遇" (seed 000 L139-141): 2025-06-11, no waiting."""
    await pays_on_event_path(chain, HY, "newborn", pay_day="2025-06-10", born=date(2025, 1, 5),
                             path="newborn_under_one", start="2025-06-11")


async def test_a_huoqiu_newborn_paid_for_within_90_days_is_covered_from_birth(chain: Chain) -> None:
    """Born 2025-02-01, paid 400 on 2025-03-15 (42 days): "新生儿实行“落地”参保 … 自出生之日起享受待遇" (seed 002
    L12)."""
    await pays_on_event_path(chain, HQ, "newborn", pay_day="2025-03-15", born=date(2025, 2, 1),
                             path="newborn_90_days", start="2025-02-01")


async def test_a_shuangqing_lapse_registered_after_90_days_pays_1070_on_a_provisional_surcharge_and_waits(
        chain: Chain) -> None:
    """The employee insurance lapsed on 2025-01-10; the person registers on 2025-05-10, 120 days later, past the 90
    days of seed 003 L51: a late payer, "按照个人缴费标准加财政补助标准之和缴费，并设置待遇等待期" (L45) — 400 + 670,
    90 days' wait (L81), cover from 2025-08-08. The 670 for 2025 is not in the seed (L35 gives 2024's): the quote
    says 暂定 and names 双清区医疗保障局."""
    person, _ = await pays_on_event_path(chain, SQ, "employee_lapse", pay_day="2025-05-10", event_date="2025-01-10",
                                         path="outside_period", start="2025-08-08", due=107000, waiting=(0, 90))
    quote = (await chain.quote(SQ, person, YEAR)).json()
    assert (quote["standard_fen"], quote["subsidy_fen"], quote["due_fen"]) == (40000, 0, 107000), quote
    assert quote["reasons"][0].startswith("暂定：") and "双清区医疗保障局" in quote["reasons"][0], quote["reasons"]
    assert any("不满足职工医保断保人员的特殊参保条件" in r for r in quote["reasons"]), quote["reasons"]
