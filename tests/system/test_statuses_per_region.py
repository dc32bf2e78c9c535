"""Statuses per person and region through the running system (issue 13, point 9): regions never overwrite each other.

Each county's civil affairs bureau hands in its own list of 低保对象 (seed 002 L14: 特困供养人员、低保对象人员名单
由县民政部门负责提供), and a county subsidises the people its own departments certified (seed 003 L79:
困难群众在户籍地参保的，资助参保政策“免申即享”). 怀远县 (340321) subsidises 340 of a 低保对象's 400, who pays 60
(seed 000 L84-86); without a status a resident pays the full 400 (seed 000 L79). 霍邱县 (341522) listing the same
person says nothing of 怀远's list: each list's identity.status-changed carries that county's statuses only, and
怀远's due is judged on 怀远's.
"""
from __future__ import annotations

from typing import Any

from shared.resident_id import mask
from tests.support.chain import Chain, until
from tests.support.people import resident_id

HY, HQ, YEAR = "340321", "341522", 2025
TOWNSHIP, VILLAGE = "榴城镇", "城关村"
HQ_TOWNSHIP, HQ_VILLAGE = "城关镇", "东湖社区"
MINIMUM_LIVING = "minimum_living"
CERTIFIED = "2024-03-01"  # both counties certify on the same day
ENDED = "2024-08-31"      # 怀远's end, before its collection period 2024-09-01 … 2024-12-31 (seed 000 L119-121)
STATUS_EVENTS = {"topic": "identity.status-changed", "outcome": "processed"}


def row(person: str, township: str, village: str, ended_on: str | None = None) -> dict[str, Any]:
    return {"id": person, "category": MINIMUM_LIVING, "certified_on": CERTIFIED, "township": township,
            "village": village, **({"ended_on": ended_on} if ended_on else {})}


async def quoted_at(chain: Chain, person: str, due_fen: int) -> dict[str, Any]:
    """怀远's quote for the person once the subsidy service has assessed `due_fen`."""
    answer = await until(lambda: chain.quote(HY, person, YEAR),
                         lambda r: r.status_code == 200 and r.json()["due_fen"] == due_fen)
    body: dict[str, Any] = answer.json()
    return body


def minimum_living_lines(due: dict[str, Any]) -> list[int]:
    return [line["amount_fen"] for line in due["lines"] if line["category"] == MINIMUM_LIVING]


def sets_of(events: list[dict[str, Any]], region: str) -> list[list[tuple[str, str, str | None]]]:
    """The status set each of the region's events carried, in order."""
    return [[(s["category"], s["certified_on"], s["ended_on"]) for s in e["statuses"]]
            for e in events if e["region"] == region]


def on_list(vulnerable: dict[str, Any], person: str) -> bool:
    """The person in the region's 低保 group, as not yet enrolled there (应保未保)."""
    return any(g["category"] == MINIMUM_LIVING and mask(person) in {p["person"] for p in g["not_enrolled"]}
               for g in vulnerable["groups"])


async def registered_in_huaiyuan_at_60(chain: Chain, person: str) -> None:
    """怀远's civil affairs certifies the person's 低保 and 怀远 registers them at once: the status's and the
    registration's reassessments may run together, and the quote still settles at 60 with its 340 line."""
    await chain.baseline(HY, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify("civil_affairs", HY, "2024-03", [row(person, TOWNSHIP, VILLAGE)])
    registered = await chain.register(HY, {"id": person, "year": YEAR, "registered_on": "2024-11-05"})
    assert registered.status_code == 200, registered.text
    due = await quoted_at(chain, person, 6000)
    assert (due["subsidy_fen"], minimum_living_lines(due)) == (34000, [34000])


async def test_huaiyuan_ending_its_status_gives_400_back_while_huoqius_stays(chain: Chain) -> None:
    """怀远 certifies 低保 (pays 60, seed 000 L84-86); 霍邱 lists the same person on the same day; 怀远 ends its
    status: 怀远's quote is 400 again with no 低保 line (L79), 霍邱's status stays open on 霍邱's list, and every
    status-changed event carries its own county's set."""
    person = resident_id(HY, seq=905)
    await registered_in_huaiyuan_at_60(chain, person)
    await chain.certify("civil_affairs", HQ, "2024-03", [row(person, HQ_TOWNSHIP, HQ_VILLAGE)])
    await until(lambda: chain.status_changes(person), lambda events: bool(sets_of(events, HQ)))
    await chain.certify("civil_affairs", HY, "2024-09", [row(person, TOWNSHIP, VILLAGE, ended_on=ENDED)])

    due = await quoted_at(chain, person, 40000)
    assert (due["subsidy_fen"], minimum_living_lines(due)) == (0, [])
    events = await until(lambda: chain.status_changes(person), lambda found: len(sets_of(found, HY)) == 2)
    assert sets_of(events, HY) == [[(MINIMUM_LIVING, CERTIFIED, None)], [(MINIMUM_LIVING, CERTIFIED, ENDED)]]
    assert sets_of(events, HQ) == [[(MINIMUM_LIVING, CERTIFIED, None)]]  # announced once, untouched since
    assert {e["township"] for e in events if e["region"] == HQ} == {HQ_TOWNSHIP}
    # 霍邱's 低保 group still holds the person; 怀远's no longer does
    await until(lambda: chain.vulnerable(HQ, YEAR), lambda v: on_list(v, person))
    await until(lambda: chain.vulnerable(HY, YEAR), lambda v: not on_list(v, person))


async def test_huoqiu_listing_the_person_after_huaiyuan_ended_puts_no_status_back_into_huaiyuans_due(
        chain: Chain) -> None:
    """怀远 ended the person's 低保 (400 again, seed 000 L79); 霍邱 lists them afterwards: 霍邱's status is 霍邱's,
    and 怀远's due, judged on 怀远's statuses, stays 400 without a 低保 line."""
    person = resident_id(HY, seq=907)
    await registered_in_huaiyuan_at_60(chain, person)
    await chain.certify("civil_affairs", HY, "2024-09", [row(person, TOWNSHIP, VILLAGE, ended_on=ENDED)])
    await quoted_at(chain, person, 40000)
    consumed = await chain.metric("subsidy", "yibao_messages_total", **STATUS_EVENTS)
    await chain.certify("civil_affairs", HQ, "2024-09", [row(person, HQ_TOWNSHIP, HQ_VILLAGE)])

    # The subsidy service has processed 霍邱's event (the counter moves after the commit and the cache refresh).
    await until(lambda: chain.metric("subsidy", "yibao_messages_total", **STATUS_EVENTS), lambda n: n > consumed)
    due = await quoted_at(chain, person, 40000)
    assert (due["subsidy_fen"], minimum_living_lines(due)) == (0, [])
    events = await chain.status_changes(person)
    assert sets_of(events, HQ) == [[(MINIMUM_LIVING, CERTIFIED, None)]]
    assert sets_of(events, HY)[-1] == [(MINIMUM_LIVING, CERTIFIED, ENDED)]
