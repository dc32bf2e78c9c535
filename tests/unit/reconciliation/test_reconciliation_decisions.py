"""The decisions inside reconciliation's use cases, on an in-memory unit of work (no database).

A run announces a discrepancy once, the first time it is found: keyed by the person
(else what it is about), with a message id derived from the discrepancy, so a replayed
run cannot publish it twice. Enrollment's events fold into one row per person-year.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.reconciliation.domain.discrepancies import (
    Booking,
    Kind,
    Limits,
    Receipt,
    Season,
    SettlementLine,
    fingerprint,
    reconcile,
)
from services.reconciliation.domain.enrollments import EnrollmentYear, fold
from services.reconciliation.usecases.runs import announce_new
from shared.messages import EnrollmentEnded, EnrollmentPaid, EnrollmentRegistered
from shared.resident_id import mask, person_key
from shared.topics import DISCREPANCY_FOUND
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

REGION, YEAR, DAY = "340321", 2025, date(2024, 11, 30)
NOW = datetime(2024, 11, 30, 15, 30, tzinfo=UTC)
LIMITS = Limits(settlement_lag_days=1, agent_deposit_days=1, status_window=None)
A, B = resident_id(REGION, seq=21), resident_id(REGION, seq=23)


def season() -> Season:
    """A paid R1 (booked, settled); B's R2 collected but never booked; the bank settled a receipt we lack."""
    receipts = [Receipt("R1", A, YEAR, 40000, "wechat", None, date(2024, 10, 1), None),
                Receipt("R2", B, YEAR, 40000, "wechat", None, date(2024, 10, 2), None)]
    return Season(
        region=REGION, year=YEAR, receipts=receipts, bookings=[Booking("R1", A, YEAR, 40000)], dues=[],
        settlement=[SettlementLine("农商行", "S1", "R1", "wechat", date(2024, 10, 1), "R1", 40000),
                    SettlementLine("农商行", "S1", "R2", "wechat", date(2024, 10, 2), "R2", 40000),
                    SettlementLine("农商行", "S1", "R9", "wechat", date(2024, 10, 2), "R9", 5000)],
        agent_lines=[], statuses={}, refunds_ordered={})


def test_a_run_announces_each_discrepancy_found_for_the_first_time_and_no_other():
    found = reconcile(season(), DAY, LIMITS)
    assert [x.kind for x in found] == [Kind.COLLECTED_NOT_RECORDED, Kind.SETTLED_WITHOUT_RECEIPT]
    unbooked, unknown = found
    uow = MemoryUnitOfWork(now=NOW)

    announce_new(uow, REGION, YEAR, DAY, found, {x.id(REGION, YEAR) for x in found},
                 {unbooked.id(REGION, YEAR): "荆山镇"})

    assert [(e.topic, e.key) for e in uow.events] == [(DISCREPANCY_FOUND.name, person_key(B)),
                                                      (DISCREPANCY_FOUND.name, unknown.subject)]
    first, second = (e.message for e in uow.events)
    assert first.message_id == uuid.uuid5(unbooked.id(REGION, YEAR), "found")
    assert (first.discrepancy_id, first.kind, first.receipt_no, first.amount_fen) == \
        (unbooked.id(REGION, YEAR), "collected_not_recorded", "R2", 40000)
    assert (first.person_key, first.person_masked, first.township, first.run_day, first.occurred_at) == \
        (person_key(B), mask(B), "荆山镇", DAY, NOW)
    assert B not in first.model_dump_json()
    assert (second.person_key, second.person_masked, second.township, second.receipt_no) == (None, None, None, "R9")


def test_a_repeated_run_announces_nothing_already_known():
    found = reconcile(season(), DAY, LIMITS)
    uow = MemoryUnitOfWork(now=NOW)
    announce_new(uow, REGION, YEAR, DAY, found, set(), {})
    assert uow.events == []
    again = MemoryUnitOfWork(now=NOW)
    known, fresh = found
    announce_new(again, REGION, YEAR, DAY, found, {fresh.id(REGION, YEAR)}, {})
    assert [e.message.discrepancy_id for e in again.events] == [fresh.id(REGION, YEAR)]


def test_the_fingerprint_is_of_the_answer_whatever_the_order_it_was_found_in():
    found = reconcile(season(), DAY, LIMITS)
    assert sorted(str(x.kind) for x in found) == ["collected_not_recorded", "settled_without_receipt"]
    assert fingerprint(REGION, YEAR, list(reversed(found))) == fingerprint(REGION, YEAR, found)
    assert fingerprint(REGION, YEAR, found[:1]) != fingerprint(REGION, YEAR, found)


def _event(model: type, **fields):
    return model(message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, region=REGION, year=YEAR, **fields)


def test_enrollment_events_fold_into_one_row_per_person_year_in_order():
    held = EnrollmentYear(A, YEAR, REGION, "荆山镇", "涂山村", "general", "registered", 0)
    events = [_event(EnrollmentPaid, receipt_no="R1", amount_fen=40000, paid_total_fen=40000),
              _event(EnrollmentEnded, reason="death", ended_on=date(2024, 11, 1)),
              _event(EnrollmentPaid, receipt_no="R2", amount_fen=100, paid_total_fen=40100, village="新村"),
              _event(EnrollmentRegistered, kind="low_income")]
    rows, bookings = fold({(A, YEAR): held}, events)
    assert rows == [EnrollmentYear(A, YEAR, REGION, "荆山镇", "新村", "low_income", "paid", 40100)]
    assert [(b.receipt_no, b.amount_fen) for b in bookings] == [("R1", 40000), ("R2", 100)]
    assert held.state == "registered" and held.village == "涂山村"  # what was held is not changed


def test_a_payment_after_an_end_leaves_it_ended():
    rows, _ = fold({}, [_event(EnrollmentEnded, reason="death", ended_on=date(2024, 11, 1)),
                        _event(EnrollmentPaid, receipt_no="R1", amount_fen=40000, paid_total_fen=40000)])
    assert [(r.state, r.paid_total_fen, r.township) for r in rows] == [("ended", 40000, None)]
