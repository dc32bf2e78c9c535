"""No double refund, 怀远县 (340321) 2025, through the running services (issue 13, point 6).

Seed 000 L111-115: 重点优抚对象 and 独男户 pay the full 400 first (先缴后补) and their township later
refunds the subsidised part (the whole 400, half of it). L211-219: before the benefit period starts, a
person who dies, paid twice or joined employee insurance ends the enrollment and gets the personal
payment back. Together they never return more than the person paid: the personal refund nets the
先缴后补 refund the subsidy service already ordered, and the person's record (一人一档) says so.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.chain import Chain, until
from tests.support.people import resident_id

HY, YEAR = "340321", 2025
TOWNSHIP, VILLAGE = "榴城镇", "城关村"
IN_PERIOD = datetime(2024, 11, 5, 2, 0, tzinfo=UTC)  # 10:00 Beijing, inside 2024-09-01 … 2024-12-31 (L119-121)
BEFORE_START = "2024-12-01"                          # before the benefit period 2025-01-01 (L121-122)


def ordered(fen: int):
    """The record once enrollment holds the subsidy service's 先缴后补 refund of `fen`."""
    return lambda record: [o["amount_fen"] for o in record["subsidy_refunds"]] == [fen]


async def paid_first(chain: Chain, department: str, category: str, seq: int, refund_after_fen: int) -> str:
    """A person certified in October pays the full 400 in November; the subsidy service orders the 先缴后补
    refund, and enrollment learns it. Returns the person."""
    person = resident_id(HY, seq=seq)
    await chain.baseline(HY, [(person, TOWNSHIP, VILLAGE)])
    await chain.certify(department, HY, "2024-10", [
        {"id": person, "category": category, "certified_on": "2024-10-08", "township": TOWNSHIP, "village": VILLAGE}])
    due = await chain.quoted(HY, person, YEAR)
    assert (due["due_fen"], due["refund_after_fen"]) == (40000, refund_after_fen), due
    await chain.pay(person, 40000, region=HY, year=YEAR, paid_at=IN_PERIOD)
    await chain.record_when(HY, person, ordered(refund_after_fen))
    return person


def balance_of(record: dict[str, Any]) -> dict[str, Any]:
    [found] = [b for b in record["refund_balances"] if b["year"] == YEAR]
    return found


async def test_a_veteran_refunded_400_by_the_township_who_dies_gets_no_second_400(chain: Chain) -> None:
    """重点优抚对象: the county pays the whole 400, first paid then refunded by the township (L101-103,
    L111-115). The person dies before 2025 (L211-215): the enrollment ends, the personal refund is 0 because
    the township returns all 400 already, and the subsidy service orders nothing more after the end."""
    person = await paid_first(chain, "veterans", "entitled_veteran", 951, 40000)

    refund = await chain.refund(HY, person, YEAR, "death", BEFORE_START)
    assert (refund["approved"], refund["amount_fen"], refund["state"]) == (True, 0, "ended"), refund
    assert "乡镇已下达先缴后补退补400元" in refund["explanation"], refund
    assert "个人退费只退0元" in refund["explanation"], refund

    record = await chain.record_when(HY, person, lambda r: bool(r["refund_balances"]) and bool(r["refunds"]))
    [personal] = record["refunds"]
    assert (personal["amount_fen"], personal["paid_fen"], personal["subsidy_refunded_fen"]) == (0, 40000, 40000)
    balance = balance_of(record)
    assert (balance["paid_fen"], balance["returned_fen"], balance["kept_fen"]) == (40000, 40000, 0)
    assert balance["text"] == "2025年度：所缴400元；乡镇先缴后补退补400元；个人退费0元；合计退还400元，本人负担0元"
    assert [o["withheld_fen"] for o in record["subsidy_refunds"]] == [0]
    # The subsidy service has heard of the end and stopped (its due is ended); it ordered the one refund only.
    ended = await until(lambda: chain.quote(HY, person, YEAR),
                        lambda r: r.status_code == 200 and r.json().get("state") == "ended")
    assert ended.json()["due_fen"] == 0, ended.text
    assert [(o["amount_fen"], o["reason"]) for o in await chain.refund_orders(HY, person, YEAR)] == [
        (40000, "refund_after_subsidy")]


async def test_an_only_son_family_refunded_half_who_joins_employee_insurance_gets_the_other_half(chain: Chain) -> None:
    """独男户: the county pays half (200), paid first and refunded later (L107-115). The person joins employee
    insurance before 2025 (L211-215): of the 400 paid, the township returns 200 and the personal refund the
    other 200 — 400 in all, not 600."""
    person = await paid_first(chain, "health", "only_son_family", 952, 20000)

    refund = await chain.refund(HY, person, YEAR, "employee_insurance", BEFORE_START)
    assert (refund["approved"], refund["amount_fen"]) == (True, 20000), refund
    assert "本人实际负担200元，个人退费只退200元" in refund["explanation"], refund

    record = await chain.record_when(HY, person, lambda r: bool(r["refunds"]))
    balance = balance_of(record)
    assert (balance["paid_fen"], balance["subsidy_fen"], balance["personal_fen"], balance["returned_fen"],
            balance["kept_fen"]) == (40000, 20000, 20000, 40000, 0)
    assert balance["text"] == "2025年度：所缴400元；乡镇先缴后补退补200元；个人退费200元；合计退还400元，本人负担0元"
