"""安康市 (610900) and 霍邱县 (341522), coverage year 2025: statuses, the highest of them, people who owe nothing,
and figures a county must still fill in, through the running system.

Seed 002 (霍邱县, L14): individual contribution 400; "对于特困供养人员财政给予全额资助；低保对象给予360元定额资助；
监测人口财政给予200元定额资助", the lists coming from the county's civil affairs, agriculture and veterans'
departments. Seed 004 (安康市): 400 (L30); "具有多重困难身份的资助参保对象，资助标准就高不就低" (L38); 特困、孤儿
（含事实无人抚养儿童）full (L40); 低保 and 监测 200, 紫阳县 and 白河县 keeping their higher standard (L42); a person
entitled to a subsidy who did not pay in the collection period loses it and is covered from the month after
paying (L98). Where a pack holds a figure no seed gives (霍邱's 重点优抚对象, 紫阳县's standard), the quote says
暂定 and the console lists the figure with who must fill it in (shared/policy/README.md, defaults).

Each test follows people through the services by their public interfaces: the department's list at identity,
the register and registrations at enrollment, the quote at subsidy, receipts on the gateway's topic, the
person's record (一人一档) at enrollment, and the lists, transfers, refunds and console at reconciliation.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from shared.resident_id import mask
from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

HQ, AK, ZIYANG, YEAR = "341522", "610900", "610924", 2025
HQ_PLACE = ("城关镇", "东湖社区")
AK_PLACE = ("汉滨区江北街道", "张岭社区")
ZIYANG_PLACE = ("城关镇", "紫府社区")
CERTIFIED = "2024-10-08"  # inside both collection periods (002 L12: 2024-09 … 12-31; 004 L60: 2024-09 … 12-20)


def status_lines(quote: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    return sorted((x["category"], x["amount_fen"], x["funding_source"], x["mode"]) for x in quote["lines"])


async def certify(chain: Chain, department: str, region: str, person: str, category: str,
                  place: tuple[str, str], certified_on: str = CERTIFIED) -> None:
    await chain.certify(department, region, "2024-10", [{"id": person, "category": category,
                                                        "certified_on": certified_on, "township": place[0],
                                                        "village": place[1]}])


async def quoted_at(chain: Chain, region: str, person: str, due_fen: int) -> dict[str, Any]:
    answer = await until(lambda: chain.quote(region, person, YEAR),
                         lambda r: r.status_code == 200 and r.json()["due_fen"] == due_fen)
    body: dict[str, Any] = answer.json()
    return body


async def console(chain: Chain, region: str) -> str:
    """The ops console's page of the region-year, as a viewer of the region sees it."""
    answer = await chain._call("GET", "reconciliation", "/api/console", region, "viewer",
                               params={"region": region, "year": YEAR})
    assert answer.status_code == 200, answer.text
    return answer.text


async def refunds_owed(chain: Chain, region: str) -> dict[str, Any]:
    answer = await chain._call("GET", "reconciliation", "/api/refunds", region, "viewer",
                               params={"region": region, "year": YEAR})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def covered_free_of_charge(chain: Chain, region: str, person: str, funded_by: str) -> dict[str, Any]:
    """Enrolled by the fund on a due of 0 (nothing paid, no receipt), covered 2025-01-01 … 2025-12-31 with no
    waiting once the office's daily step reaches the benefit start."""
    record = await chain.record_when(region, person, lambda r: in_state("paid", "covered")(r)
                                     and (enrollment_of(r) or {}).get("funded_by") is not None)
    e = enrollment_of(record)
    assert e is not None
    assert (e["paid_total_fen"], e["funded_by"], e["benefit_start"], e["benefit_end"], e["waiting_months"]) == (
        0, funded_by, "2025-01-01", "2025-12-31", 0), e
    assert record["payments"] == [] and record["refunds"] == []
    await chain.advance_coverage(region, "2025-01-01")
    record = await chain.record_when(region, person, in_state("covered"))
    return record


async def counted_as_enrolled(chain: Chain, region: str, person: str, category: str) -> None:
    """Off the group's 应保未保 list once reconciliation holds the enrollment; the group counts them enrolled."""
    await chain.reconciled_when(region, person, lambda v: bool(v["statuses"]) and any(
        e["year"] == YEAR and e["state"] == "paid" for e in v["enrollments"]))
    groups = {g["category"]: g for g in (await chain.vulnerable(region, YEAR))["groups"]}
    assert groups[category]["enrolled"] >= 1, groups
    assert mask(person) not in {p["person"] for p in groups[category]["not_enrolled"]}, groups[category]


async def test_an_extreme_poverty_person_in_huoqiu_is_covered_free_by_county_finance(chain: Chain) -> None:
    """特困供养人员: "财政给予全额资助" (seed 002 L14): the quote says 0, the record shows the cover 2025-01-01 …
    2025-12-31 (L12) with no receipt, funded by finance, and the 400 is booked to 财政资金 for the township."""
    person = resident_id(HQ)
    await chain.baseline(HQ, [(person, *HQ_PLACE)])
    await certify(chain, "civil_affairs", HQ, person, "extreme_poverty", HQ_PLACE)
    due = await quoted_at(chain, HQ, person, 0)
    assert (due["standard_fen"], due["subsidy_fen"]) == (40000, 40000)
    assert status_lines(due) == [("extreme_poverty", 40000, "finance", "net")]
    await covered_free_of_charge(chain, HQ, person, "finance")
    await counted_as_enrolled(chain, HQ, person, "extreme_poverty")
    booked = (await chain.transfers(HQ, YEAR))["by_source_and_township"]
    assert any((b["funding_source"], b["township"], b["mode"]) == ("finance", HQ_PLACE[0], "net")
               and b["amount_fen"] >= 40000 for b in booked), booked


async def test_an_unsupported_child_in_ankang_is_covered_in_full_like_an_orphan(chain: Chain) -> None:
    """"特困人员、孤儿（含事实无人抚养儿童）给予全额资助" (seed 004 L40): a 事实无人抚养儿童 certified by civil
    affairs owes nothing and is covered from 2025-01-01 (L66-68) with no receipt, by medical assistance (pack
    default: L38 names finance and the medical-assistance fund, not which)."""
    child = resident_id(AK, born=date(2016, 4, 2))
    await chain.baseline(AK, [(child, *AK_PLACE)])
    await certify(chain, "civil_affairs", AK, child, "unsupported_child", AK_PLACE)
    due = await quoted_at(chain, AK, child, 0)
    assert status_lines(due) == [("unsupported_child", 40000, "medical_assistance", "net")]
    await covered_free_of_charge(chain, AK, child, "medical_assistance")
    await counted_as_enrolled(chain, AK, child, "unsupported_child")


async def test_minimum_living_and_extreme_poverty_in_ankang_the_higher_wins_and_nothing_is_owed(
        chain: Chain) -> None:
    """"具有多重困难身份的资助参保对象，资助标准就高不就低" (seed 004 L38): 低保 (200, L42) and 特困 (full, L40) give
    one line, the full one; the person owes nothing and is covered with no receipt."""
    person = resident_id(AK)
    await chain.baseline(AK, [(person, *AK_PLACE)])
    await certify(chain, "civil_affairs", AK, person, "minimum_living", AK_PLACE)
    await quoted_at(chain, AK, person, 20000)
    await chain.certify("civil_affairs", AK, "2024-11", [
        {"id": person, "category": c, "certified_on": CERTIFIED, "township": AK_PLACE[0], "village": AK_PLACE[1]}
        for c in ("minimum_living", "extreme_poverty")])
    due = await quoted_at(chain, AK, person, 0)
    assert status_lines(due) == [("extreme_poverty", 40000, "medical_assistance", "net")], due
    record = await covered_free_of_charge(chain, AK, person, "medical_assistance")
    assert sorted(s["category"] for s in record["statuses"]) == ["extreme_poverty", "minimum_living"]


async def test_minimum_living_and_poverty_monitoring_in_huoqiu_pays_40_and_is_covered(chain: Chain) -> None:
    """霍邱: 低保 360, 监测 200 (seed 002 L14), two departments' lists; the higher subsidy wins (pack
    status_rules.multiple, as 004 L38): the person pays 40 on 2024-11-20, in the collection period, and is
    covered 2025-01-01 … 2025-12-31 (L12); the village counts the payment and the 低保 group the enrollment."""
    person = resident_id(HQ)
    await chain.baseline(HQ, [(person, *HQ_PLACE)])
    await certify(chain, "civil_affairs", HQ, person, "minimum_living", HQ_PLACE)
    await quoted_at(chain, HQ, person, 4000)
    await certify(chain, "agriculture", HQ, person, "poverty_monitoring", HQ_PLACE)
    await chain.tax_side_knows(person, YEAR, lambda facts: len(facts["statuses"]) == 2)
    due = await quoted_at(chain, HQ, person, 4000)
    assert status_lines(due) == [("minimum_living", 36000, "medical_assistance", "net")], due

    await chain.pay(person, 4000, region=HQ, year=YEAR, paid_at=beijing("2024-11-20"))
    record = await chain.record_when(HQ, person, in_state("paid", "covered"))
    e = enrollment_of(record)
    assert e is not None and (e["paid_total_fen"], e["policy_path"], e["benefit_start"], e["benefit_end"],
                              e["waiting_months"], e["funded_by"]) == (
        4000, "collection", "2025-01-01", "2025-12-31", 0, None), e
    await counted_as_enrolled(chain, HQ, person, "minimum_living")
    await until(lambda: chain.progress(HQ, YEAR), lambda p: any(
        (v["township"], v["village"]) == HQ_PLACE and v["paid_people"] >= 1 for v in p["villages"]))


async def test_listed_by_huoqiu_and_ankang_the_person_is_judged_where_enrolled_on_that_regions_list(
        chain: Chain) -> None:
    """Both counties' civil affairs list one person as 低保: a 霍邱 hukou living in 安康 on a residence permit. Each
    region's status event carries its own list. Unenrolled, the due is 霍邱's, on 霍邱's standard: 360 subsidised,
    40 to pay (seed 002 L14). The person registers in 安康, where they hold the residence permit ("参保地必须至少与
    户籍地或居住证所在地中一项相同", seed 004 L116): the due moves there and is judged on 安康's list and standard,
    200 subsidised, 200 to pay (L42); paid on 2024-11-15, in the period (L60), covered 2025-01-01 … 2025-12-31."""
    person = resident_id(HQ)
    await chain.baseline(HQ, [(person, *HQ_PLACE)])
    await certify(chain, "civil_affairs", HQ, person, "minimum_living", HQ_PLACE)
    home = await quoted_at(chain, HQ, person, 4000)
    assert status_lines(home) == [("minimum_living", 36000, "medical_assistance", "net")]
    await certify(chain, "civil_affairs", AK, person, "minimum_living", AK_PLACE, certified_on="2024-10-20")
    events = await until(lambda: chain.status_changes(person), lambda found: {e["region"] for e in found} == {HQ, AK})
    assert {(e["region"], tuple((s["category"], s["certified_on"]) for s in e["statuses"])) for e in events} == {
        (HQ, (("minimum_living", CERTIFIED),)), (AK, (("minimum_living", "2024-10-20"),))}
    await chain.record_when(AK, person, lambda r: bool(r["statuses"]))

    registered = await chain.register(AK, {"id": person, "year": YEAR, "registered_on": "2024-11-15",
                                           "hukou_region": HQ, "residence_region": AK})
    assert registered.status_code == 200, registered.text
    assert (registered.json()["expected_due_fen"], registered.json()["expected_benefit_start"]) == (20000, "2025-01-01")
    here = await quoted_at(chain, AK, person, 20000)
    assert status_lines(here) == [("minimum_living", 20000, "medical_assistance", "net")], here
    await chain.tax_side_knows(person, YEAR, lambda facts: [s["certified_on"] for s in facts["statuses"]] == [
        "2024-10-20"])  # 安康's list is the one the tax side collects by

    await chain.pay(person, 20000, region=AK, year=YEAR, paid_at=beijing("2024-11-15"))
    record = await chain.record_when(AK, person, in_state("paid", "covered"))
    e = enrollment_of(record)
    assert e is not None and (e["paid_total_fen"], e["hukou_region"], e["residence_region"], e["benefit_start"],
                              e["benefit_end"], e["waiting_months"]) == (
        20000, HQ, AK, "2025-01-01", "2025-12-31", 0), e
    assert [(s["category"], s["certified_on"]) for s in record["statuses"]] == [("minimum_living", "2024-10-20")]
    await counted_as_enrolled(chain, AK, person, "minimum_living")


async def test_an_ankang_minimum_living_holder_who_pays_after_the_period_loses_the_subsidy(chain: Chain) -> None:
    """"个人缴费享受分类资助的参保人员，应在集中缴费期参保，未在集中缴费期参保的，不享受个人缴费分类资助政策，可按
    全省规定的个人缴费标准缴费后 … 待遇享受期从居民医保缴费后的次月起" (seed 004 L98). A 低保 holder (200, L42) who
    did not pay by 2024-12-20 (L60) pays 400 on 2025-02-10: covered from 2025-03-01, with no waiting."""
    person = resident_id(AK)
    await chain.baseline(AK, [(person, *AK_PLACE)])
    await certify(chain, "civil_affairs", AK, person, "minimum_living", AK_PLACE)
    await quoted_at(chain, AK, person, 20000)
    await chain.record_when(AK, person, lambda r: bool(r["statuses"]))
    registered = await chain.register(AK, {"id": person, "year": YEAR, "registered_on": "2025-02-10"})
    assert registered.status_code == 200, registered.text
    assert (registered.json()["path"], registered.json()["expected_due_fen"],
            registered.json()["expected_benefit_start"]) == ("subsidised_late", 40000, "2025-03-01")

    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-02-10"))
    record = await chain.record_when(AK, person, in_state("paid", "covered"))
    e = enrollment_of(record)
    assert e is not None and (e["paid_total_fen"], e["policy_path"], e["benefit_start"], e["benefit_end"],
                              e["waiting_months"]) == (40000, "subsidised_late", "2025-03-01", "2025-12-31", 0), e
    due = await quoted_at(chain, AK, person, 40000)
    assert (due["subsidy_fen"], due["lines"]) == (0, []), due
    assert any("不享受个人缴费资助" in r for r in due["reasons"]), due["reasons"]


async def test_a_huoqiu_entitled_veteran_pays_400_first_on_a_provisional_figure_the_console_lists(
        chain: Chain) -> None:
    """重点优抚对象: 霍邱's notice gives only who lists them (seed 002 L14); the pack takes 怀远's rule (full, county
    finance, 先缴后补: seed 000 L101-115) as a provisional default awaiting 霍邱县医疗保障局. The quote asks the full
    400, says 400 comes back later and that the figure is 暂定; once paid, the 400 is ordered back through the
    township; the console lists the figure and who must fill it in."""
    person = resident_id(HQ)
    await chain.baseline(HQ, [(person, *HQ_PLACE)])
    await certify(chain, "veterans", HQ, person, "entitled_veteran", HQ_PLACE)
    due = await quoted_at(chain, HQ, person, 40000)
    assert (due["subsidy_fen"], due["refund_after_fen"]) == (40000, 40000), due
    assert status_lines(due) == [("entitled_veteran", 40000, "finance", "refund_after")]
    assert due["reasons"][0].startswith("暂定：") and "霍邱县医疗保障局" in due["reasons"][0], due["reasons"]

    await chain.pay(person, 40000, region=HQ, year=YEAR, paid_at=beijing("2024-11-25"))
    e = enrollment_of(await chain.record_when(HQ, person, in_state("paid", "covered")))
    assert e is not None and (e["paid_total_fen"], e["benefit_start"], e["benefit_end"]) == (
        40000, "2025-01-01", "2025-12-31"), e
    owed = await until(lambda: refunds_owed(chain, HQ),
                       lambda r: any(x["person"] == mask(person) for x in r["refunds"]))
    [refund] = [x for x in owed["refunds"] if x["person"] == mask(person)]
    assert (refund["amount_fen"], refund["funding_source"], refund["township"]) == (40000, "finance", HQ_PLACE[0])

    page = await console(chain, HQ)
    assert "暂定政策参数" in page and "重点优抚对象资助标准" in page
    assert "霍邱县医疗保障局（会同县退役军人事务局）" in page


async def test_a_ziyang_minimum_living_holder_pays_on_the_provisional_county_standard(chain: Chain) -> None:
    """紫阳县 (610924) "保持现行资助标准不变", a standard above 200 the seed does not give (seed 004 L42): the pack
    holds 200 for now, awaiting 紫阳县医疗保障局. The quote asks 200 and says 暂定; the person pays it on
    2024-12-10, in the period (L60), and is covered 2025-01-01 … 2025-12-31 (L66-68); 紫阳县's console lists
    the figure."""
    person = resident_id(ZIYANG)
    await chain.baseline(ZIYANG, [(person, *ZIYANG_PLACE)])
    await certify(chain, "civil_affairs", ZIYANG, person, "minimum_living", ZIYANG_PLACE)
    due = await quoted_at(chain, ZIYANG, person, 20000)
    assert status_lines(due) == [("minimum_living", 20000, "medical_assistance", "net")]
    assert due["reasons"][0].startswith("暂定：") and "紫阳县医疗保障局" in due["reasons"][0], due["reasons"]
    await chain.tax_side_knows(person, YEAR, lambda facts: [x["category"] for x in facts["statuses"]] == [
        "minimum_living"])

    await chain.pay(person, 20000, region=ZIYANG, year=YEAR, paid_at=beijing("2024-12-10"))
    e = enrollment_of(await chain.record_when(ZIYANG, person, in_state("paid", "covered")))
    assert e is not None and (e["paid_total_fen"], e["benefit_start"], e["benefit_end"], e["waiting_months"]) == (
        20000, "2025-01-01", "2025-12-31", 0), e
    page = await console(chain, ZIYANG)
    assert "紫阳县资助标准" in page and "紫阳县医疗保障局" in page
