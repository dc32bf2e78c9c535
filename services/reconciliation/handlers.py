"""Kafka handlers of reconciliation: enrollment events feed the progress per village."""
from __future__ import annotations

from datetime import datetime

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from shared.kafka import batch_subscriber
from shared.messages import EnrollmentPaid
from shared.messages.enrollment import EnrollmentEvent
from shared.outbox import Outgoing
from shared.runtime import Runtime
from shared.topics import ENROLLMENT_EVENTS

SERVICE = "reconciliation"


async def record_payments(conn: asyncpg.Connection, events: list, now: datetime) -> list[Outgoing]:
    """Each paid event carries the person-year's running total: the latest total is the truth."""
    latest: dict[tuple[str, int], EnrollmentPaid] = {}
    for event in events:
        if isinstance(event, EnrollmentPaid):
            latest[(event.person_id, event.year)] = event
    items = list(latest.values())
    if items:
        await conn.execute(
            """
            INSERT INTO paid_person (person_id, year, region, township, village, paid_total_fen, updated_at)
            SELECT p, y, r, t, v, f, $7 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[],
                                                   $6::bigint[]) AS u(p, y, r, t, v, f)
            ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
                village = EXCLUDED.village, paid_total_fen = EXCLUDED.paid_total_fen, updated_at = EXCLUDED.updated_at
            """,
            [e.person_id for e in items], [e.year for e in items], [e.region for e in items],
            [e.township for e in items], [e.village for e in items], [e.paid_total_fen for e in items], now,
        )
    return []


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, ENROLLMENT_EVENTS.name, group=settings.group(SERVICE, "enrollment"),
                      model=EnrollmentEvent, description="Enrollment lifecycle: who paid, where they live.")
    async def on_enrollment_events(events: list[EnrollmentEvent], message: KafkaMessage) -> None:
        await runtime.process_batch(consumer="enrollment", topic=ENROLLMENT_EVENTS.name, events=events,
                                    handle=record_payments, dead_letters=message.unreadable)
