"""The transactional outbox: events are rows written in the transaction that caused them.

`OutboxRelay` publishes them to Kafka afterwards and deletes what the broker
acknowledged. A crash between the two publishes a row twice; consumers drop the
second copy in their inbox. Only one relay per service publishes at a time
(a PostgreSQL advisory lock), so rows go out in id order.
"""
from __future__ import annotations

import asyncio
import time
import zlib
from typing import NamedTuple, cast

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.faults import crash_point
from shared.logging import get_logger
from shared.messages.envelope import Envelope
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = get_logger(__name__)


class Outgoing(NamedTuple):
    """An event to publish: its topic (unprefixed name), Kafka key and message.

    `message` may also be the message already serialised (JSON bytes of an Envelope
    model): hot paths that build thousands of events per batch skip the model. (A named
    tuple, not a frozen dataclass: those batches build thousands and its __init__ showed.)"""

    topic: str
    key: str
    message: Envelope | bytes


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition of a key: CRC-32 of the key modulo the partition count.

    Every service topic is written by its owner's relay alone, so any stable function of the
    key keeps one person's events in one partition, in order. Not aiokafka's default
    (murmur2, as the Java clients): aiokafka computes that in pure Python, and at the December
    peak it was 8 % of payment ingest's CPU; zlib's CRC-32 is C."""
    return partitions[zlib.crc32(key) % len(partitions)]


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


async def add(conn: asyncpg.Connection, outgoing: list[Outgoing], *, topic_prefix: str, schema: str) -> None:
    """Write events to the outbox inside the caller's transaction (COPY: one round trip for the batch)."""
    if not outgoing:
        return
    records = [
        (topic_prefix + item.topic, item.key.encode(),
         item.message if isinstance(item.message, bytes) else item.message.model_dump_json().encode())
        for item in outgoing
    ]
    await conn.copy_records_to_table("outbox", records=records, columns=("topic", "key", "payload"))
    crash_point("after_outbox_insert")
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))


class OutboxRelay:
    """Moves committed outbox rows to Kafka, oldest first, in batches.

    Published rows are deleted, so the front of the table's id index is a long run of dead
    entries until autovacuum comes (up to a minute at the December peak: hundreds of
    thousands). Reading "ORDER BY id" from the start walked that run on every wake-up,
    dozens of times a second. So the relay reads on from the last id it published, and
    sweeps from the start only every `sweep_s`: ids are taken at insert but become visible
    at commit, so a transaction that committed late may have left a row behind the mark."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, schema: str, batch_size: int,
                 sweep_s: float = 1.0) -> None:
        self._pool = pool
        self._producer = producer
        self._schema = schema
        self._batch_size = batch_size
        self._sweep_s = sweep_s
        self._after = 0          # the highest id published by this relay
        self._next_sweep = 0.0   # when to read from the start again (monotonic clock)
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run_forever(self) -> None:
        while True:
            try:
                await self._run_once_connected()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the database or broker went away: retry, rows wait in the table
                self.is_leader = False
                log.warning("outbox relay interrupted; retrying", error=repr(err))
                await asyncio.sleep(1.0)

    async def _run_once_connected(self) -> None:
        async with self._pool.acquire() as proxy:
            conn = cast(asyncpg.Connection, proxy)
            lock_id = zlib.crc32(f"outbox:{self._schema}".encode())
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_id):  # noqa: ASYNC110 (polls a lock held by another process)
                await asyncio.sleep(1.0)
            self.is_leader = True
            self._next_sweep = 0.0  # another relay may have led meanwhile: start from the front
            channel = notify_channel(self._schema)
            await conn.add_listener(channel, self._on_notify)
            try:
                while True:
                    published = await self._publish_batch(conn)
                    if published < self._batch_size:
                        await self._sleep_until_woken(0.5)
            finally:
                await conn.remove_listener(channel, self._on_notify)
                await conn.execute("SELECT pg_advisory_unlock($1)", lock_id)
                self.is_leader = False

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        after = self._after
        if time.monotonic() >= self._next_sweep:
            after, self._next_sweep = 0, time.monotonic() + self._sweep_s
        rows = await conn.fetch("SELECT id, topic, key, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
                                after, self._batch_size)
        if not rows:
            OUTBOX_BACKLOG.labels(self._schema).set(0)
            return 0
        await asyncio.gather(*await self._send_as_record_batches(rows))
        crash_point("after_publish")  # published, not yet deleted: the rows go out again after a restart
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
        self._after = max(self._after, rows[-1]["id"])
        return len(rows)

    async def _send_as_record_batches(self, rows: list[asyncpg.Record]) -> list[asyncio.Future[object]]:
        """Hand the producer whole record batches, one per topic-partition, instead of one send() per row.

        A send() per row cost a future, a metadata lookup and a partitioner call each: at thousands of
        rows per batch that was most of the relay's time. Rows are grouped by `partition_of` their key,
        in id order within each partition, so one person's events keep their order."""
        by_partition: dict[tuple[str, int], list[asyncpg.Record]] = {}
        partitions: dict[str, list[int]] = {}
        for row in rows:
            topic = row["topic"]
            if topic not in partitions:
                partitions[topic] = sorted(await self._producer.partitions_for(topic))
            known = partitions[topic]
            by_partition.setdefault((topic, partition_of(row["key"], known)), []).append(row)
        futures = []
        for (topic, partition), items in by_partition.items():
            batch = self._producer.create_batch()
            for row in items:
                if batch.append(key=row["key"], value=row["payload"], timestamp=None) is None:
                    futures.append(await self._producer.send_batch(batch, topic, partition=partition))
                    batch = self._producer.create_batch()
                    if batch.append(key=row["key"], value=row["payload"], timestamp=None) is None:
                        raise ValueError(f"outbox row {row['id']} is larger than the producer's batch size")
            futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        return futures

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _sleep_until_woken(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass
        self._wake.clear()
