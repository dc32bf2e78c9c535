"""Receipts whose right amount depends on the payer's kind and event date, through the running system.

"What a receipt must amount to depends on the payer: kind (newborn, lapse, soldier …), event date, statuses and
history, on the region's local date, not on what a general resident would owe on that day" (DOMAIN.md §3). Each
person here is registered with their kind (and event), the policy engine (`yibao quote`) and the registration say
what they owe and from when, and they pay exactly that — on a day when a general resident would owe something
else, or could not pay at all:

- 双清区 (430502), seed 003 L45-51: outside the period a general payer owes 400 + 670; a newborn within 90 days of
  birth (L47), a lapse within 90 days (L51) and a discharged soldier (L53) pay the individual 400.
- 安康市 (610900), seed 004: after the supplementary period (L62) a general payer has no path (L68); a military
  spouse (L32, L96), a lapse (L74) and a newborn within 90 days (L78) pay 400 and are covered.
- 霍邱县 (341522) and 怀远县 (340321): a vulnerable status newly certified after the period may enrol late and keeps
  its subsidy (seed 000 L157-163; 霍邱 by its pack's default): the 低保 holder pays 40 (霍邱, seed 002 L14) or 60
  (怀远, seed 000 L84-86), where a general late payer owes 400.

Payment ingest judges each receipt by the payer's facts the due carries (kind, event date, statuses) on the
receipt's local date (commit fa92e7b); tests/system/test_receipts_by_payer.py has the first cases of it (双清 lapse,
安康 newborn, discharged soldier, subsidised late payer), this module the other kinds.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id
from tests.support.records import beijing, enrollment_of

HY, HQ, SQ, AK, YEAR = "340321", "341522", "430502", "610900", 2025
PLACES = {HY: ("榴城镇", "南关社区"), HQ: ("城关镇", "东湖社区"), SQ: ("渡头桥镇", "渡头桥社区"),
          AK: ("汉滨区江北街道", "张岭社区")}


async def paid_or_refused(chain: Chain, region: str, person: str, receipt_no: str) -> dict[str, Any]:
    """The person's record once the receipt made them paid; fails at once, with the reason, if reconciliation
    shows the receipt refused."""
    async def outcome() -> tuple[str, Any] | None:
        seen = await chain.reconciled(region, person)
        refused = [r for r in seen.json().get("refused_receipts", []) if r["receipt_no"] == receipt_no] \
            if seen.status_code == 200 else []
        if refused:
            return "refused", refused[0]
        answer = await chain.record(region, person)
        e = enrollment_of(answer.json()) if answer.status_code == 200 else None
        return ("paid", answer.json()) if e is not None and e["state"] in ("paid", "covered") else None

    kind, found = await until(outcome, lambda o: o is not None)  # type: ignore[misc]
    assert kind == "paid", f"receipt refused by payment ingest: {found['reason_code']} — {found['reason']}"
    record: dict[str, Any] = found
    return record


async def registered_then_paid(chain: Chain, region: str, kind: str, *, pay_day: str, due: int, path: str,
                               start: str, born: date = date(1986, 2, 2), event_date: str | None = None,
                               statuses: tuple[tuple[str, str, str], ...] = ()) -> dict[str, Any]:
    """Listed (department, category, certified_on) if any, registered with the kind on the day they pay what the
    registration asks; the record shows the path, the benefit window and no waiting."""
    person = resident_id(region, born=born)
    await chain.baseline(region, [(person, *PLACES[region])])
    for department, category, certified_on in statuses:
        await chain.certify(department, region, certified_on[:7], [
            {"id": person, "category": category, "certified_on": certified_on, "township": PLACES[region][0],
             "village": PLACES[region][1]}])
    if statuses:
        await chain.record_when(region, person, lambda r: len(r["statuses"]) == len(statuses))
    answer = await chain.register(region, {"id": person, "year": YEAR, "kind": kind, "registered_on": pay_day,
                                           **({"event_date": event_date} if event_date else {})})
    assert answer.status_code == 200, answer.text
    registered = answer.json()
    assert (registered["path"], registered["expected_due_fen"], registered["expected_benefit_start"]) == (
        path, due, start), registered
    await chain.tax_side_knows(person, YEAR, lambda facts: facts["kind"] == kind
                               and len(facts["statuses"]) == len(statuses))
    # the gateway asks first, and the quote says what the registration said: judged on the registration day
    asked = await until(lambda: chain.quote(region, person, YEAR),
                        lambda r: r.status_code == 200 and r.json()["due_fen"] == due, timeout=20)
    assert asked.json()["due_fen"] == due, asked.json()
    sent = await chain.pay(person, due, region=region, year=YEAR, paid_at=beijing(pay_day))
    record = await paid_or_refused(chain, region, person, sent["receipt_no"])
    e = enrollment_of(record)
    assert e is not None and (e["policy_path"], e["paid_total_fen"], e["benefit_start"], e["benefit_end"],
                              e["waiting_months"], e["waiting_days"]) == (
        path, due, start, f"{YEAR}-12-31", 0, 0), e
    quote = (await until(lambda: chain.quote(region, person, YEAR),
                         lambda r: r.status_code == 200 and any(x.startswith(f"待遇享受期：{start} 至 {YEAR}-12-31")
                                                                for x in r.json()["reasons"]))).json()
    assert quote["due_fen"] == due, quote
    return record


async def test_a_shuangqing_newborn_paid_for_within_90_days_pays_400_outside_the_period(chain: Chain) -> None:
    """Born 2025-03-10, paid 400 for the birth year on 2025-04-20: covered from birth (seed 003 L47)."""
    await registered_then_paid(chain, SQ, "newborn", pay_day="2025-04-20", born=date(2025, 3, 10),
                               due=40000, path="newborn_90_days", start="2025-03-10")


async def test_an_ankang_military_spouse_pays_400_after_the_supplementary_period(chain: Chain) -> None:
    """随军未就业配偶 paying 400 on 2025-05-10 (seed 004 L32): covered from 2025-06-01 (L96)."""
    await registered_then_paid(chain, AK, "military_spouse", pay_day="2025-05-10",
                               due=40000, path="special_groups", start="2025-06-01")


async def test_an_ankang_lapse_pays_400_after_the_supplementary_period(chain: Chain) -> None:
    """Lapse 2025-04-15, paid 400 on 2025-05-10: covered from 2025-06-01 (seed 004 L74)."""
    await registered_then_paid(chain, AK, "employee_lapse", pay_day="2025-05-10", event_date="2025-04-15",
                               due=40000, path="employee_lapse", start="2025-06-01")


async def test_a_huoqiu_minimum_living_holder_certified_late_enrols_late_and_pays_40(chain: Chain) -> None:
    """低保 newly certified on 2025-04-20 (360, seed 002 L14), enrolling late on 2025-05-10 as a 动态新增 困难群众
    (pack default paths.special_groups, after seed 000 L157-163): pays 40, covered from 2025-05-11. Registered
    without an event date, the quote before the payment is judged on the registration day too (it was judged on the
    collection period's last day: 400, the status "next year's", which the registration and payment ingest did not
    follow)."""
    await registered_then_paid(chain, HQ, "vulnerable_late", pay_day="2025-05-10", due=4000,
                               path="special_groups", start="2025-05-11",
                               statuses=(("civil_affairs", "minimum_living", "2025-04-20"),))


async def test_a_huaiyuan_minimum_living_holder_certified_late_enrols_late_and_pays_60(chain: Chain) -> None:
    """低保 newly certified on 2025-03-01 (340, seed 000 L84-86), enrolling late on 2025-03-20 (L157-163): pays 60,
    covered from 2025-03-21."""
    await registered_then_paid(chain, HY, "vulnerable_late", pay_day="2025-03-20", due=6000,
                               path="special_groups", start="2025-03-21",
                               statuses=(("civil_affairs", "minimum_living", "2025-03-01"),))
