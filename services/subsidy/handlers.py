"""Kafka subscribers of the subsidy service: every fact about a person reassesses their due at once.

Three topics feed the same step: a status change (identity), a registration or an
ending (enrollment) and an accepted receipt (payment ingest). Each batch is one unit
of work (`Runtime.consuming`: inbox claim, dead letters, outbox) handed to its use case
in usecases.py; nothing is decided here.
"""
from __future__ import annotations

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.subsidy import usecases
from services.subsidy.cache import DueCache
from shared.kafka import batch_subscriber
from shared.messages import DueAssessed, ReceiptAccepted, RefundOrdered, StatusChanged
from shared.messages.enrollment import EnrollmentEvent
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, REFUND_ORDERED, STATUS_CHANGED

SERVICE = "subsidy"


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Status changes: reassess the person's due at once.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=STATUS_CHANGED.name, consumer="statuses", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            await usecases.record_statuses(uow, fresh, campaign_year=settings.campaign_year, dues=DueCache.of(runtime))

    @batch_subscriber(router, settings, ENROLLMENT_EVENTS.name, group=settings.group(SERVICE, "enrollment"),
                      model=EnrollmentEvent, description="Registered: assess a due (with or without a status); "
                      "ended: stop collecting, refund what the rules allow.", passes_over=usecases.NOT_FACTS)
    async def on_enrollment(events: list, message: KafkaMessage) -> None:
        async with runtime.consuming(topic=ENROLLMENT_EVENTS.name, consumer="enrollment",
                                     events=usecases.enrollment_facts(events),
                                     dead_letters=message.unreadable) as (uow, fresh):
            await usecases.record_enrollments(uow, fresh, dues=DueCache.of(runtime))

    @batch_subscriber(router, settings, RECEIPT_ACCEPTED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptAccepted, description="Accepted receipts: who paid what, for the after-payment "
                      "rules and 先缴后补 refunds.")
    async def on_receipt_accepted(events: list[ReceiptAccepted], message: KafkaMessage) -> None:
        # No inbox row per receipt: the receipt number is the key of its payment row, kept once (usecases).
        async with runtime.consuming(topic=RECEIPT_ACCEPTED.name, consumer="receipts", events=events,
                                     dead_letters=message.unreadable, inbox=False) as (uow, fresh):
            await usecases.record_receipts(uow, fresh, dues=DueCache.of(runtime))

    router.publisher(settings.topic(DUE_ASSESSED.name), schema=DueAssessed, description=DUE_ASSESSED.description)
    router.publisher(settings.topic(REFUND_ORDERED.name), schema=RefundOrdered, description=REFUND_ORDERED.description)
