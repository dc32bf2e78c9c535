"""The servers really answer: PostgreSQL queries, Redis commands, Kafka produce and consume.

These talk to whatever `servers` found (environment, testcontainers or the local
stack) and fail when a server is missing or misconfigured.
"""
from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.topics import ALL_TOPICS

pytestmark = pytest.mark.stack


async def test_postgres_answers_and_stores(servers):
    conn = await asyncpg.connect(servers.pg_dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        await conn.execute("CREATE TEMP TABLE probe (id int PRIMARY KEY, note text)")
        await conn.execute("INSERT INTO probe VALUES ($1, $2)", 1, "参保登记")
        assert await conn.fetchval("SELECT note FROM probe WHERE id = 1") == "参保登记"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
    finally:
        await conn.close()


async def test_redis_ping_set_get(servers):
    client = aioredis.from_url(servers.redis_url)
    key = f"test:stack:{uuid.uuid4().hex}"
    try:
        assert await client.ping() is True
        assert await client.set(key, "缴费", ex=60) is True
        assert (await client.get(key)).decode() == "缴费"
    finally:
        await client.delete(key)
        await client.aclose()


async def test_declared_topics_exist(servers):
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
        described = {t["topic"]: t for t in await admin.describe_topics([t.name for t in ALL_TOPICS])}
    finally:
        await admin.close()
    missing = [t.name for t in ALL_TOPICS if t.name not in present]
    assert not missing, f"topics not created: {missing}"
    for topic in ALL_TOPICS:
        assert len(described[topic.name]["partitions"]) == topic.partitions, topic.name


async def test_kafka_produce_then_consume_one_record(servers):
    topic = f"test.stack-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(topic, 1, 1)])
        assert [code for _, code, *_ in response.topic_errors] == [0]

        producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, enable_idempotence=True, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(topic, b"receipt-1", key=b"person-1")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=servers.kafka_bootstrap,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=30)
        finally:
            await consumer.stop()
        assert (record.key, record.value, record.offset) == (b"person-1", b"receipt-1", sent.offset)
    finally:
        await admin.delete_topics([topic])
        await admin.close()
