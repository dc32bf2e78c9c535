"""Kafka handlers of enrollment: receipts make enrollments paid (and may open duplicate cases);
statuses and dues feed the person's record and the policy questions."""
from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.enrollment import cases, store
from services.enrollment.domain import lifecycle
from shared.kafka import batch_subscriber
from shared.messages import DueAssessed, EnrollmentPaid, ReceiptAccepted, StatusChanged
from shared.messages.enrollment import EnrollmentEvent, RefundDecided
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, ENROLLMENT_EVENTS, ENROLLMENT_REFUNDS, RECEIPT_ACCEPTED, STATUS_CHANGED

SERVICE = "enrollment"


async def mark_paid(conn: asyncpg.Connection, receipts: list[ReceiptAccepted], now: datetime) -> list[Outgoing]:
    """Add each accepted receipt to its (person, region, year); the first positive total makes it paid,
    the policy gives the benefit window, and a second valid enrollment opens a duplicate case."""
    receipts = list({r.receipt_no: r for r in reversed(receipts)}.values())[::-1]  # first of each number
    fresh_numbers = await store.save_payments(conn, receipts, now)
    receipts = [r for r in receipts if r.receipt_no in fresh_numbers]  # a receipt number counts once, ever
    if not receipts:
        return []
    people = sorted({r.person_id for r in receipts})
    rows = await store.enrollments_of(conn, people, sorted({r.year for r in receipts}), for_update=True)
    homes = {(r.person_id, r.region) for r in receipts}
    places = await store.places(conn, homes)
    statuses = await store.statuses_of(conn, homes)
    touched, newly_paid, outgoing = set(), set(), []
    for receipt in receipts:
        key = (receipt.person_id, receipt.region, receipt.year)
        row = rows.get(key) or lifecycle.new_row(*key, places.get(key[:2]))
        rows[key] = row
        touched.add(key)
        if lifecycle.apply_payment(row, receipt.amount_fen, receipt.paid_at, statuses.get(key[:2], ())):
            newly_paid.add(key)
        outgoing.append(Outgoing(ENROLLMENT_EVENTS.name, person_key(receipt.person_id), _paid_event(row, receipt, now)))
    if newly_paid:
        found = cases.find(rows, newly_paid, await store.employee_covers(conn, people),
                           await store.baseline_regions(conn, people))
        if found:
            all_homes = {(p, r) for p, r, _ in rows}
            outgoing += await cases.settle(conn, rows, found, await store.statuses_of(conn, all_homes), now)
            touched |= {(p, f.dropped, y) for p, y, f in found}
    await store.save_enrollments(conn, [rows[k] for k in sorted(touched)], now)
    return outgoing


def _paid_event(row: dict, receipt: ReceiptAccepted, now: datetime) -> EnrollmentPaid:
    return EnrollmentPaid(
        message_id=uuid4(), occurred_at=now, person_id=receipt.person_id, region=receipt.region,
        year=receipt.year, township=row["township"], village=row["village"], receipt_no=receipt.receipt_no,
        amount_fen=receipt.amount_fen, paid_total_fen=row["paid_total_fen"], kind=row["kind"],
        benefit_start=row["benefit_start"], benefit_end=row["benefit_end"],
        waiting_months=row["waiting_months"], waiting_days=row["waiting_days"],
    )


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, RECEIPT_ACCEPTED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptAccepted, description="Accepted receipts: the person has paid.")
    async def on_receipt_accepted(receipts: list[ReceiptAccepted], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=RECEIPT_ACCEPTED.name, consumer="receipts", events=receipts,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                uow.publish_all(await mark_paid(uow.conn, fresh, uow.now))

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Certified statuses, kept for the person's record.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=STATUS_CHANGED.name, consumer="statuses", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                await store.save_statuses(uow.conn, fresh, uow.now)

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=settings.group(SERVICE, "dues"),
                      model=DueAssessed, description="Assessed dues, kept for the person's record.")
    async def on_due_assessed(events: list[DueAssessed], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=DUE_ASSESSED.name, consumer="dues", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                await store.save_dues(uow.conn, fresh, uow.now)

    router.publisher(settings.topic(ENROLLMENT_EVENTS.name), schema=EnrollmentEvent,
                     description=ENROLLMENT_EVENTS.description)
    router.publisher(settings.topic(ENROLLMENT_REFUNDS.name), schema=RefundDecided,
                     description=ENROLLMENT_REFUNDS.description)
