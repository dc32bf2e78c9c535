"""What a running service holds — pool, Redis, producer, outbox relay — and the unit of work.

Every consumed batch goes through `Runtime.process_batch`: one transaction that
claims the batch's message ids in the inbox, lets the service decide and save,
keeps unreadable records as dead letters, and writes the resulting events to the
outbox. The offsets are committed by the subscriber only after this returns.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from uuid import uuid4

import asyncpg
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from shared import inbox, outbox
from shared.db import create_pool
from shared.faults import crash_point
from shared.kafka import Unreadable, create_producer
from shared.logging import get_logger
from shared.messages import DeadLettered
from shared.messages.envelope import Envelope
from shared.metrics import BATCH_FAILURES, BATCH_SECONDS, MESSAGES
from shared.outbox import Outgoing, OutboxRelay
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER

E = TypeVar("E", bound=Envelope)
Handle = Callable[[asyncpg.Connection, list[E], datetime], Awaitable[list[Outgoing]]]

log = get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Runtime:
    """The connections of one service process; opened by the app's lifespan."""

    def __init__(self, service: str, schema: str, settings: ServiceSettings) -> None:
        self.service = service
        self.schema = schema
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.redis: aioredis.Redis | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pool = await create_pool(self.settings.pg_dsn, self.schema,
                                      idle_in_transaction_ms=self.settings.pg_idle_in_transaction_ms)
        self.redis = aioredis.from_url(self.settings.redis_url, decode_responses=True)
        self.producer = create_producer(self.settings)
        await self.producer.start()
        self.relay = OutboxRelay(self.pool, self.producer, self.schema, self.settings.outbox_batch,
                                 sweep_s=self.settings.outbox_sweep_s)
        self._relay_task = asyncio.create_task(self.relay.run_forever(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        if self._relay_task:
            self._relay_task.cancel()
            await asyncio.gather(self._relay_task, return_exceptions=True)
        if self.producer:
            await self.producer.stop()
        if self.redis:
            await self.redis.aclose()
        if self.pool:
            await self.pool.close()

    async def process_batch(
        self,
        *,
        consumer: str,
        topic: str,
        events: Sequence[E],
        handle: Handle[E],
        dead_letters: Sequence[Unreadable] = (),
        always_handle: bool = False,
    ) -> None:
        """Apply `handle` to the batch's new events in one transaction with inbox, dead letters and outbox.

        `always_handle` calls `handle` even when every event was seen before, for handlers
        that also work on records without a message id (de-duplicated their own way)."""
        assert self.pool is not None, "runtime not started"
        started = time.perf_counter()
        now = utcnow()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                fresh = await inbox.fresh_only(conn, consumer, events)
                outgoing = await handle(conn, fresh, now) if fresh or always_handle else []
                outgoing += await self._keep_dead_letters(conn, dead_letters, now)
                await outbox.add(conn, outgoing, topic_prefix=self.settings.topic_prefix, schema=self.schema)
                crash_point("mid_batch")
            crash_point("after_db_commit")  # committed; the subscriber commits the offsets after we return
        except Exception as err:
            BATCH_FAILURES.labels(self.service, topic).inc()
            log.error("batch failed; it will be redelivered", topic=topic, size=len(events), error=repr(err))
            # Pause before the rewind and redelivery, so that a database outage is not a busy loop.
            await asyncio.sleep(self.settings.retry_backoff_s)
            raise
        MESSAGES.labels(self.service, topic, "processed").inc(len(fresh))
        MESSAGES.labels(self.service, topic, "duplicate").inc(len(events) - len(fresh))
        BATCH_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)

    async def _keep_dead_letters(
        self, conn: asyncpg.Connection, records: Sequence[Unreadable], now: datetime
    ) -> list[Outgoing]:
        """Store unreadable records (exact bytes) and announce them, masked, on the dead-letter topic."""
        if not records:
            return []
        rows = await conn.fetch(
            "INSERT INTO dead_letter (source_topic, partition, record_offset, raw, raw_sha256, reason) "
            "SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::text[], $6::text[]) "
            "ON CONFLICT DO NOTHING RETURNING source_topic, partition, record_offset",
            [r.topic for r in records], [r.partition for r in records], [r.offset for r in records],
            [r.value for r in records], [r.sha256 for r in records], [r.reason for r in records],
        )
        new = {(row["source_topic"], row["partition"], row["record_offset"]) for row in rows}
        outgoing = []
        for record in records:
            if (record.topic, record.partition, record.offset) not in new:
                continue  # a redelivered bad record: kept and announced already
            log.warning("record dead-lettered", topic=record.topic, partition=record.partition,
                        offset=record.offset, reason=record.reason)
            outgoing.append(Outgoing(DEAD_LETTER.name, record.topic, DeadLettered(
                message_id=uuid4(), occurred_at=now, service=self.service, source_topic=record.topic,
                partition=record.partition, offset=record.offset, raw_masked=record.masked_text,
                raw_sha256=record.sha256, reason=record.reason,
            )))
        MESSAGES.labels(self.service, records[0].topic, "dead_lettered").inc(len(outgoing))
        return outgoing
