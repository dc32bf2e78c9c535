"""Every special kind the seeds name, paying outside the collection period, through the running system.

The seeds name groups who may still enrol once the collection period is over and who pay the
individual rate, with a benefit start of their own and no waiting period:

- 怀远县 (340321), seed 000 L149-167: "当年退出现役的军人及随迁的由部队保障的随军未就业配偶 … 退捕渔民等特殊
  群体，可补办参保手续，自参保缴费次日起享受居民医保待遇" (L157-163) and "严重精神障碍患者、刑满释放人员，可补办
  参保手续，自参保缴费次日起享受居民医保待遇" (L165-167); a general resident paying then has the fixed waiting
  period of 3 months (pack paths.outside_period, 国办发〔2024〕38号). A baby born in 2024 pays 380 for 2024 and 400
  for 2025 (L141-147).
- 霍邱县 (341522), seed 002: the notice is silent on late special groups; its pack follows 怀远 (default
  paths.special_groups, from the day after payment).
- 安康市 (610900), seed 004 L32-34: "军人退出现役当年及其随军未就业配偶、参保年度应届外省毕业回陕大学生 … 刑满释放
  人员、失联人员 … 均按照我市2024年居民医保个人参保缴费标准缴纳", covered "从居民医保缴费后的次月起" (L96),
  while a general resident paying in the supplementary period (L62) waits 3 months (L68).

Each test registers the person at the insurance office (the kind as its path), the tax side streams the
receipt on the gateway's topic, and the person's record (一人一档) and the quote say the kind's cover. The
office's daily coverage step proves the benefit start: the day before it the enrollment is still only paid.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

HY, HQ, AK = "340321", "341522", "610900"
YEAR = 2025
PLACES = {HY: ("榴城镇", "城关村"), HQ: ("城关镇", "东湖社区"), AK: ("汉滨区", "新城街道")}


def quoted_cover(start: str, end: str = f"{YEAR}-12-31") -> Callable[[Any], bool]:
    """The quote, reassessed on the payment day, names the kind's benefit period."""
    def holds(answer: Any) -> bool:
        return answer.status_code == 200 and any(r.startswith(f"待遇享受期：{start} 至 {end}")
                                                 for r in answer.json()["reasons"])
    return holds


async def register(chain: Chain, region: str, person: str, kind: str, on: str, year: int = YEAR,
                   **extra: Any) -> dict[str, Any]:
    answer = await chain.register(region, {"id": person, "year": year, "kind": kind, "registered_on": on, **extra})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def enrolled_person(chain: Chain, region: str, born: date = date(1985, 3, 1)) -> str:
    person = resident_id(region, born=born)
    await chain.baseline(region, [(person, *PLACES[region])])
    return person


async def covered_from(chain: Chain, region: str, person: str, start: str, year: int = YEAR) -> dict[str, Any]:
    """The office's daily step: the day before `start` the enrollment stays paid, on `start` it is covered."""
    day_before = date.fromordinal(date.fromisoformat(start).toordinal() - 1).isoformat()
    await chain.advance_coverage(region, day_before)
    e = enrollment_of((await chain.record(region, person)).json(), year)
    assert e is not None and e["state"] == "paid", e
    await chain.advance_coverage(region, start)
    record: dict[str, Any] = (await chain.record(region, person)).json()
    e = enrollment_of(record, year)
    assert e is not None and (e["state"], e["covered_on"]) == ("covered", start), e
    return record


async def special_kind_pays_late(chain: Chain, region: str, kind: str, pay_day: str, start: str,
                                 path: str = "special_groups") -> dict[str, Any]:
    """Registered on the day they pay 400; the record shows the kind's path, its start, no waiting, no refund."""
    person = await enrolled_person(chain, region)
    registered = await register(chain, region, person, kind, pay_day)
    assert (registered["outcome"], registered["path"], registered["expected_due_fen"],
            registered["expected_benefit_start"]) == ("registered", path, 40000, start), registered
    await chain.pay(person, 40000, region=region, year=YEAR, paid_at=beijing(pay_day))
    record = await chain.record_when(region, person, in_state("paid", "covered"))
    e = enrollment_of(record)
    assert e is not None
    assert (e["kind"], e["policy_path"], e["paid_total_fen"], e["paid_on"]) == (kind, path, 40000, pay_day), e
    assert (e["benefit_start"], e["benefit_end"], e["waiting_months"], e["waiting_days"]) == (
        start, f"{YEAR}-12-31", 0, 0), e
    assert record["refunds"] == [] and record["refused_registrations"] == []
    quote = (await until(lambda: chain.quote(region, person, YEAR), quoted_cover(start))).json()
    assert (quote["standard_fen"], quote["subsidy_fen"], quote["due_fen"]) == (40000, 0, 40000), quote
    await covered_from(chain, region, person, start)
    return record


async def test_a_military_spouse_in_huaiyuan_is_covered_the_day_after_paying_while_a_neighbour_waits(
        chain: Chain) -> None:
    """随军未就业配偶 paying on 2025-05-10, after the period: 400, cover from 2025-05-11, no waiting (seed 000
    L157-163). A general resident of the same village paying the same day waits the fixed 3 months (pack
    paths.outside_period): cover from 2025-08-11."""
    await special_kind_pays_late(chain, HY, "military_spouse", "2025-05-10", "2025-05-11")

    neighbour = await enrolled_person(chain, HY)
    registered = await register(chain, HY, neighbour, "general", "2025-05-10")
    assert (registered["path"], registered["expected_benefit_start"]) == ("outside_period", "2025-08-11")
    await chain.pay(neighbour, 40000, region=HY, year=YEAR, paid_at=beijing("2025-05-10"))
    e = enrollment_of(await chain.record_when(HY, neighbour, in_state("paid", "covered")))
    assert e is not None and (e["policy_path"], e["benefit_start"], e["waiting_months"]) == (
        "outside_period", "2025-08-11", 3), e


async def test_a_retired_fisher_in_huaiyuan_is_covered_the_day_after_paying(chain: Chain) -> None:
    """退捕渔民: "可补办参保手续，自参保缴费次日起享受居民医保待遇" (seed 000 L157-163): paid 2025-06-20, covered
    2025-06-21 … 2025-12-31, no waiting."""
    await special_kind_pays_late(chain, HY, "retired_fisher", "2025-06-20", "2025-06-21")


async def test_a_person_with_a_severe_mental_disorder_in_huaiyuan_is_covered_the_day_after_paying(
        chain: Chain) -> None:
    """严重精神障碍患者: "可补办参保手续，自参保缴费次日起享受居民医保待遇" (seed 000 L165-167): paid 2025-03-03,
    covered from 2025-03-04, no waiting."""
    await special_kind_pays_late(chain, HY, "severe_mental_disorder", "2025-03-03", "2025-03-04")


async def test_a_retired_fisher_in_huoqiu_takes_the_special_groups_path_of_its_pack(chain: Chain) -> None:
    """霍邱县's notice names no late groups (seed 002 L12 names only migrant workers and newborns); its pack
    follows 怀远 (default paths.special_groups, seed 000 L149-167): a 退捕渔民 paying 400 on 2025-04-15 is covered
    from 2025-04-16, with no waiting."""
    await special_kind_pays_late(chain, HQ, "retired_fisher", "2025-04-15", "2025-04-16")


async def test_a_military_spouse_in_ankang_is_covered_from_the_month_after_paying(chain: Chain) -> None:
    """随军未就业配偶 (seed 004 L32) paying 400 (L30) on 2025-02-10, in the supplementary period (L62): cover from
    the month after payment, 2025-03-01 (L96), with no waiting — not the supplementary period's 3 months (L68)."""
    await special_kind_pays_late(chain, AK, "military_spouse", "2025-02-10", "2025-03-01")


async def test_a_graduate_returning_to_shaanxi_is_covered_from_the_month_after_paying(chain: Chain) -> None:
    """应届外省毕业回陕大学生 (seed 004 L32) paying 400 on 2025-01-15: cover from 2025-02-01 (L96), no waiting."""
    await special_kind_pays_late(chain, AK, "returning_graduate", "2025-01-15", "2025-02-01")


async def test_a_person_back_from_lost_contact_in_ankang_is_covered_from_the_month_after_paying(
        chain: Chain) -> None:
    """失联人员 (seed 004 L32-34) paying 400 on 2025-03-28: cover from 2025-04-01 (L96), no waiting."""
    await special_kind_pays_late(chain, AK, "lost_contact", "2025-03-28", "2025-04-01")


async def test_a_baby_born_in_2024_in_huaiyuan_pays_380_for_2024_and_400_for_2025(chain: Chain) -> None:
    """"2024年出生的新生儿须分别缴纳380元、400元，才能按规定对应享受2024年度、2025年度居民医保待遇" (seed 000
    L141-147). Born 2024-11-20, registered and paid for both years on 2025-01-20, within 90 days of birth
    (L133-139): the 2024 receipt of 380 is accepted by the newborn paths of the 2024 pack and covers from birth
    to 2024-12-31; the 2025 receipt of 400 covers 2025-01-01 … 2025-12-31 with no waiting (a general resident
    paying on that day would wait 3 months)."""
    baby = await enrolled_person(chain, HY, born=date(2024, 11, 20))
    for year, due, start in ((2024, 38000, "2024-11-20"), (2025, 40000, "2025-01-01")):
        registered = await register(chain, HY, baby, "newborn", "2025-01-20", year=year)
        assert (registered["path"], registered["expected_due_fen"], registered["expected_benefit_start"]) == (
            "newborn_90_days", due, start), registered
        quote = (await until(lambda y=year: chain.quote(HY, baby, y),  # type: ignore[misc]
                             lambda r: r.status_code == 200)).json()
        assert (quote["standard_fen"], quote["due_fen"]) == (due, due), quote
        await chain.pay(baby, due, region=HY, year=year, paid_at=beijing("2025-01-20"))

    record = await chain.record_when(HY, baby, lambda r: in_state("paid", "covered", year=2024)(r) and in_state("paid", "covered")(r))
    got = {e["year"]: (e["kind"], e["policy_path"], e["paid_total_fen"], e["benefit_start"], e["benefit_end"],
                       e["waiting_months"]) for e in record["enrollments"]}
    assert got == {2024: ("newborn", "newborn_90_days", 38000, "2024-11-20", "2024-12-31", 0),
                   2025: ("newborn", "newborn_90_days", 40000, "2025-01-01", "2025-12-31", 0)}, got
    assert sorted((p["year"], p["amount_fen"]) for p in record["payments"]) == [(2024, 38000), (2025, 40000)]
    assert record["refunds"] == []
