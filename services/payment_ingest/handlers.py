"""Kafka subscribers of payment ingest: receipts from the tax gateway, dues from subsidy.

Each consumed batch is one unit of work (`Runtime.consuming`) handed to a use case
(usecases.py); the records the decoder could not read come along as `message.unreadable`.
"""
from __future__ import annotations

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.payment_ingest import usecases
from services.payment_ingest.counters import LiveCounters
from services.payment_ingest.domain.windows import PolicyWindows
from shared.kafka import batch_subscriber
from shared.messages import DueAssessed, ReceiptAccepted, ReceiptReceived, ReceiptRejected
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, RECEIPT_ACCEPTED, RECEIPT_RECEIVED, RECEIPT_REJECTED

SERVICE = usecases.SERVICE


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings
    windows = PolicyWindows()  # per process: it caches the policy engine's answer per region, year and day

    @batch_subscriber(router, settings, RECEIPT_RECEIVED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptReceived, description="Receipts from the tax gateway, in batches.")
    async def on_receipts(receipts: list[ReceiptReceived], message: KafkaMessage) -> None:
        unreadable = message.unreadable
        # No inbox row per receipt (inbox=False): the use case de-duplicates by receipt number + payload hash,
        # and at the December peak an inbox row per receipt would be PostgreSQL's largest cost.
        async with runtime.consuming(topic=RECEIPT_RECEIVED.name, consumer="receipts", events=receipts,
                                     dead_letters=usecases.dead_letters(unreadable), inbox=False) as (uow, _):
            await usecases.ingest_receipts(uow, receipts, unreadable, windows=windows,
                                           counters=LiveCounters(runtime.redis, settings.topic_prefix))

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=settings.group(SERVICE, "dues"),
                      model=DueAssessed, description="Assessed dues: what each receipt must amount to.")
    async def on_dues(dues: list[DueAssessed], message: KafkaMessage) -> None:
        # No inbox row per due: the newest revision of each person-year is kept, an older or equal one changes
        # nothing (store.upsert_dues), so a redelivery is harmless.
        async with runtime.consuming(topic=DUE_ASSESSED.name, consumer="dues", events=dues,
                                     dead_letters=message.unreadable, inbox=False) as (uow, fresh):
            await usecases.record_dues(uow, fresh)

    router.publisher(settings.topic(RECEIPT_ACCEPTED.name), schema=ReceiptAccepted,
                     description=RECEIPT_ACCEPTED.description)
    router.publisher(settings.topic(RECEIPT_REJECTED.name), schema=ReceiptRejected,
                     description=RECEIPT_REJECTED.description)
