"""The shared machinery on the real servers: inbox, outbox relay, commits after the database commit.

A throwaway schema gets the shared migrations (inbox, outbox, dead letters); a
throwaway topic set carries the messages.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from shared import inbox, outbox
from shared.kafka import batch_subscriber
from shared.kafka_admin import ensure_topics
from shared.messages import DueAssessed
from shared.migrate import ServiceSchema, migrate
from shared.outbox import Outgoing
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER, DUE_ASSESSED
from tests.support.kafka import lag, produce, read_all
from tests.support.people import resident_id


def due(person: str, revision: int = 1) -> DueAssessed:
    return DueAssessed(message_id=uuid.uuid4(), occurred_at=datetime.now(UTC), person_id=person, region="340321",
                       year=2025, standard_fen=40000, subsidy_fen=0, due_fen=40000, revision=revision)


@pytest.fixture
async def world(servers):
    """A schema with the shared tables, settings with their own topic prefix and groups, a runtime."""
    tag = f"x{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(migrate, servers.pg_dsn, (ServiceSchema("none", tag),))
    settings = ServiceSettings(kafka_bootstrap=servers.kafka_bootstrap, pg_dsn=servers.pg_dsn,
                               redis_url=servers.redis_url, topic_prefix=f"{tag}.", group_prefix=tag,
                               batch_timeout_ms=20, retry_backoff_s=0.1)
    await ensure_topics(servers.kafka_bootstrap, [dataclasses.replace(t, name=settings.topic(t.name))
                                                  for t in (DUE_ASSESSED, DEAD_LETTER)])
    runtime = Runtime("test", tag, settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        conn = await asyncpg.connect(servers.pg_dsn)
        await conn.execute(f'DROP SCHEMA "{tag}" CASCADE')
        await conn.close()


async def test_the_inbox_claims_each_message_id_once(world):
    ids = [uuid.uuid4() for _ in range(3)]
    async with world.pool.acquire() as conn:
        assert await inbox.claim(conn, "c", ids) == set(ids)
        assert await inbox.claim(conn, "c", ids + [ids[0]]) == set()
        assert await inbox.claim(conn, "other consumer", ids[:1]) == {ids[0]}


async def test_a_rolled_back_transaction_leaves_neither_claim_nor_outbox_row(world):
    event = due(resident_id())
    with pytest.raises(RuntimeError):
        async with world.pool.acquire() as conn, conn.transaction():
            await inbox.claim(conn, "c", [event.message_id])
            await outbox.add(conn, [Outgoing(DUE_ASSESSED.name, "k", event)], topic_prefix="", schema=world.schema)
            raise RuntimeError("crash before commit")
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        assert await inbox.claim(conn, "c", [event.message_id]) == {event.message_id}


async def test_the_relay_publishes_committed_rows_in_order_and_empties_the_outbox(world):
    person = resident_id()
    events = [due(person, revision) for revision in range(1, 51)]
    async with world.pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [Outgoing(DUE_ASSESSED.name, "same-key", e) for e in events],
                         topic_prefix=world.settings.topic_prefix, schema=world.schema)
    topic = world.settings.topic(DUE_ASSESSED.name)
    for _ in range(100):
        if await world.pool.fetchval("SELECT count(*) FROM outbox") == 0:
            break
        await asyncio.sleep(0.1)
    records = await read_all(world.settings.kafka_bootstrap, topic)
    assert [json.loads(r.value)["revision"] for r in records] == list(range(1, 51))
    assert {r.key for r in records} == {b"same-key"}


async def test_a_row_that_commits_after_a_later_one_is_still_published(world):
    """Ids are taken at insert but visible at commit: the relay reads on from the last id it
    published, so a row with a lower id that commits later must be found by its sweep."""
    topic = world.settings.topic(DUE_ASSESSED.name)
    slow, fast = due(resident_id(), 1), due(resident_id(), 2)
    async with world.pool.acquire() as late:
        transaction = late.transaction()
        await transaction.start()
        await outbox.add(late, [Outgoing(DUE_ASSESSED.name, "slow", slow)],  # takes the lower id, commits last
                         topic_prefix=world.settings.topic_prefix, schema=world.schema)
        async with world.pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [Outgoing(DUE_ASSESSED.name, "fast", fast)],
                             topic_prefix=world.settings.topic_prefix, schema=world.schema)
        for _ in range(100):  # the relay publishes the later row and moves its mark past the slow one
            if await world.pool.fetchval("SELECT count(*) FROM outbox") == 0:
                break
            await asyncio.sleep(0.05)
        assert [r.key for r in await read_all(world.settings.kafka_bootstrap, topic)] == [b"fast"]
        await transaction.commit()
    for _ in range(100):
        if await world.pool.fetchval("SELECT count(*) FROM outbox") == 0:
            break
        await asyncio.sleep(0.1)
    records = await read_all(world.settings.kafka_bootstrap, topic)
    assert sorted(r.key for r in records) == [b"fast", b"slow"]


async def test_a_failed_batch_is_redelivered_and_applied_once_and_offsets_follow_the_commit(world):
    """The handler fails the first time (as if the database went away): nothing is committed, the
    batch comes back, and the second attempt applies it exactly once. A record that is not JSON is
    dead-lettered beside it without stopping the partition."""
    settings = world.settings
    topic = settings.topic(DUE_ASSESSED.name)
    group = settings.group("test", "dues")
    attempts: list[int] = []
    broker = KafkaBroker(settings.kafka_bootstrap)
    router = KafkaRouter()

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=group, model=DueAssessed, description="test")
    async def on_dues(dues: list[DueAssessed], message: KafkaMessage) -> None:
        async with world.consuming(topic=DUE_ASSESSED.name, consumer="dues", events=dues,
                                   dead_letters=message.unreadable) as (uow, fresh):
            attempts.append(len(fresh))
            await uow.conn.execute("CREATE TABLE IF NOT EXISTS applied (message_id uuid)")
            await uow.conn.executemany("INSERT INTO applied VALUES ($1)", [(d.message_id,) for d in fresh])
            if len(attempts) == 1:
                raise ConnectionError("database went away")

    broker.include_router(router)
    events = [due(resident_id()) for _ in range(5)]
    await produce(settings.kafka_bootstrap, topic,
                  [(b"k", e.model_dump_json().encode()) for e in events] + [(b"k", b"{broken")])
    await broker.start()
    try:
        for _ in range(600):  # at most a minute: a loaded machine joins groups slowly
            if await lag(settings.kafka_bootstrap, group, topic) == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    # The first attempt failed; the attempts after it applied each of the five exactly once.
    assert len(attempts) >= 2 and attempts[0] >= 1 and sum(attempts[1:]) == 5, attempts
    assert await world.pool.fetchval("SELECT count(*) FROM applied") == 5
    assert await world.pool.fetchval("SELECT count(DISTINCT message_id) FROM applied") == 5
    assert await world.pool.fetchval("SELECT count(*) FROM dead_letter") == 1
    assert await lag(settings.kafka_bootstrap, group, topic) == 0
