"""A fully subsidised person (资助参保) in reconciliation's fold of enrollment.events: enrolled, nothing paid.

DOMAIN.md §3: a person whose due is 0 is enrolled and covered and never on a not-enrolled list;
enrollment announces them as registered with the fund that pays (`funded_by`).
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.reconciliation.domain.enrollments import EnrollmentYear, fold
from shared.messages import EnrollmentEnded, EnrollmentPaid, EnrollmentRegistered
from tests.support.people import resident_id

REGION, OTHER, YEAR = "340321", "341522", 2025
NOW = datetime(2024, 11, 30, 7, tzinfo=UTC)
A = resident_id(REGION, seq=41)


def _event(model, **fields):
    return model(message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, year=YEAR, **{"region": REGION, **fields})


def test_a_funded_registration_makes_the_person_year_paid_with_nothing_paid_and_a_withdrawal_registered():
    rows, bookings = fold({}, [_event(EnrollmentRegistered, expected_due_fen=0, funded_by="medical_assistance")])
    assert [(r.state, r.paid_total_fen) for r in rows] == [("paid", 0)] and bookings == []
    withdrawn = _event(EnrollmentRegistered, expected_due_fen=40000)
    rows, _ = fold({(A, YEAR): rows[0]}, [withdrawn])
    assert [(r.state, r.paid_total_fen) for r in rows] == [("registered", 0)]


def test_an_ordinary_registration_leaves_a_paid_person_paid():
    held = EnrollmentYear(A, YEAR, REGION, None, None, "general", "paid", 40000)
    rows, _ = fold({(A, YEAR): held}, [_event(EnrollmentRegistered, expected_due_fen=40000)])
    assert [r.state for r in rows] == ["paid"]


def test_the_funded_enrollment_a_duplicate_keeps_is_what_the_person_year_ends_on():
    """Paid in 霍邱县, dropped by the duplicate rule; the 怀远县 funded enrollment announced after that end."""
    events = [_event(EnrollmentPaid, region=OTHER, receipt_no="R1", amount_fen=40000, paid_total_fen=40000),
              _event(EnrollmentEnded, region=OTHER, reason="other_region", ended_on=date(2024, 12, 31)),
              _event(EnrollmentRegistered, expected_due_fen=0, funded_by="medical_assistance")]
    rows, _ = fold({}, events)
    assert [(r.region, r.state) for r in rows] == [(REGION, "paid")]
