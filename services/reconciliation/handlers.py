"""Kafka subscribers of reconciliation: each consumed topic's batch to its `record_…` use case.

Every batch goes through `Runtime.consuming` (inbox, dead letters and outbox in one
transaction); only the events not seen before reach the use case, or, where the ledger's own key
is the inbox (receipts, dues), every event, kept once by that key.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.reconciliation import usecases
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
from shared.uow import UnitOfWork

SERVICE = "reconciliation"
Record = Callable[[UnitOfWork, Sequence[Any]], Awaitable[None]]

# consumer name (also the inbox's and the group's), topic, model, use case, inbox, description. `inbox`
# False where the ledger row is the inbox record: a receipt is kept once by its number, a due revision
# replaces only an older one; at the December peak those two topics carry a message per receipt, and an
# inbox row for each was the largest single write of this schema. A baseline person is one row per person,
# the event read last (in offset order, as a redelivery replays them) winning: a register of millions of
# people is then one statement per batch, with no inbox row each.
SUBSCRIPTIONS: tuple[tuple[str, str, Any, Record, bool, str], ...] = (
    ("enrollment", ENROLLMENT_EVENTS.name, EnrollmentEvent, usecases.record_enrollment_events, True,
     "Enrollment lifecycle: who is registered, paid or ended, and where they live."),
    ("receipts", RECEIPT_ACCEPTED.name, ReceiptAccepted, usecases.record_receipts_accepted, False,
     "Accepted tax receipts: the money side of the books."),
    ("rejections", RECEIPT_REJECTED.name, ReceiptRejected, usecases.record_receipts_rejected, True,
     "Refused receipts, counted and shown next to settled money."),
    ("dues", DUE_ASSESSED.name, DueAssessed, usecases.record_dues_assessed, False,
     "Assessed dues and subsidy lines per person and year."),
    ("refunds", REFUND_ORDERED.name, RefundOrdered, usecases.record_refunds_ordered, True,
     "Refunds ordered by the subsidy service (先缴后补)."),
    ("enrollment-refunds", ENROLLMENT_REFUNDS.name, RefundDecided, usecases.record_enrollment_refunds, True,
     "Refunds ordered by enrollment (death, duplicate payment, employee insurance, other region)."),
    ("statuses", STATUS_CHANGED.name, StatusChanged, usecases.record_statuses_changed, True,
     "Certified statuses: what stands behind each subsidy line; vulnerable groups."),
    ("baseline", POPULATION_BASELINE.name, PersonBaselined, usecases.record_baseline, False,
     "The population baseline: the denominator of coverage."),
)


def _subscribe(router: KafkaRouter, runtime: Runtime, consumer: str, topic: str, model: Any, record: Record,
               inbox: bool, description: str) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, topic, group=settings.group(SERVICE, consumer), model=model,
                      description=description)
    async def on_batch(events: list, message: KafkaMessage) -> None:
        async with runtime.consuming(topic=topic, consumer=consumer, events=events, inbox=inbox,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                await record(uow, fresh)


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    for consumer, topic, model, record, inbox, description in SUBSCRIPTIONS:
        _subscribe(router, runtime, consumer, topic, model, record, inbox, description)
    router.publisher(runtime.settings.topic(DISCREPANCY_FOUND.name), schema=DiscrepancyFound,
                     description=DISCREPANCY_FOUND.description)
