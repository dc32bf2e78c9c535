"""Kafka handler: department systems that stream their lists post them on identity.records-submitted.

Same behaviour as an upload: the same rows, rules, refusals and idempotency. The
message id becomes the submission id, so the department downloads the row-level
result by the id it sent. Who may write to the topic is the broker's business
(an ACL per department); here the department must also hold a live credential
for the region, or the submission is refused and the refusal recorded.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.identity_certification import store
from services.identity_certification.domain.cells import category_code
from services.identity_certification.intake import rows_from_records
from services.identity_certification.submissions import Submission, content_hash, in_batches, submit
from shared.kafka import batch_subscriber
from shared.logging import get_logger
from shared.messages import StatusChanged
from shared.messages.identity import RecordsSubmitted
from shared.runtime import Runtime
from shared.topics import IDENTITY_RECORDS, STATUS_CHANGED

log = get_logger(__name__)
SERVICE = "identity_certification"


async def take(conn: asyncpg.Connection, event: RecordsSubmitted, now: datetime, runtime: Runtime) -> None:
    if not await store.has_credential(conn, event.department, event.region):
        reason = f"{event.department}在{event.region}没有有效凭证，报送{event.message_id}未处理"
        await store.record_refusal(conn, "kafka", "no_credential", reason, event.department, event.region)
        log.warning("streamed submission refused: no credential", department=event.department, region=event.region)
        return
    rows = rows_from_records(r.model_dump() for r in event.rows)
    scope = tuple(category_code(c) for c in event.categories)
    what = Submission(event.department, event.region, event.period, event.mode, "kafka",
                      content_hash(rows, event.mode, scope), scope, submission_id=event.message_id)
    result = await submit(conn, what, in_batches(rows), now=now, topic_prefix=runtime.settings.topic_prefix,
                          schema=runtime.schema, snapshot_end=runtime.settings.snapshot_end)
    log.info("streamed submission", outcome=result.outcome, department=event.department, region=event.region,
             rows=result.rows_total, accepted=result.rows_accepted, rejected=result.rows_rejected)


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, IDENTITY_RECORDS.name, group=settings.group(SERVICE, "records"),
                      model=RecordsSubmitted, description="Department systems' lists: validated like an upload.")
    async def on_records(events: list[RecordsSubmitted], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=IDENTITY_RECORDS.name, consumer="records", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            for event in fresh:
                await take(uow.conn, event, uow.now, runtime)  # submit() writes the status events to the outbox

    # Published through the outbox relay; declared here so the AsyncAPI document shows it.
    router.publisher(settings.topic(STATUS_CHANGED.name), schema=StatusChanged,
                     description=STATUS_CHANGED.description)
