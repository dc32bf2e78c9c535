"""The events enrollment raises, built from its domain values and keyed by the pseudonymous person key."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from services.enrollment.domain.baseline import Household
from services.enrollment.domain.duplicates import DuplicateCase
from services.enrollment.domain.enrollment import Enrollment
from services.enrollment.domain.refunds import Refund
from shared.messages import EnrollmentPaid, ReceiptAccepted
from shared.messages.enrollment import (
    EnrollmentCovered,
    EnrollmentDuplicateFound,
    EnrollmentEnded,
    EnrollmentPaidBack,
    EnrollmentRefundOrdered,
    EnrollmentRefundRefused,
    EnrollmentRegistered,
    PersonBaselined,
)
from shared.messages.envelope import Envelope
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.topics import ENROLLMENT_EVENTS, ENROLLMENT_REFUNDS, POPULATION_BASELINE


def _where(e: Enrollment) -> dict[str, Any]:
    return {"person_id": e.person_id, "region": e.region, "year": e.year, "township": e.township,
            "village": e.village}


def _out(topic: str, person_id: str, message: Envelope) -> Outgoing:
    return Outgoing(topic, person_key(person_id), message)


def registered(e: Enrollment, due_fen: int | None, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, e.person_id, EnrollmentRegistered(
        message_id=uuid4(), occurred_at=now, kind=e.kind, expected_due_fen=due_fen, event_date=e.event_date,
        registered_on=e.registered_on, funded_by=e.funded_by if e.funded else None,
        enrolled_years=list(e.enrolled_years), paid_back_years=list(e.paid_back_years), **_where(e)))


def paid_back_alone(receipt: ReceiptAccepted, now: datetime) -> Outgoing:
    """A gap year paid back before any later enrollment in its region is registered: booked to the gap year."""
    return _out(ENROLLMENT_EVENTS.name, receipt.person_id, EnrollmentPaidBack(
        message_id=uuid4(), occurred_at=now, person_id=receipt.person_id, region=receipt.region, year=receipt.year,
        receipt_no=receipt.receipt_no, amount_fen=receipt.amount_fen, gap_year=receipt.year))


def paid_back(e: Enrollment, receipt: ReceiptAccepted, now: datetime) -> Outgoing:
    """A gap year paid back towards enrollment `e` (its new benefit window, when it was not yet covered)."""
    return _out(ENROLLMENT_EVENTS.name, e.person_id, EnrollmentPaidBack(
        message_id=uuid4(), occurred_at=now, receipt_no=receipt.receipt_no, amount_fen=receipt.amount_fen,
        gap_year=receipt.year, benefit_start=e.benefit_start, waiting_months=e.waiting_months,
        waiting_days=e.waiting_days, **_where(e)))


def paid(e: Enrollment, receipt: ReceiptAccepted, now: datetime) -> Outgoing:
    """One per accepted receipt: built without validation (`model_construct`), every value being the validated
    receipt's or this service's own decision; consumers validate what they read."""
    return _out(ENROLLMENT_EVENTS.name, receipt.person_id, EnrollmentPaid.model_construct(
        message_id=uuid4(), occurred_at=now, person_id=receipt.person_id, region=receipt.region,
        year=receipt.year, township=e.township, village=e.village, receipt_no=receipt.receipt_no,
        amount_fen=receipt.amount_fen, paid_total_fen=e.paid_total_fen, kind=e.kind,
        benefit_start=e.benefit_start, benefit_end=e.benefit_end,
        waiting_months=e.waiting_months, waiting_days=e.waiting_days,
        critical_illness_cap_adjustment_fen=e.cap_adjustment_fen,
    ))


def covered(e: Enrollment, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, e.person_id, EnrollmentCovered(
        message_id=uuid4(), occurred_at=now, benefit_start=e.benefit_start, benefit_end=e.benefit_end, **_where(e)))


def ended(e: Enrollment, now: datetime, case_id: UUID | None = None) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, e.person_id, EnrollmentEnded(
        message_id=uuid4(), occurred_at=now, reason=e.end_reason, ended_on=e.ended_on,
        duplicate_case_id=case_id, **_where(e)))


def duplicate_found(e: Enrollment, case: DuplicateCase, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, e.person_id, EnrollmentDuplicateFound(
        message_id=uuid4(), occurred_at=now, case_id=case.id, kept=case.kept, rule=case.rule,
        explanation=case.explanation, **_where(e)))


def refund_decided(e: Enrollment, refund: Refund, now: datetime) -> Outgoing:
    common: dict[str, Any] = dict(
        message_id=uuid4(), occurred_at=now, refund_id=refund.id, person_id=e.person_id, region=e.region,
        year=e.year, reason=refund.reason, requested_on=refund.requested_on, township=e.township,
        duplicate_case_id=refund.duplicate_case_id, explanation=refund.explanation)
    message = (EnrollmentRefundOrdered(amount_fen=refund.amount_fen, **common) if refund.approved
               else EnrollmentRefundRefused(**common))
    return _out(ENROLLMENT_REFUNDS.name, e.person_id, message)


def baselined(h: Household, region: str, source: str, now: datetime) -> Outgoing:
    # Keyed by person and region: the topic is compacted, and each region's register keeps its own row.
    # Built without validating again: the register's row was judged (its ID parsed) before it came here, and
    # a register is millions of people.
    return Outgoing(POPULATION_BASELINE.name, baseline_key(h.person_id, region), PersonBaselined.model_construct(
        message_id=uuid4(), occurred_at=now, person_id=h.person_id, region=region, township=h.township,
        village=h.village, name=h.name, source=source))


def baseline_key(person_id: str, region: str) -> str:
    return f"{person_key(person_id)}:{region}"


# Marks standing in a prototype event for the values each person's row gives (a private-use character that
# no encoder escapes and no register holds); the message id is the nil UUID's place.
_MARK = "\ue000"


def baselined_sql(region: str, source: str, now: datetime, first_param: int) -> tuple[str, list[str]]:
    """population.baseline's payload for a whole register at once: a SQL expression over a row's `person_id`,
    `township`, `village` and `name` that gives, byte for byte, the JSON of `baselined(...)`'s model (shown
    by tests/integration/test_baseline_payload_sql.py), with a fresh message id per row (gen_random_uuid).

    The JSON around the values is the model's own: a prototype event is serialised by pydantic with a mark
    in place of each value, and only the values are left to PostgreSQL's `to_json` (same escapes for the text
    a judged row can hold). Returns the expression and its parameters, numbered from `first_param`."""
    columns = ("person_id", "township", "village", "name")
    marks = {c: f"{_MARK}{c}{_MARK}" for c in columns}
    proto = baselined(Household(**marks), region, source, now).message
    assert isinstance(proto, PersonBaselined)
    text = proto.model_copy(update={"message_id": _NIL}).model_dump_json()
    values = {f'"{m}"': f"COALESCE(to_json({c})::text, 'null')" for c, m in marks.items()}
    values[f'"{_NIL}"'] = "to_json(gen_random_uuid())::text"
    pieces = re.split("(" + "|".join(map(re.escape, values)) + ")", text)
    sql, params = [], []
    for i, piece in enumerate(pieces):
        if i % 2:
            sql.append(values[piece])
        elif piece:
            params.append(piece)
            sql.append(f"${first_param + len(params) - 1}::text")
    return " || ".join(sql), params


_NIL = UUID(int=0)
