"""Kafka handlers of reconciliation: copy what the other services publish into our own ledgers.

Every topic goes through `Runtime.consuming` (inbox + dead letters in the same
transaction); none of them publishes anything — discrepancies are published by a run."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.reconciliation import ledgers
from shared.kafka import batch_subscriber
from shared.messages import (
    DiscrepancyFound,
    DueAssessed,
    PersonBaselined,
    ReceiptAccepted,
    ReceiptRejected,
    RefundOrdered,
    StatusChanged,
)
from shared.messages.enrollment import EnrollmentEvent, RefundDecided
from shared.runtime import Runtime
from shared.topics import (
    DISCREPANCY_FOUND,
    DUE_ASSESSED,
    ENROLLMENT_EVENTS,
    ENROLLMENT_REFUNDS,
    POPULATION_BASELINE,
    RECEIPT_ACCEPTED,
    RECEIPT_REJECTED,
    REFUND_ORDERED,
    STATUS_CHANGED,
)

SERVICE = "reconciliation"
Save = Callable[[asyncpg.Connection, list, datetime], Awaitable[None]]


def _without_time(save: Callable[[asyncpg.Connection, list], Awaitable[None]]) -> Save:
    async def call(conn: asyncpg.Connection, events: list, _now: datetime) -> None:
        await save(conn, events)
    return call


# consumer name (also the inbox's and the group's), topic, model, what it keeps, description
SUBSCRIPTIONS: tuple[tuple[str, str, Any, Save, str], ...] = (
    ("enrollment", ENROLLMENT_EVENTS.name, EnrollmentEvent, ledgers.apply_enrollment_events,
     "Enrollment lifecycle: who is registered, paid or ended, and where they live."),
    ("receipts", RECEIPT_ACCEPTED.name, ReceiptAccepted, _without_time(ledgers.save_receipts),
     "Accepted tax receipts: the money side of the books."),
    ("rejections", RECEIPT_REJECTED.name, ReceiptRejected, _without_time(ledgers.save_rejections),
     "Refused receipts, counted and shown next to settled money."),
    ("dues", DUE_ASSESSED.name, DueAssessed, _without_time(ledgers.save_dues),
     "Assessed dues and subsidy lines per person and year."),
    ("refunds", REFUND_ORDERED.name, RefundOrdered, _without_time(ledgers.save_refunds),
     "Refunds ordered by the subsidy service (先缴后补)."),
    ("enrollment-refunds", ENROLLMENT_REFUNDS.name, RefundDecided, _without_time(ledgers.save_enrollment_refunds),
     "Refunds ordered by enrollment (death, duplicate payment, employee insurance, other region)."),
    ("statuses", STATUS_CHANGED.name, StatusChanged, ledgers.save_statuses,
     "Certified statuses: what stands behind each subsidy line; vulnerable groups."),
    ("baseline", POPULATION_BASELINE.name, PersonBaselined, ledgers.save_baseline,
     "The population baseline: the denominator of coverage."),
)


def _subscribe(router: KafkaRouter, runtime: Runtime, consumer: str, topic: str, model: Any, save: Save,
               description: str) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, topic, group=settings.group(SERVICE, consumer), model=model,
                      description=description)
    async def on_batch(events: list, message: KafkaMessage) -> None:
        async with runtime.consuming(topic=topic, consumer=consumer, events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                await save(uow.conn, fresh, uow.now)


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    for consumer, topic, model, save, description in SUBSCRIPTIONS:
        _subscribe(router, runtime, consumer, topic, model, save, description)
    router.publisher(runtime.settings.topic(DISCREPANCY_FOUND.name), schema=DiscrepancyFound,
                     description=DISCREPANCY_FOUND.description)
