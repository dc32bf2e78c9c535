"""Kafka handlers of the subsidy service: a status change reassesses the person's due at once."""
from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.subsidy import store
from services.subsidy.domain.dues import Due, assess_due
from shared.kafka import batch_subscriber
from shared.logging import get_logger
from shared.messages import DueAssessed, StatusChanged, SubsidyLine
from shared.metrics import MESSAGES
from shared.outbox import Outgoing
from shared.policy import PolicyError
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, STATUS_CHANGED

log = get_logger(__name__)
SERVICE = "subsidy"


def due_key(person_id: str, year: int) -> str:
    return f"{person_key(person_id)}:{year}"


def due_event(person_id: str, region: str, year: int, due: Due, revision: int, now: datetime) -> DueAssessed:
    return DueAssessed(
        message_id=uuid4(), occurred_at=now, person_id=person_id, region=region, year=year,
        standard_fen=due.standard_fen, subsidy_fen=due.subsidy_fen, due_fen=due.due_fen,
        refund_after_fen=due.refund_after_fen, revision=revision, reasons=list(due.reasons),
        lines=[SubsidyLine(category=c, amount_fen=a, funding_source=f, mode=m) for c, a, f, m in due.lines],
    )


async def reassess(conn: asyncpg.Connection, events: list[StatusChanged], now: datetime, year: int) -> list[DueAssessed]:
    latest = {e.person_id: e for e in events}  # the last event of a person carries the full current set
    await store.save_people(conn, list(latest.values()), now)
    previous = await store.revisions(conn, [(p, year) for p in latest])
    rows, published = [], []
    for person, event in latest.items():
        try:
            due = assess_due(person, event.region, event.statuses, year, now.date())
        except PolicyError as err:
            MESSAGES.labels(SERVICE, STATUS_CHANGED.name, "no_policy").inc()
            log.warning("no due assessed: no policy applies", region=event.region, year=year, error=str(err))
            continue
        revision = previous[(person, year)]["revision"] + 1 if (person, year) in previous else 1
        rows.append({"person_id": person, "year": year, "region": event.region, "township": event.township,
                     "due": due, "revision": revision})
        published.append(due_event(person, event.region, year, due, revision, now))
    await store.save_dues(conn, rows, now)
    return published


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Status changes: reassess the person's due at once.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        assessed: list[DueAssessed] = []

        async def handle(conn: asyncpg.Connection, fresh: list[StatusChanged], now: datetime) -> list[Outgoing]:
            assessed[:] = await reassess(conn, fresh, now, settings.campaign_year)
            return [Outgoing(DUE_ASSESSED.name, due_key(d.person_id, d.year), d) for d in assessed]

        await runtime.process_batch(consumer="statuses", topic=STATUS_CHANGED.name, events=events,
                                    handle=handle, dead_letters=message.unreadable)
        await cache_dues(runtime, assessed)

    router.publisher(settings.topic(DUE_ASSESSED.name), schema=DueAssessed, description=DUE_ASSESSED.description)


async def cache_dues(runtime: Runtime, dues: list[DueAssessed]) -> None:
    """After the commit, put the new dues in Redis for quotes. A miss falls back to PostgreSQL."""
    if not dues or runtime.redis is None:
        return
    try:
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for d in dues:
                pipe.set(f"{runtime.settings.topic_prefix}due:{due_key(d.person_id, d.year)}",
                         d.model_dump_json(include={"region", "year", "standard_fen", "subsidy_fen", "due_fen",
                                                    "refund_after_fen", "lines", "reasons", "revision"}))
            await pipe.execute()
    except Exception as err:  # Redis is a cache: PostgreSQL stays the truth
        log.warning("due cache not updated", error=repr(err))
