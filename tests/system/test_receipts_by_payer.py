"""Receipts judged by the payer's own due (issue 13, point 1): kind, event date and statuses reach the tax side.

A receipt names no enrollment path. The registration's kind and event date and the department's
statuses reach subsidy; its due carries them (`payer`) to payment ingest, which judges each receipt
by them on the receipt's own date: the kind's own window and amount, not a general resident's.
Seeds: 003 (双清区 430502: outside the collection period 400 + 670 with a wait, except the special
cases at the individual rate, L45-55) and 004 (安康市 610900: no payment after the supplementary
period ends on 31 March, except newborns L78, employee-insurance lapses L74, special groups L96 and
subsidised late payers L98).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

SQ, AK, YEAR = "430502", "610900", 2025
PLACES = {SQ: ("渡头桥镇", "渡头桥社区"), AK: ("江北街道", "张岭社区")}

paid = in_state("paid")


async def registered(chain: Chain, region: str, person: str, kind: str, registered_on: str,
                     event_date: str | None = None) -> dict[str, Any]:
    await chain.baseline(region, [(person, *PLACES[region])])
    body = {"id": person, "year": YEAR, "kind": kind, "registered_on": registered_on}
    if event_date:
        body["event_date"] = event_date
    answer = await chain.register(region, body)
    assert answer.status_code == 200, answer.text
    await chain.tax_side_knows(person, YEAR, lambda facts: facts["kind"] == kind)
    return answer.json()


async def rejected_receipts(chain: Chain, region: str, person: str) -> list[dict[str, Any]]:
    """The refused receipts reconciliation shows in the person's view (the clerk asks by ID)."""
    record = await chain.reconciled_when(region, person, lambda r: bool(r["refused_receipts"]))
    refused: list[dict[str, Any]] = record["refused_receipts"]
    return refused


async def test_a_shuangqing_employee_lapse_pays_400_after_the_period_and_is_covered_from_the_lapse(chain: Chain):
    """Employee insurance lapsed 2025-02-10; registered 2025-03-05 and paid 400 on 2025-03-06, within 90 days:
    the individual rate and cover from the lapse (seed 003 L51), where a general resident paying that day owes
    400 + 670 = 1,070 (L45). The receipt is accepted, the record is paid from 2025-02-10 with no wait."""
    person = resident_id(SQ)
    await registered(chain, SQ, person, "employee_lapse", "2025-03-05", "2025-02-10")
    await chain.pay(person, 40000, region=SQ, year=YEAR, paid_at=beijing("2025-03-06"))
    e = enrollment_of(await chain.record_when(SQ, person, paid))
    assert e is not None
    assert (e["kind"], e["paid_total_fen"], e["benefit_start"], e["waiting_months"]) == (
        "employee_lapse", 40000, "2025-02-10", 0), e


async def test_a_general_resident_paying_400_on_the_same_day_is_refused_against_1070(chain: Chain):
    """The contrast of the scenario above: registered as a general resident on 2025-03-05, outside the collection
    period (seed 003 L45: 按照个人缴费标准加财政补助标准之和缴费): 400 is refused as not the 1,070 due, with the
    reason kept; nothing is paid in the record."""
    person = resident_id(SQ)
    await registered(chain, SQ, person, "general", "2025-03-05")
    sent = await chain.pay(person, 40000, region=SQ, year=YEAR, paid_at=beijing("2025-03-06"))
    [refused] = await rejected_receipts(chain, SQ, person)
    assert refused["receipt_no"] == sent["receipt_no"] and refused["reason_code"] == "amount_differs_from_due"
    e = enrollment_of((await chain.record(SQ, person)).json())
    assert e is not None and (e["state"], e["paid_total_fen"]) == ("registered", 0)


async def test_an_ankang_newborn_pays_in_may_and_is_covered_from_birth(chain: Chain):
    """安康 takes no general payment after 31 March (seed 004 L62, L68); a baby born 2025-04-10 pays the standard
    within 90 days and is covered from birth (L78)."""
    baby = resident_id(AK, born=date(2025, 4, 10))
    await registered(chain, AK, baby, "newborn", "2025-04-20")
    await chain.pay(baby, 40000, region=AK, year=YEAR, paid_at=beijing("2025-05-01"))
    e = enrollment_of(await chain.record_when(AK, baby, paid))
    assert e is not None and (e["benefit_start"], e["benefit_end"]) == ("2025-04-10", "2025-12-31"), e


async def test_an_ankang_discharged_soldier_pays_in_june_and_is_covered_from_the_next_month(chain: Chain):
    """A soldier discharged 2025-05-20 pays the individual rate in June and is covered from the month after
    payment (seed 004 L32-34, L96)."""
    person = resident_id(AK, born=date(2000, 3, 3))
    await registered(chain, AK, person, "discharged_soldier", "2025-05-25", "2025-05-20")
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-06-02"))
    e = enrollment_of(await chain.record_when(AK, person, paid))
    assert e is not None and (e["kind"], e["benefit_start"]) == ("discharged_soldier", "2025-07-01"), e


async def test_an_ankang_minimum_living_holder_paying_late_pays_400_without_the_subsidy(chain: Chain):
    """A 低保 holder certified in the collection period who did not pay in it nor in the supplementary period pays
    the standard 400 without the classified subsidy and is covered from the next month (seed 004 L98); the
    collection-period due the quote showed (340 subsidy) does not apply any more."""
    person = resident_id(AK, born=date(1960, 5, 5))
    await chain.baseline(AK, [(person, *PLACES[AK])])
    await chain.certify("civil_affairs", AK, "2024-10", [{"id": person, "category": "minimum_living",
                                                         "certified_on": "2024-10-08", "township": PLACES[AK][0],
                                                         "village": PLACES[AK][1]}])
    await chain.tax_side_knows(person, YEAR, lambda facts: [s["category"] for s in facts["statuses"]] == ["minimum_living"])
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-05-06"))
    e = enrollment_of(await chain.record_when(AK, person, paid))
    assert e is not None and (e["paid_total_fen"], e["benefit_start"]) == (40000, "2025-06-01"), e
    quote = (await until(lambda: chain.quote(AK, person, YEAR),
                         lambda r: r.status_code == 200 and r.json()["due_fen"] == 40000)).json()
    assert quote["subsidy_fen"] == 0


async def test_the_tax_gateway_asks_for_the_due_on_the_day_of_payment(chain: Chain):
    """The quote for a payment on a given day (`paid_on`) is the rules of that day with everything known of the
    person: in 双清 a general resident owes 400 in the collection period and 1,070 after it (seed 003 L45), a lapse
    within 90 days 400 (L51); someone the system does not know yet is judged as a general resident; in 安康 a
    general resident has no path after 31 March (seed 004 L68)."""
    lapse, stranger = resident_id(SQ), resident_id(SQ)
    await registered(chain, SQ, lapse, "employee_lapse", "2025-03-05", "2025-02-10")

    async def on(region: str, person: str, day: str) -> dict[str, Any]:
        answer = await chain._call("POST", "subsidy", "/api/quote", region, "tax_gateway",
                                   json={"id": person, "year": YEAR, "paid_on": day})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert person not in answer.text and body["source"] == "rules"
        return body

    assert [(await on(SQ, stranger, day))["due_fen"] for day in ("2024-11-05", "2025-03-06")] == [40000, 107000]
    lapsed = await on(SQ, lapse, "2025-03-06")
    assert (lapsed["payable"], lapsed["due_fen"], lapsed["path"], lapsed["benefit_start"]) == (
        True, 40000, "employee_lapse_90_days", "2025-02-10")
    late = await on(AK, resident_id(AK), "2025-05-06")
    assert (late["payable"], late["due_fen"]) == (False, None) and late["reasons"]
