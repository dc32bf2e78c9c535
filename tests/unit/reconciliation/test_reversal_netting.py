"""A bank line may settle a receipt together with its reversals at their net, as a channel's day total does.

A cancelled payment arrives as a reversal pointing at its original receipt (DOMAIN.md §10); the bank,
having collected and paid back, settles both in one line of 0.00 (or, for a partial reversal, of what
stayed collected). That line matches; a line that counts a reversal some other line settles, or that
matches neither the receipt nor the net, is still a difference.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.reconciliation.domain.discrepancies import (
    Booking,
    Due,
    Kind,
    Limits,
    Receipt,
    Season,
    SettlementLine,
    reconcile,
    settled_by_line,
)
from services.reconciliation.domain.files import read_settlement
from tests.support.people import resident_id

REGION, YEAR, DAY = "340321", 2025, date(2024, 11, 30)
LIMITS = Limits(settlement_lag_days=1, agent_deposit_days=1, status_window=None)
A = resident_id(REGION, seq=31)
PAID, BACK = date(2024, 10, 1), date(2024, 10, 3)
R1 = Receipt("R1", A, YEAR, 40000, "wechat", None, PAID, None)
R1X = Receipt("R1X", A, YEAR, -40000, "wechat", None, BACK, "R1")  # the payment cancelled in full


def season(*receipts: Receipt, settlement: list[SettlementLine]) -> Season:
    """A general resident (due 400) whose receipts enrollment booked, and the bank's lines."""
    return Season(region=REGION, year=YEAR, receipts=list(receipts),
                  bookings=[Booking(r.receipt_no, A, YEAR, r.amount_fen) for r in receipts],
                  dues=[Due(A, YEAR, 40000, "active", ())], settlement=settlement, agent_lines=[], statuses={},
                  refunds_ordered={})


def line(receipt_no: str | None, amount_fen: int, pay_date: date = PAID, ref: str = "S1") -> SettlementLine:
    key = receipt_no or f"total:wechat:{pay_date}"
    return SettlementLine("农商行", ref, key, "wechat", pay_date, receipt_no, amount_fen)


def kinds(s: Season) -> list[tuple[str, str | None, int | None]]:
    return [(d.kind, d.receipt_no, d.amount_fen) for d in reconcile(s, DAY, LIMITS)]


def test_a_receipt_and_its_reversal_settled_in_one_line_at_0_00_match():
    assert kinds(season(R1, R1X, settlement=[line("R1", 0)])) == []


def test_the_line_may_name_the_reversal_instead_of_the_original():
    assert kinds(season(R1, R1X, settlement=[line("R1X", 0, BACK)])) == []


def test_a_partial_reversal_nets_to_what_stayed_collected():
    """400 paid, 340 given back (the subsidised part of a 低保 holder, seed 000 L84-86): the bank settles 60."""
    back = R1X._replace(amount_fen=-34000)
    s = season(R1, back, settlement=[line("R1", 6000)])
    s = replace(s, dues=[s.dues[0]._replace(due_fen=6000)])
    assert kinds(s) == []
    assert kinds(replace(s, settlement=[line("R1", 0)])) == [(Kind.SETTLEMENT_AMOUNT_DIFFERS, "R1", -40000)]


def test_a_net_line_matches_as_the_same_receipts_day_totals_do():
    by_totals = season(R1, R1X, settlement=[line(None, 40000, PAID), line(None, -40000, BACK)])
    by_line = season(R1, R1X, settlement=[line("R1", 0)])
    assert kinds(by_totals) == kinds(by_line) == []


def test_a_reversal_netted_in_a_line_is_not_expected_again_in_its_days_total():
    """The reversal's day also has a channel total (other receipts of the day, none here): 0.00 agrees."""
    assert kinds(season(R1, R1X, settlement=[line("R1", 0), line(None, 0, BACK, ref="S2")])) == []


def test_a_line_at_the_net_while_another_line_settles_the_reversal_is_a_difference():
    s = season(R1, R1X, settlement=[line("R1", 0), line("R1X", -40000, BACK, ref="S2")])
    assert kinds(s) == [(Kind.SETTLEMENT_AMOUNT_DIFFERS, "R1", -40000)]


def test_a_line_matching_neither_the_receipt_nor_the_net_is_a_difference_from_the_receipt():
    assert kinds(season(R1, R1X, settlement=[line("R1", 10000)])) == [(Kind.SETTLEMENT_AMOUNT_DIFFERS, "R1", -30000)]


def test_without_a_reversal_a_0_00_line_is_a_difference():
    s = season(R1, settlement=[line("R1", 0)])
    assert kinds(s) == [(Kind.SETTLEMENT_AMOUNT_DIFFERS, "R1", -40000)]


def test_the_receipts_a_line_settles():
    accepted = {r.receipt_no: r for r in (R1, R1X)}
    reversals = {"R1": [R1X]}
    assert settled_by_line(40000, R1, accepted, reversals, {"R1"}) == [R1]
    assert settled_by_line(0, R1, accepted, reversals, {"R1"}) == [R1, R1X]
    assert settled_by_line(0, R1X, accepted, reversals, {"R1X"}) == [R1, R1X]
    assert settled_by_line(0, R1, accepted, reversals, {"R1", "R1X"}) is None  # R1X has a line of its own
    assert settled_by_line(0, R1X, {"R1X": R1X}, {}, {"R1X"}) is None  # the original is not this region-year's


def test_a_second_reversal_is_netted_too():
    half = R1X._replace(receipt_no="R1Y", amount_fen=-20000)
    s = season(R1, half, half._replace(receipt_no="R1Z"), settlement=[line("R1", 0)])
    assert kinds(s) == []
    assert kinds(replace(s, receipts=list(s.receipts)[:2], bookings=list(s.bookings)[:2])) == [
        (Kind.AMOUNT_DIFFERS_FROM_DUE, "R1Y", -20000), (Kind.SETTLEMENT_AMOUNT_DIFFERS, "R1", -40000)]


def test_the_bank_file_takes_a_net_line_of_0_00():
    parsed = read_settlement("结算流水号,结算日期,统筹区,渠道,缴费日期,税票号码,金额\n"
                             "S1,2024-10-04,340321,wechat,2024-10-01,R1,0.00\n"
                             "S1,2024-10-04,340321,wechat,2024-10-03,R1X,-400.00\n")
    assert [(r.receipt_no, r.amount_fen, r.line_key) for r in parsed.rows] == [("R1", 0, "R1"), ("R1X", -40000, "R1X")]
    assert parsed.rejected == []
