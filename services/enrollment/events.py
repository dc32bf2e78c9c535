"""Building the events enrollment publishes, keyed by the pseudonymous person key."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from shared.messages.enrollment import (
    EnrollmentCovered,
    EnrollmentDuplicateFound,
    EnrollmentEnded,
    EnrollmentRefundOrdered,
    EnrollmentRefundRefused,
    EnrollmentRegistered,
    PersonBaselined,
)
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.topics import ENROLLMENT_EVENTS, ENROLLMENT_REFUNDS, POPULATION_BASELINE


def _where(row: dict) -> dict:
    return {"person_id": row["person_id"], "region": row["region"], "year": row["year"],
            "township": row.get("township"), "village": row.get("village")}


def _out(topic: str, person_id: str, message) -> Outgoing:
    return Outgoing(topic, person_key(person_id), message)


def registered(row: dict, due_fen: int | None, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, row["person_id"], EnrollmentRegistered(
        message_id=uuid4(), occurred_at=now, kind=row["kind"], expected_due_fen=due_fen, **_where(row)))


def covered(row: dict, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, row["person_id"], EnrollmentCovered(
        message_id=uuid4(), occurred_at=now, benefit_start=row["benefit_start"], benefit_end=row["benefit_end"],
        **_where(row)))


def ended(row: dict, now: datetime, case_id: UUID | None = None) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, row["person_id"], EnrollmentEnded(
        message_id=uuid4(), occurred_at=now, reason=row["end_reason"], ended_on=row["ended_on"],
        duplicate_case_id=case_id, **_where(row)))


def duplicate_found(row: dict, case: dict, now: datetime) -> Outgoing:
    return _out(ENROLLMENT_EVENTS.name, row["person_id"], EnrollmentDuplicateFound(
        message_id=uuid4(), occurred_at=now, case_id=case["id"], kept=case["kept"], rule=case["rule"],
        explanation=case["explanation"], **_where(row)))


def refund_decided(row: dict, refund: dict, now: datetime) -> Outgoing:
    common = dict(message_id=uuid4(), occurred_at=now, refund_id=refund["id"], person_id=row["person_id"],
                  region=row["region"], year=row["year"], reason=refund["reason"], requested_on=refund["requested_on"],
                  township=row.get("township"), duplicate_case_id=refund.get("duplicate_case_id"),
                  explanation=refund["explanation"])
    message = (EnrollmentRefundOrdered(amount_fen=refund["amount_fen"], **common) if refund["approved"]
               else EnrollmentRefundRefused(**common))
    return _out(ENROLLMENT_REFUNDS.name, row["person_id"], message)


def baselined(person_id: str, region: str, township: str | None, village: str | None, name: str | None,
              source: str, now: datetime) -> Outgoing:
    # Keyed by person and region: the topic is compacted, and each region's register keeps its own row.
    return Outgoing(POPULATION_BASELINE.name, f"{person_key(person_id)}:{region}", PersonBaselined(
        message_id=uuid4(), occurred_at=now, person_id=person_id, region=region, township=township,
        village=village, name=name, source=source))


def today_in(moment: datetime) -> date:
    from services.enrollment.domain.lifecycle import china_day
    return china_day(moment)
