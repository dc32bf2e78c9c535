"""History reaches the engine (issue 13, point 3): earlier years of cover, lapses and years paid back decide the
waiting period and the critical-illness cap in the person's record (一人一档).

The registering office declares the years of cover the national platform shows (`enrolled_years`, the years
with nothing reimbursed); a gap year is paid back with a tax receipt of item `…_payback` for that year, taken
where the pack provides for it. Seeds: 004 (安康市 610900) L62, L68 (补缴期 2025-01-01 … 03-31, fixed wait of 3
months), L106 (cap −3,000 after a lapse, +3,000 per continuous year past 4 and per zero-reimbursement year),
L108 (+1 month per further gap year, −1 month per year paid back, at least 6 months after 4+ gap years);
000 (怀远县 340321) L129-131 (the same incentives, 国办发〔2024〕38号).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.chain import Chain
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of, in_state

AK, HY, YEAR = "610900", "340321", 2025
PLACES = {AK: ("江北街道", "张岭社区"), HY: ("榴城镇", "城关村")}
PAYBACK = "resident_medical_insurance_payback"

paid = in_state("paid")


async def registered(chain: Chain, region: str, person: str, registered_on: str, **history: list[int]) -> None:
    await chain.baseline(region, [(person, *PLACES[region])])
    answer = await chain.register(region, {"id": person, "year": YEAR, "registered_on": registered_on, **history})
    assert answer.status_code == 200, answer.text
    years = history.get("enrolled_years", [])
    await chain.tax_side_knows(person, YEAR, lambda facts: facts["enrolled_years"] == years)


async def pay_back(chain: Chain, person: str, gap_year: int, day: str) -> dict[str, Any]:
    sent: dict[str, Any] = await chain.pay(person, 40000, region=AK, year=gap_year, paid_at=beijing(day), item=PAYBACK)
    return sent


async def test_a_lapse_of_two_years_waits_four_months_and_loses_3000_of_the_cap(chain: Chain):
    """Covered 2021-2022, not 2023-2024; paid 400 in the supplementary period on 2025-02-10: 3 months fixed
    (L68) + 1 month for the second gap year (L108) = 4 months, cover from 2025-06-10; the cap is cut by 3,000
    after the lapse (L106)."""
    person = resident_id(AK, born=date(1975, 4, 4))
    await registered(chain, AK, person, "2025-02-05", enrolled_years=[2021, 2022])
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-02-10"))
    e = enrollment_of(await chain.record_when(AK, person, paid))
    assert e is not None
    assert (e["waiting_months"], e["benefit_start"], e["cap_adjustment_fen"], e["enrolled_years"]) == (
        4, "2025-06-10", -300000, [2021, 2022]), e


async def test_paying_back_a_gap_year_first_repairs_one_month(chain: Chain):
    """The same lapse, 2023 paid back (400, the individual rate, L108) before paying for 2025: 3 months, cover
    from 2025-05-10; the payback is in the record's history and payments, booked to 2023, not to 2025."""
    person = resident_id(AK, born=date(1975, 4, 4))
    await registered(chain, AK, person, "2025-02-05", enrolled_years=[2021, 2022])
    back = await pay_back(chain, person, 2023, "2025-02-06")
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-02-10"))
    record = await chain.record_when(AK, person, paid)
    e = enrollment_of(record)
    assert e is not None
    assert (e["waiting_months"], e["benefit_start"], e["paid_back_years"], e["paid_total_fen"]) == (
        3, "2025-05-10", [2023], 40000), e
    [kept] = [h for h in record["history"] if h["year"] == 2023]
    assert (kept["paid_back_receipt"], kept["source"]) == (back["receipt_no"], "payback")
    assert {(p["year"], p["item"]) for p in record["payments"]} == {(2023, PAYBACK), (2025, "resident_medical_insurance")}


async def test_a_year_paid_back_after_the_payment_brings_the_cover_forward(chain: Chain):
    """Paid 2025-02-10 with 4 months to wait; 2023 paid back on 2025-02-12, before the cover began: the
    enrollment is judged again on its payment day, 3 months, cover from 2025-05-10."""
    person = resident_id(AK, born=date(1976, 5, 5))
    await registered(chain, AK, person, "2025-02-05", enrolled_years=[2021, 2022])
    await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-02-10"))
    await chain.record_when(AK, person, lambda r: paid(r) and enrollment_of(r)["waiting_months"] == 4)
    await pay_back(chain, person, 2023, "2025-02-12")
    e = enrollment_of(await chain.record_when(
        AK, person, lambda r: paid(r) and enrollment_of(r)["paid_back_years"] == [2023]))
    assert e is not None and (e["waiting_months"], e["benefit_start"]) == (3, "2025-05-10"), e


async def test_a_payback_for_a_year_that_was_covered_is_refused_with_its_reason(chain: Chain):
    """2022 was covered: there is nothing to repair, the receipt is refused (kept with the reason, shown in
    the person's view at reconciliation), and the enrollment's wait is unchanged."""
    person = resident_id(AK, born=date(1977, 6, 6))
    await registered(chain, AK, person, "2025-02-05", enrolled_years=[2021, 2022])
    sent = await pay_back(chain, person, 2022, "2025-02-06")
    view = await chain.reconciled_when(AK, person, lambda r: bool(r["refused_receipts"]))
    [refused] = view["refused_receipts"]
    assert (refused["receipt_no"], refused["reason_code"]) == (sent["receipt_no"], "payback_not_a_gap_year")
    assert "2023—2024" in refused["reason"]


async def test_six_continuous_years_with_a_zero_reimbursement_year_raise_the_cap_in_huaiyuan(chain: Chain):
    """Covered 2019-2024 and nothing reimbursed in 2024; paid in the collection period: no wait, cover from
    2025-01-01; 7 continuous years with this one, 3 past the first 4 (+3 × 3,000) and the zero-reimbursement
    year (+3,000): the cap is raised by 12,000 (seed 000 L129-131; the pack's amounts, 国办发〔2024〕38号)."""
    person = resident_id(HY, born=date(1970, 7, 7))
    await registered(chain, HY, person, "2024-11-04", enrolled_years=list(range(2019, 2025)),
                     zero_reimbursement_years=[2024])
    await chain.pay(person, 40000, region=HY, year=YEAR, paid_at=beijing("2024-11-05"))
    e = enrollment_of(await chain.record_when(HY, person, paid))
    assert e is not None
    assert (e["waiting_months"], e["benefit_start"], e["cap_adjustment_fen"], e["zero_reimbursement_years"]) == (
        0, "2025-01-01", 1200000, [2024]), e


async def test_a_three_year_lapse_paying_in_the_collection_period_still_waits_five_months_in_huaiyuan(chain: Chain):
    """Covered 2020-2021 only; paying in the collection period does not spare the wait of someone who did not
    enrol continuously: 3 months fixed + 2 for the two gap years past the first = 5, cover from 2025-06-01."""
    person = resident_id(HY, born=date(1971, 8, 8))
    await registered(chain, HY, person, "2024-11-04", enrolled_years=[2020, 2021])
    await chain.pay(person, 40000, region=HY, year=YEAR, paid_at=beijing("2024-11-05"))
    e = enrollment_of(await chain.record_when(HY, person, paid))
    assert e is not None and (e["waiting_months"], e["benefit_start"], e["cap_adjustment_fen"]) == (
        5, "2025-06-01", -300000), e


async def test_an_ankang_switch_from_employee_insurance_within_three_months_has_no_wait(chain: Chain):
    """Covered 2023-2024 (employee insurance counts: basic medical insurance), employee insurance stopped
    2024-11-15, resident insurance paid 2025-01-20: two continuous years and a gap of at most three months —
    no waiting period, cover from the month of payment, 2025-01-01 (seed 004 L140), where a lapse without that
    continuity is covered from the next month (L74)."""
    switched, newcomer = resident_id(AK, born=date(1985, 9, 9)), resident_id(AK, born=date(1986, 10, 10))
    for person, years in ((switched, [2023, 2024]), (newcomer, [2024])):
        await chain.baseline(AK, [(person, *PLACES[AK])])
        answer = await chain.register(AK, {"id": person, "year": YEAR, "kind": "employee_lapse",
                                           "event_date": "2024-11-15", "registered_on": "2025-01-18",
                                           "enrolled_years": years})
        assert answer.status_code == 200, answer.text
        await chain.tax_side_knows(person, YEAR, lambda facts, years=years: facts["enrolled_years"] == years)
        await chain.pay(person, 40000, region=AK, year=YEAR, paid_at=beijing("2025-01-20"))
    e = enrollment_of(await chain.record_when(AK, switched, paid))
    assert e is not None and (e["policy_path"], e["benefit_start"], e["waiting_months"]) == (
        "scheme_change_within_3_months", "2025-01-01", 0), e
    e = enrollment_of(await chain.record_when(AK, newcomer, paid))
    assert e is not None and (e["policy_path"], e["benefit_start"]) == ("employee_lapse", "2025-02-01"), e
