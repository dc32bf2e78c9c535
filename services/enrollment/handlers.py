"""Kafka handlers of enrollment: accepted receipts mark people paid; statuses feed the person's record."""
from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.enrollment import store
from shared.kafka import batch_subscriber
from shared.messages import EnrollmentPaid, ReceiptAccepted, StatusChanged
from shared.messages.enrollment import EnrollmentEvent
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, STATUS_CHANGED

SERVICE = "enrollment"


async def mark_paid(conn: asyncpg.Connection, receipts: list[ReceiptAccepted], now: datetime) -> list[Outgoing]:
    """Add each accepted receipt to its person-year; a positive total makes the enrollment paid."""
    keys = sorted({(r.person_id, r.year) for r in receipts})
    current = await store.enrollments(conn, keys)
    places = await store.places(conn, [k[0] for k in keys])
    state: dict[tuple[str, int], dict] = {}
    outgoing = []
    for receipt in receipts:
        key = (receipt.person_id, receipt.year)
        place = places.get(receipt.person_id)
        row = state.get(key) or {
            "person_id": receipt.person_id, "year": receipt.year, "region": receipt.region,
            "paid_total_fen": current[key]["paid_total_fen"] if key in current else 0,
            "township": place["township"] if place else None, "village": place["village"] if place else None,
        }
        row["paid_total_fen"] += receipt.amount_fen
        row["state"] = "paid" if row["paid_total_fen"] > 0 else "registered"
        state[key] = row
        outgoing.append(Outgoing(ENROLLMENT_EVENTS.name, person_key(receipt.person_id), EnrollmentPaid(
            message_id=uuid4(), occurred_at=now, person_id=receipt.person_id, region=receipt.region,
            year=receipt.year, township=row["township"], village=row["village"], receipt_no=receipt.receipt_no,
            amount_fen=receipt.amount_fen, paid_total_fen=row["paid_total_fen"],
        )))
    await store.save_enrollments(conn, list(state.values()), now)
    return outgoing


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, RECEIPT_ACCEPTED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptAccepted, description="Accepted receipts: the person has paid.")
    async def on_receipt_accepted(receipts: list[ReceiptAccepted], message: KafkaMessage) -> None:
        await runtime.process_batch(consumer="receipts", topic=RECEIPT_ACCEPTED.name, events=receipts,
                                    handle=mark_paid, dead_letters=message.unreadable)

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Certified statuses, kept for the person's record.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        async def handle(conn: asyncpg.Connection, fresh: list[StatusChanged], now: datetime) -> list[Outgoing]:
            await store.save_statuses(conn, fresh, now)
            return []

        await runtime.process_batch(consumer="statuses", topic=STATUS_CHANGED.name, events=events,
                                    handle=handle, dead_letters=message.unreadable)

    router.publisher(settings.topic(ENROLLMENT_EVENTS.name), schema=EnrollmentEvent,
                     description=ENROLLMENT_EVENTS.description)
