"""Kafka subscribers of enrollment: receipts make enrollments paid (and may open duplicate cases);
statuses and dues feed the person's record and the policy questions; the subsidy service's refunds
(先缴后补) are netted from personal refunds. Each batch is one unit of work (`Runtime.consuming`)
handed to its use case."""
from __future__ import annotations

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.enrollment import usecases
from shared.kafka import batch_subscriber
from shared.messages import DueAssessed, ReceiptAccepted, RefundOrdered, StatusChanged
from shared.messages.enrollment import EnrollmentEvent, RefundDecided
from shared.runtime import Runtime
from shared.topics import (
    DUE_ASSESSED,
    ENROLLMENT_EVENTS,
    ENROLLMENT_REFUNDS,
    RECEIPT_ACCEPTED,
    REFUND_ORDERED,
    STATUS_CHANGED,
)

SERVICE = "enrollment"


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, RECEIPT_ACCEPTED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptAccepted, description="Accepted receipts: the person has paid.")
    async def on_receipt_accepted(receipts: list[ReceiptAccepted], message: KafkaMessage) -> None:
        # No inbox row per receipt: the receipt number is the key of its payment row, kept once (mark_paid).
        async with runtime.consuming(topic=RECEIPT_ACCEPTED.name, consumer="receipts", events=receipts,
                                     dead_letters=message.unreadable, inbox=False) as (uow, fresh):
            await usecases.mark_paid(uow, fresh)

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Certified statuses, kept for the person's record.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=STATUS_CHANGED.name, consumer="statuses", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            await usecases.record_statuses(uow, fresh)

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=settings.group(SERVICE, "dues"),
                      model=DueAssessed, description="Assessed dues, kept for the person's record.")
    async def on_due_assessed(events: list[DueAssessed], message: KafkaMessage) -> None:
        # No inbox row per due: a revision is acted on once, when it is newer than the one kept (record_dues).
        async with runtime.consuming(topic=DUE_ASSESSED.name, consumer="dues", events=events,
                                     dead_letters=message.unreadable, inbox=False) as (uow, fresh):
            await usecases.record_dues(uow, fresh)

    @batch_subscriber(router, settings, REFUND_ORDERED.name, group=settings.group(SERVICE, "subsidy-refunds"),
                      model=RefundOrdered, description="The subsidy service's refunds (先缴后补): netted from "
                      "personal refunds, so that no one gets back more than they paid.")
    async def on_refund_ordered(events: list[RefundOrdered], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=REFUND_ORDERED.name, consumer="subsidy-refunds", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            await usecases.record_subsidy_refunds(uow, fresh)

    router.publisher(settings.topic(ENROLLMENT_EVENTS.name), schema=EnrollmentEvent,
                     description=ENROLLMENT_EVENTS.description)
    router.publisher(settings.topic(ENROLLMENT_REFUNDS.name), schema=RefundDecided,
                     description=ENROLLMENT_REFUNDS.description)
