"""双清区 (430502), coverage year 2025: refused registrations kept, and event dates that reach the due.

Seed 003 (003_8b38354bfe017e43.txt, 双政办发〔2024〕11号《2025年度双清区城乡居民基本医疗保险参保缴费
工作方案》; policy pack shared/policy/packs/430502-2025.yaml). The collection period is 2024-09-01 …
2024-12-31, cover 2025-01-01 … 2025-12-31 (L43); outside it a person pays 400 + 670 with a waiting
period, except the special cases, who pay the individual rate (L45): among them children taken in by a
child-welfare institution (L49) and people whose employee insurance lapsed (L51).

Each test follows people through the running services by their public interfaces: the register and
registrations at enrollment, the department's list at identity, the quote at subsidy, the person's
record (一人一档) at enrollment, and enrollment's /metrics for the counts.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id

REGION, YEAR = "430502", 2025
TOWNSHIP, VILLAGE = "渡头桥镇", "渡头桥社区"
REFUSALS = "yibao_registrations_total"


def refused_in(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in record["refused_registrations"] if r["year"] == YEAR]


def enrollment_of(record: dict[str, Any]) -> dict[str, Any]:
    [found] = [e for e in record["enrollments"] if e["year"] == YEAR]  # the record holds the caller's region only
    return found


def benefit_from(quote: dict[str, Any], start: str) -> bool:
    """The quote's reasons name the benefit period the pack gives the kind's path (`待遇享受期：<start> 至 …`)."""
    return any(r.startswith(f"待遇享受期：{start} 至 {YEAR}-12-31") for r in quote["reasons"])


async def test_an_employee_lapse_registered_without_its_lapse_date_is_refused_and_kept_in_the_record(chain: Chain):
    """A lapse is covered from the day the employee insurance stopped, if registered within 90 days of it
    (seed 003 L51: 在断保90天内…参保…可自职工医保断保之日起享受居民医保待遇): without that day the rules cannot
    judge the registration. The refusal is answered (422, with its reason) and kept: the office finds it in
    the person's record with its reason, who asked and when, and it is counted."""
    person = resident_id(REGION)
    await chain.baseline(REGION, [(person, TOWNSHIP, VILLAGE)])
    before = await chain.metric("enrollment", REFUSALS, region=REGION, outcome="refused", reason_code="policy_error")

    answer = await chain.register(REGION, {"id": person, "year": YEAR, "kind": "employee_lapse",
                                           "registered_on": "2025-03-05"})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail["reason_code"] == "policy_error" and "事件日期" in detail["reasons"][0]

    record = (await chain.record(REGION, person)).json()
    [kept] = refused_in(record)
    assert (kept["kind"], kept["registered_on"], kept["event_date"], kept["reason_code"], kept["reasons"]) == (
        "employee_lapse", "2025-03-05", None, "policy_error", detail["reasons"])
    assert kept["requested_by"] == f"场景测试：agency@{REGION}" and kept["refused_at"]
    assert record["enrollments"] == []                    # refused: nothing was registered
    assert person not in str(record)                      # the answer shows the person masked only
    assert await chain.metric("enrollment", REFUSALS, region=REGION, outcome="refused",
                              reason_code="policy_error") == before + 1


async def test_a_bulk_of_three_with_one_refused_keeps_one_refusal_and_registers_two(chain: Chain):
    """Residents enrol where their hukou is, or where they live (seed 003 L33: 在户籍所在地参保…也可在常住地
    参加居民医保): two people of the register are registered in the collection period (L43); a third, neither
    in the register nor declaring a hukou or residence permit, is refused. Count in = accepted + refused: the
    answer, the records and the counter all say 3 = 2 + 1, and the refusal is kept on its line."""
    listed = [resident_id(REGION), resident_id(REGION)]
    stranger = resident_id(REGION)
    await chain.baseline(REGION, [(p, TOWNSHIP, VILLAGE) for p in listed])
    counted = {(outcome, code): await chain.metric("enrollment", REFUSALS, region=REGION, outcome=outcome,
                                                   reason_code=code)
               for outcome, code in (("registered", ""), ("refused", "place_unknown"))}

    answer = await chain.register_bulk(REGION, [{"id": p, "year": YEAR, "registered_on": "2024-11-05"}
                                                for p in (listed[0], listed[1], stranger)])
    assert (answer["total"], answer["accepted"], answer["registered"], answer["refused"]) == (3, 2, 2, 1)
    assert [r["outcome"] for r in answer["results"]] == ["registered", "registered", "refused"]

    for person in listed:
        record = (await chain.record(REGION, person)).json()
        assert enrollment_of(record)["state"] == "registered" and refused_in(record) == []
    record = (await chain.record(REGION, stranger)).json()  # known only by the refusal: still a record
    [kept] = refused_in(record)
    assert (kept["line_no"], kept["reason_code"], kept["registered_on"]) == (3, "place_unknown", "2024-11-05")
    assert "无法核验参保地" in kept["reasons"][0] and record["enrollments"] == []
    for (outcome, code), was in counted.items():
        now = await chain.metric("enrollment", REFUSALS, region=REGION, outcome=outcome, reason_code=code)
        assert now == was + (2 if outcome == "registered" else 1), (outcome, code)


async def test_an_employee_insurance_lapse_after_the_collection_period_gets_its_due_from_the_lapse(chain: Chain):
    """A 低保 holder certified in the collection period keeps this year's subsidy of 200 (seed 003 L61, L77);
    the employee insurance lapsed on 2025-02-10 and the person registered on 2025-03-05, within 90 days: the
    individual rate, not 400 + 670 (L45), cover from the lapse (L51; pack paths.employee_lapse_90_days,
    benefit_start: event). The quote says 200 on that path, cover from 2025-02-10 — not the collection
    period's due from 2025-01-01, and not unassessed."""
    person = resident_id(REGION)
    await chain.baseline(REGION, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify("civil_affairs", REGION, "2024-10", [
        {"id": person, "category": "minimum_living", "certified_on": "2024-10-08", "township": TOWNSHIP,
         "village": VILLAGE}])
    await chain.record_when(REGION, person, lambda r: bool(r["statuses"]))  # enrollment knows the status

    answer = await chain.register(REGION, {"id": person, "year": YEAR, "kind": "employee_lapse",
                                           "event_date": "2025-02-10", "registered_on": "2025-03-05"})
    assert answer.status_code == 200, answer.text
    registered = answer.json()
    assert (registered["path"], registered["expected_due_fen"], registered["expected_benefit_start"]) == (
        "employee_lapse_90_days", 20000, "2025-02-10")

    quote = (await until(lambda: chain.quote(REGION, person, YEAR),
                         lambda r: r.status_code == 200 and benefit_from(r.json(), "2025-02-10"))).json()
    assert (quote["standard_fen"], quote["subsidy_fen"], quote["due_fen"]) == (40000, 20000, 20000)
    assert [(x["category"], x["funding_source"]) for x in quote["lines"]] == [("minimum_living", "medical_assistance")]
    assert any("劳动关系终止导致职工医保断保" in r for r in quote["reasons"])
    enrollment = enrollment_of((await chain.record(REGION, person)).json())
    assert (enrollment["kind"], enrollment["event_date"]) == ("employee_lapse", "2025-02-10")


async def test_a_child_taken_in_by_a_welfare_institution_after_the_period_is_funded_by_the_institution(chain: Chain):
    """A child a child-welfare institution took in on 2025-03-01, outside the collection period, enrols at
    any time and is covered from the day of entry; outside the period the institution pays the whole
    contribution (seed 003 L49: 自进入儿童福利机构之日起享受医保待遇…集中参保缴费规定时间外的，其参保费用，
    由儿童福利机构全额资助; pack paths.welfare_institution_child, subsidy: institution). The quote: nothing
    due, 400 funded by the welfare institution, cover from 2025-03-01."""
    child = resident_id(REGION, born=date(2018, 6, 1))
    await chain.baseline(REGION, [(child, TOWNSHIP, VILLAGE)])

    answer = await chain.register(REGION, {"id": child, "year": YEAR, "kind": "welfare_institution_child",
                                           "event_date": "2025-03-01", "registered_on": "2025-03-03"})
    assert answer.status_code == 200, answer.text
    registered = answer.json()
    assert (registered["path"], registered["expected_due_fen"], registered["expected_benefit_start"]) == (
        "welfare_institution_child", 0, "2025-03-01")

    quote = (await until(lambda: chain.quote(REGION, child, YEAR),
                         lambda r: r.status_code == 200 and benefit_from(r.json(), "2025-03-01"))).json()
    assert (quote["standard_fen"], quote["subsidy_fen"], quote["due_fen"]) == (40000, 40000, 0)
    assert [(x["amount_fen"], x["funding_source"]) for x in quote["lines"]] == [(40000, "welfare_institution")]
