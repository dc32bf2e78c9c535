"""Kafka subscribers: department systems that stream their lists post them on their own topics.

Same behaviour as an upload: the same use case (`usecases.submit_list`), rows, rules,
refusals and idempotency. The message id becomes the submission id, so the department
downloads the row-level result by the id it sent. The department of a list is the topic it
came from (`identity.records-submitted.<department>`: only that department's principal may
write it, by the broker's ACLs), as over HTTP it is the credential's; the department the
message names is a claim the use case checks (`usecases.submit_streamed`). What is still on
the retired shared topic proves no department and is refused (`usecases.refuse_unproven`).
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
from shared.codes import Department
from shared.kafka import batch_subscriber
from shared.messages import StatusChanged
from shared.messages.identity import RecordsSubmitted
from shared.runtime import Runtime
from shared.topics import DEPARTMENT_RECORDS, SHARED_RECORDS, STATUS_CHANGED

SERVICE = "identity_certification"
# One inbox for every list topic: the message id is the submission id, so an id seen on any of them is taken.
INBOX = "records"


def listed(event: RecordsSubmitted, department: Department) -> tuple[Submission, list[SubmittedRow]]:
    """The message as the use case takes it: the submission of the topic's department and its rows (through
    the same cell rules as a file)."""
    rows = rows_from_records(r.model_dump() for r in event.rows)
    scope = tuple(category_code(c) for c in event.categories)
    return Submission.of_rows(department.value, event.region, event.period, event.mode, "kafka", rows, scope,
                              submission_id=event.message_id), rows


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = cast(Settings, runtime.settings)
    for department in Department:
        _department_lists(router, runtime, settings, department)
    _shared_lists(router, runtime, settings)
    # Published through the outbox relay; declared here so the AsyncAPI document shows it.
    router.publisher(settings.topic(STATUS_CHANGED.name), schema=StatusChanged,
                     description=STATUS_CHANGED.description)


def _department_lists(router: KafkaRouter, runtime: Runtime, settings: Settings, department: Department) -> None:
    topic = DEPARTMENT_RECORDS[department].name

    # A group per topic: one department's lists never wait on another's rebalance or failing batch.
    @batch_subscriber(router, settings, topic, group=settings.group(SERVICE, f"records.{department.value}"),
                      model=RecordsSubmitted, description=f"{department.value}'s lists: validated like an upload.")
    async def on_records(events: list[RecordsSubmitted], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=topic, consumer=INBOX, events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            for event in fresh:
                what, rows = listed(event, department)
                await usecases.submit_streamed(uow, what, rows, claimed=event.department,
                                               snapshot_end=settings.snapshot_end)


def _shared_lists(router: KafkaRouter, runtime: Runtime, settings: Settings) -> None:
    # The group the shared topic always had: it resumes where it stopped, so only lists never read are refused.
    @batch_subscriber(router, settings, SHARED_RECORDS.name, group=settings.group(SERVICE, "records"),
                      model=RecordsSubmitted, description=SHARED_RECORDS.description)
    async def on_shared_records(events: list[RecordsSubmitted], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=SHARED_RECORDS.name, consumer=INBOX, events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            for event in fresh:
                await usecases.refuse_unproven(uow, settings.topic(SHARED_RECORDS.name), event.message_id,
                                               event.department, event.region)
