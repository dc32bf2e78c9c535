"""Kafka subscriber: department systems that stream their lists post them on identity.records-submitted.

Same behaviour as an upload: the same use case (`usecases.submit_list`), rows, rules,
refusals and idempotency. The message id becomes the submission id, so the department
downloads the row-level result by the id it sent. Who may write to the topic is the
broker's business (an ACL per department); the use case also wants a live credential of
the department for the region (`usecases.submit_streamed`).
"""
from __future__ import annotations

from typing import cast

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.identity_certification import usecases
from services.identity_certification.domain.cells import category_code
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.intake import rows_from_records
from services.identity_certification.settings import Settings
from services.identity_certification.usecases import Submission
from shared.kafka import batch_subscriber
from shared.messages import StatusChanged
from shared.messages.identity import RecordsSubmitted
from shared.runtime import Runtime
from shared.topics import IDENTITY_RECORDS, STATUS_CHANGED

SERVICE = "identity_certification"


def listed(event: RecordsSubmitted) -> tuple[Submission, list[SubmittedRow]]:
    """The message as the use case takes it: the submission and its rows (through the same cell rules as a file)."""
    rows = rows_from_records(r.model_dump() for r in event.rows)
    scope = tuple(category_code(c) for c in event.categories)
    return Submission.of_rows(event.department, event.region, event.period, event.mode, "kafka", rows, scope,
                              submission_id=event.message_id), rows


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = cast(Settings, runtime.settings)

    @batch_subscriber(router, settings, IDENTITY_RECORDS.name, group=settings.group(SERVICE, "records"),
                      model=RecordsSubmitted, description="Department systems' lists: validated like an upload.")
    async def on_records(events: list[RecordsSubmitted], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=IDENTITY_RECORDS.name, consumer="records", events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            for event in fresh:
                what, rows = listed(event)
                await usecases.submit_streamed(uow, what, rows, snapshot_end=settings.snapshot_end)

    # Published through the outbox relay; declared here so the AsyncAPI document shows it.
    router.publisher(settings.topic(STATUS_CHANGED.name), schema=StatusChanged,
                     description=STATUS_CHANGED.description)
