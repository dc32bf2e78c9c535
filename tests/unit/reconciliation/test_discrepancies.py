"""The matching core: each kind is found in a clean season with one fault planted, and nothing else."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.reconciliation.domain.discrepancies import (
    AgentLine,
    Booking,
    Due,
    Kind,
    Limits,
    Receipt,
    Season,
    SettlementLine,
    StatusSpan,
    SubsidyLine,
    fingerprint,
    reconcile,
)
from tests.support.people import resident_id

REGION, YEAR, DAY = "340321", 2025, date(2024, 11, 30)
LIMITS = Limits(settlement_lag_days=1, agent_deposit_days=1, status_window=(date(2024, 9, 1), date(2024, 12, 31)))
A, B, C = (resident_id(REGION, seq=s) for s in (11, 13, 15))


def clean() -> Season:
    """A (general, 400 by wechat), B (低保: pays 60 in cash through an agent), C (registered, unpaid)."""
    receipts = [
        Receipt("R1", A, YEAR, 40000, "wechat", None, date(2024, 10, 1), None),
        Receipt("R2", B, YEAR, 6000, "village_agent", "AG1", date(2024, 10, 2), None),
    ]
    return Season(
        region=REGION, year=YEAR, receipts=receipts,
        bookings=[Booking(r.receipt_no, r.person_id, YEAR, r.amount_fen) for r in receipts],
        dues=[Due(A, YEAR, 40000, "active", ()),
              Due(B, YEAR, 6000, "active", (SubsidyLine("minimum_living", 34000, "medical_assistance", "net"),)),
              Due(C, YEAR, 40000, "active", ())],
        settlement=[SettlementLine("农商行", "S1", "R1", "wechat", date(2024, 10, 1), "R1", 40000),
                    SettlementLine("农商行", "S1", "R2", "village_agent", date(2024, 10, 2), "R2", 6000)],
        agent_lines=[AgentLine("AG1", "1", B, YEAR, "R2", 6000, date(2024, 10, 2), date(2024, 10, 3))],
        statuses={B: [StatusSpan("minimum_living", date(2024, 9, 10), None)]},
        refunds_ordered={},
    )


def kinds(season: Season, day: date = DAY) -> list[tuple[str, str | None, int | None]]:
    return [(d.kind, d.receipt_no, d.amount_fen) for d in reconcile(season, day, LIMITS)]


def test_a_clean_season_has_no_discrepancy():
    assert kinds(clean()) == []


def test_collected_by_an_agent_without_a_receipt_is_collected_but_not_recorded():
    s = clean()
    s = replace(s, agent_lines=[*s.agent_lines, AgentLine("AG1", "2", C, YEAR, None, 40000, date(2024, 11, 1),
                                                          date(2024, 11, 1))])
    assert kinds(s) == [(Kind.COLLECTED_NOT_RECORDED, None, 40000)]


def test_a_receipt_enrollment_never_booked_is_collected_but_not_recorded():
    s = replace(clean(), bookings=clean().bookings[1:])
    assert kinds(s) == [(Kind.COLLECTED_NOT_RECORDED, "R1", 40000)]


def test_a_receipt_of_the_run_day_is_not_yet_expected_in_enrollment():
    s = replace(clean(), bookings=clean().bookings[1:])
    assert kinds(s, date(2024, 10, 1)) == []


def test_a_booking_without_a_receipt_is_paid_without_money():
    s = replace(clean(), bookings=[*clean().bookings, Booking("R9", C, YEAR, 40000)])
    assert kinds(s) == [(Kind.PAID_WITHOUT_MONEY, "R9", 40000)]


def test_a_second_payment_is_paid_twice_with_the_excess_to_refund():
    s = clean()
    extra = Receipt("R3", A, YEAR, 40000, "alipay", None, date(2024, 10, 5), None)
    s = replace(s, receipts=[*s.receipts, extra], bookings=[*s.bookings, Booking("R3", A, YEAR, 40000)],
                settlement=[*s.settlement, SettlementLine("农商行", "S2", "R3", "alipay", extra.paid_on, "R3", 40000)])
    assert kinds(s) == [(Kind.PAID_TWICE, "R3", 40000)]
    # once the duplicate is refunded (ordered), it is no longer a discrepancy
    assert kinds(replace(s, refunds_ordered={(A, YEAR): 40000})) == []


def test_a_reversed_second_payment_is_not_paid_twice():
    s = clean()
    extra = Receipt("R3", A, YEAR, 40000, "alipay", None, date(2024, 10, 5), None)
    back = Receipt("R4", A, YEAR, -40000, "alipay", None, date(2024, 10, 6), "R3")
    s = replace(s, receipts=[*s.receipts, extra, back],
                bookings=[*s.bookings, Booking("R3", A, YEAR, 40000), Booking("R4", A, YEAR, -40000)],
                settlement=[*s.settlement, SettlementLine("农商行", "S2", "R3", "alipay", extra.paid_on, "R3", 40000)])
    assert kinds(s) == []


def test_a_payment_different_from_the_due_is_reported_with_the_difference():
    s = replace(clean(), dues=[clean().dues[0]._replace(due_fen=6000), *clean().dues[1:]])
    assert kinds(s) == [(Kind.AMOUNT_DIFFERS_FROM_DUE, "R1", 34000)]


def test_a_settlement_line_without_a_receipt_and_a_receipt_never_settled():
    s = clean()
    s = replace(s, settlement=[s.settlement[1], SettlementLine("农商行", "S1", "R7", "wechat", date(2024, 10, 1),
                                                                "R7", 40000)])
    assert kinds(s) == [(Kind.RECEIPT_NOT_SETTLED, "R1", 40000), (Kind.SETTLED_WITHOUT_RECEIPT, "R7", 40000)]


def test_a_receipt_within_the_settlement_lag_is_not_yet_late():
    s = replace(clean(), settlement=clean().settlement[1:])
    assert kinds(s, date(2024, 10, 1)) == []  # paid today: the T+1 file comes tomorrow
    assert kinds(s, date(2024, 10, 2)) == [(Kind.RECEIPT_NOT_SETTLED, "R1", 40000)]


def test_a_channel_day_total_settles_its_receipts_or_reports_the_difference():
    s = clean()
    total = SettlementLine("农商行", "S5", "total:wechat:2024-10-01", "wechat", date(2024, 10, 1), None, 40000)
    assert kinds(replace(s, settlement=[total, s.settlement[1]])) == []
    short = total._replace(amount_fen=39000)
    assert kinds(replace(s, settlement=[short, s.settlement[1]])) == [(Kind.SETTLEMENT_AMOUNT_DIFFERS, None, -1000)]


@pytest.mark.parametrize(("deposited_on", "day", "late"), [
    (date(2024, 10, 3), DAY, False),       # the next day: within the limit of 1 day
    (date(2024, 10, 4), DAY, True),        # two days later
    (None, date(2024, 10, 3), False),      # not yet, but still within the limit
    (None, date(2024, 10, 4), True),       # not yet, and the limit has passed
])
def test_agent_cash_must_reach_the_bank_within_the_limit(deposited_on, day, late):
    s = clean()
    s = replace(s, agent_lines=[s.agent_lines[0]._replace(deposited_on=deposited_on)])
    assert kinds(s, day) == ([(Kind.AGENT_CASH_NOT_DEPOSITED, "R2", 6000)] if late else [])


def test_a_subsidy_line_needs_a_status_that_held_in_the_collection_period():
    s = replace(clean(), statuses={})
    assert kinds(s) == [(Kind.SUBSIDY_WITHOUT_STATUS, None, 34000)]
    ended_before = {B: [StatusSpan("minimum_living", date(2023, 1, 1), date(2024, 6, 30))]}
    assert kinds(replace(s, statuses=ended_before)) == [(Kind.SUBSIDY_WITHOUT_STATUS, None, 34000)]


def test_ids_and_fingerprint_depend_on_what_was_found_not_on_when():
    s = replace(clean(), statuses={}, bookings=clean().bookings[1:])
    first, second = reconcile(s, DAY, LIMITS), reconcile(s, date(2024, 12, 15), LIMITS)
    assert [d.id(REGION, YEAR) for d in first] == [d.id(REGION, YEAR) for d in second]
    assert fingerprint(REGION, YEAR, first) == fingerprint(REGION, YEAR, second)
    assert fingerprint(REGION, YEAR, first) != fingerprint(REGION, YEAR, first[:1])


def test_details_show_the_person_masked():
    s = replace(clean(), statuses={}, bookings=[])
    for d in reconcile(s, DAY, LIMITS):
        assert A not in d.detail and B not in d.detail
