"""What a running service holds — pool, Redis, producer, outbox relay — and the unit of work.

Every consumed batch goes through `Runtime.consuming`: one unit of work
(`shared.uow`) that claims the batch's message ids in the inbox, lets the use case
decide and save, keeps unreadable records as dead letters, and writes the events
raised to the outbox. The offsets are committed by the subscriber only after the
database commit. HTTP routes and the scheduler open `Runtime.unit_of_work()`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import TypeVar
from uuid import uuid4

import asyncpg
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from shared.db import BatchUpsert, create_pool
from shared.faults import crash_point
from shared.kafka import Unreadable, create_producer
from shared.logging import get_logger
from shared.messages import DeadLettered
from shared.messages.envelope import Envelope
from shared.metrics import BATCH_FAILURES, BATCH_SECONDS, MESSAGES
from shared.outbox import OutboxRelay, Outgoing
from shared.replica import ReplicaReads
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER
from shared.uow import UnitOfWork, reading, unit_of_work

E = TypeVar("E", bound=Envelope)
_DEAD_LETTER = BatchUpsert(  # a redelivered bad record conflicts on its topic position and is not returned
    "dead_letter", (("source_topic", "text"), ("partition", "int"), ("record_offset", "bigint"), ("raw", "bytea"),
                    ("raw_sha256", "text"), ("reason", "text")),
    returning=("source_topic", "partition", "record_offset"))

log = get_logger(__name__)


class Runtime:
    """The connections of one service process; opened by the app's lifespan."""

    def __init__(self, service: str, schema: str, settings: ServiceSettings) -> None:
        self.service = service
        self.schema = schema
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.replica: ReplicaReads | None = None
        self.redis: aioredis.Redis | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pool = await create_pool(self.settings.pg_dsn, self.schema,
                                      idle_in_transaction_ms=self.settings.pg_idle_in_transaction_ms)
        if self.settings.pg_read_dsn:
            # min_size 0: a replica that is down at start only sends the reads to the primary
            self.replica = ReplicaReads(await create_pool(self.settings.pg_read_dsn, self.schema, min_size=0,
                                                          max_size=4), self.settings.pg_read_max_lag_s)
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
        if self.replica:
            await self.replica.replica.close()

    def unit_of_work(self, *, now: datetime | None = None) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction of this service for an HTTP route, the scheduler or a test: events to the outbox on commit."""
        assert self.pool is not None, "runtime not started"
        return unit_of_work(self.pool, schema=self.schema, topic_prefix=self.settings.topic_prefix, now=now)

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A connection without a transaction for a read-only route: it can raise no event."""
        assert self.pool is not None, "runtime not started"
        return reading(self.pool)

    @asynccontextmanager
    async def reading_replica(self) -> AsyncIterator[UnitOfWork]:
        """Like `reading`, from the replica (YIBAO_PG_READ_DSN) while it is within YIBAO_PG_READ_MAX_LAG_S,
        else from the primary: for the read-only APIs that may answer a second or so behind."""
        assert self.pool is not None, "runtime not started"
        source = await self.replica.source(self.pool) if self.replica else self.pool
        async with reading(source) as uow:
            yield uow

    @asynccontextmanager
    async def consuming(
        self,
        *,
        topic: str,
        consumer: str,
        events: Sequence[E],
        dead_letters: Sequence[Unreadable] = (),
        inbox: bool = True,
    ) -> AsyncIterator[tuple[UnitOfWork, list[E]]]:
        """One consumed batch as one unit of work: yields it with the batch's new events.

        With `inbox` the batch's message ids are claimed, and only the events not seen before
        are yielded. Without, every event is yielded, for use cases that de-duplicate by a key
        of their own (receipts: number + payload hash). Unreadable records are kept as dead
        letters in the same transaction. The subscriber commits the offsets after this returns,
        so after the database commit; on an error nothing is kept and the batch is redelivered."""
        started = time.perf_counter()
        fresh: list[E] = []
        try:
            async with self.unit_of_work() as uow:
                fresh = await uow.claim(consumer, events) if inbox else list(events)
                yield uow, fresh
                uow.publish_all(await self._keep_dead_letters(uow.conn, dead_letters, uow.now))
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
        rows = await _DEAD_LETTER.fetch(conn, [(r.topic, r.partition, r.offset, r.value, r.sha256, r.reason)
                                                for r in records])
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
