"""Two regions listing one person, and a payment cancelled before the bank settled it, through the running system.

Statuses are per person and region: each county's civil affairs bureau hands in its own list of
低保对象 (seed 002 L14: 名单由县民政部门负责提供), and a county subsidises the people its own
departments certified (seed 003 L79: 困难群众在户籍地参保的，资助参保政策“免申即享”; DOMAIN.md §2). So
when 霍邱县 (341522) lists a person 怀远县 (340321) certified, 怀远's vulnerable groups and the status
behind 怀远's subsidy line stay what 怀远's civil affairs said (issue 13, point 9).

The bank, the tax side and the insurance office agree "账账相符、账款相符" (seed 000 L275-277); a
cancelled payment arrives as a reversal pointing at the original receipt (DOMAIN.md §10), and a
bank that settles both in one line settles their net, 0.00, as a channel's day total nets them
(issue 13, point 10).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.resident_id import mask
from tests.support.chain import Chain, until
from tests.support.people import resident_id

HY, HQ, YEAR = "340321", "341522", 2025
TOWNSHIP, VILLAGE = "榴城镇", "城关村"
HQ_TOWNSHIP, HQ_VILLAGE = "城关镇", "东湖社区"
MINIMUM_LIVING = "minimum_living"
# A day after every list and payment below, inside HY's collection period 2024-09-01 … 2024-12-31 (seed 000 L119-121).
RUN_DAY = "2024-11-08"


def not_enrolled_in(vulnerable: dict[str, Any], person: str, category: str = MINIMUM_LIVING) -> bool:
    """The person on the region's 应保未保 list of the group (they are registered, not paid: not enrolled)."""
    return any(group["category"] == category and mask(person) in {p["person"] for p in group["not_enrolled"]}
               for group in vulnerable["groups"])


async def quoted_at(chain: Chain, person: str, due_fen: int) -> dict[str, Any]:
    """怀远's quote for the person once the subsidy service has assessed `due_fen`."""
    answer = await until(lambda: chain.quote(HY, person, YEAR),
                         lambda r: r.status_code == 200 and r.json()["due_fen"] == due_fen)
    body: dict[str, Any] = answer.json()
    return body


async def register_once_assessed(chain: Chain, person: str, due_fen: int) -> None:
    """Register the person in 怀远 after the subsidy service assessed their status: a status and a registration
    reassessed at the same moment by its two consumers can leave a stale quote (noted with issue 13)."""
    await quoted_at(chain, person, due_fen)
    registered = await chain.register(HY, {"id": person, "year": YEAR, "registered_on": "2024-11-05"})
    assert registered.status_code == 200, registered.text


def of_person(found: list[dict[str, Any]], person: str) -> list[tuple[str, int | None]]:
    return sorted((d["kind"], d["amount_fen"]) for d in found if d["person"] == mask(person))


async def test_a_person_certified_by_huaiyuan_and_listed_by_huoqiu_stays_in_huaiyuans_group(chain: Chain) -> None:
    """怀远 certified 低保 (340 subsidised, seed 000 L84-86) and 霍邱 lists the same person too: 怀远 keeps the
    person in its 低保 group (应保未保 while unpaid) and finds 怀远's own status behind its subsidy line."""
    person = resident_id(HY, seq=901)
    await chain.baseline(HY, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify("civil_affairs", HY, "2024-10", [
        {"id": person, "category": MINIMUM_LIVING, "certified_on": "2024-10-08", "township": TOWNSHIP,
         "village": VILLAGE}])
    await register_once_assessed(chain, person, 6000)
    await until(lambda: chain.vulnerable(HY, YEAR), lambda v: not_enrolled_in(v, person))
    await chain.certify("civil_affairs", HQ, "2024-10", [
        {"id": person, "category": MINIMUM_LIVING, "certified_on": "2024-10-15", "township": HQ_TOWNSHIP,
         "village": HQ_VILLAGE}])

    # 霍邱's list has reached reconciliation once the person is in 霍邱's 低保 group.
    await until(lambda: chain.vulnerable(HQ, YEAR), lambda v: not_enrolled_in(v, person))
    assert not_enrolled_in(await chain.vulnerable(HY, YEAR), person)
    due = await quoted_at(chain, person, 6000)
    assert (due["subsidy_fen"], due["due_fen"]) == (34000, 6000)
    await chain.reconciled_when(HY, person, lambda v: [(d["year"], d["due_fen"]) for d in v["dues"]] == [(YEAR, 6000)])
    await chain.run(HY, YEAR, RUN_DAY)
    assert of_person(await chain.discrepancies(HY, YEAR), person) == []


async def test_when_huaiyuans_status_has_ended_huoqius_does_not_stand_behind_huaiyuans_subsidy(chain: Chain) -> None:
    """怀远's civil affairs ended the person's 低保 as of 2024-08-31, before the collection period (seed 000
    L119-121); 霍邱 lists them afterwards and still does. 怀远's group no longer counts them, 霍邱's does, and
    霍邱's status puts no 低保 line into 怀远's due: 怀远 owes the full 400 (L79) and its run finds nothing."""
    person = resident_id(HY, seq=903)
    await chain.baseline(HY, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify("civil_affairs", HY, "2024-03", [
        {"id": person, "category": MINIMUM_LIVING, "certified_on": "2024-03-01", "township": TOWNSHIP,
         "village": VILLAGE}])
    await register_once_assessed(chain, person, 6000)
    await chain.certify("civil_affairs", HY, "2024-09", [
        {"id": person, "category": MINIMUM_LIVING, "certified_on": "2024-03-01", "ended_on": "2024-08-31",
         "township": TOWNSHIP, "village": VILLAGE}])
    await quoted_at(chain, person, 40000)
    await chain.certify("civil_affairs", HQ, "2024-09", [
        {"id": person, "category": MINIMUM_LIVING, "certified_on": "2024-09-10", "township": HQ_TOWNSHIP,
         "village": HQ_VILLAGE}])

    await until(lambda: chain.vulnerable(HQ, YEAR), lambda v: not_enrolled_in(v, person))
    assert not not_enrolled_in(await chain.vulnerable(HY, YEAR), person)
    due = await quoted_at(chain, person, 40000)
    assert [x for x in due["lines"] if x["category"] == MINIMUM_LIVING] == []
    await chain.reconciled_when(HY, person, lambda v: [(d["year"], d["due_fen"]) for d in v["dues"]] == [(YEAR, 40000)])
    await chain.run(HY, YEAR, RUN_DAY)
    assert of_person(await chain.discrepancies(HY, YEAR), person) == []


async def test_a_receipt_and_its_reversal_settled_in_one_line_at_0_00_match(chain: Chain) -> None:
    """A resident pays 400 (seed 000 L79) on 11-05; the payment is cancelled by a reversal of -400 on 11-06
    (DOMAIN.md §10); the bank settles the receipt and its reversal in one line at their net, 0.00. Nothing
    is owed, nothing was settled that was not collected: the run finds nothing about the person."""
    person = resident_id(HY, seq=902)
    await chain.baseline(HY, [(person, TOWNSHIP, VILLAGE)])
    registered = await chain.register(HY, {"id": person, "year": YEAR, "registered_on": "2024-11-05"})
    assert registered.status_code == 200, registered.text
    assert (await chain.quoted(HY, person, YEAR))["due_fen"] == 40000
    paid = await chain.pay(person, 40000, region=HY, year=YEAR, paid_at=datetime(2024, 11, 5, 2, 0, tzinfo=UTC))
    await chain.reconciled_when(HY, person, lambda v: any(e["paid_total_fen"] == 40000 for e in v["enrollments"]))
    back = await chain.pay(person, -40000, region=HY, year=YEAR, paid_at=datetime(2024, 11, 6, 2, 0, tzinfo=UTC),
                           original_receipt_no=paid["receipt_no"])
    await chain.reconciled_when(HY, person, lambda v: len(v["receipts"]) == 2
                                and all(e["paid_total_fen"] == 0 for e in v["enrollments"]))

    imported = await chain.settle(HY, "农商行", [
        {"settlement_ref": "S20241107", "settled_on": "2024-11-07", "channel": "wechat", "pay_date": "2024-11-05",
         "receipt_no": paid["receipt_no"], "amount": "0.00"}])
    assert (imported["accepted"], imported["rejected"]) == (1, 0), imported
    await chain.run(HY, YEAR, RUN_DAY)
    found = await chain.discrepancies(HY, YEAR)
    assert of_person(found, person) == []
    assert not [d for d in found if d["receipt_no"] in (paid["receipt_no"], back["receipt_no"])]
