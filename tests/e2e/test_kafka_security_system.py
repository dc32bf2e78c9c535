"""The five services run on a Kafka with SASL/SCRAM and ACLs, each as its own principal.

The real service processes (as docker-compose.yml runs them: YIBAO_KAFKA_SECURITY_PROTOCOL
=SASL_PLAINTEXT and one username per service) on a broker of their own
(tests/support/secure_kafka.py), with the topics, users and ACLs of shared/kafka_acls.py.
Whatever a service does on Kafka — join its consumer groups, commit offsets, publish from
the outbox, dead-letter an unreadable record — must be allowed by its ACLs, and nothing
may be refused along the way.
"""
from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import kafka_acls
from shared.kafka_admin import ensure_topics
from shared.kafka_security import aiokafka_options, confluent_config
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.service import build_broker
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS, DEAD_LETTER, RECEIPT_ACCEPTED, RECEIPT_RECEIVED, RECEIPT_REJECTED
from tests.support.people import encode, receipt, resident_id
from tests.support.secure_kafka import ADMIN_PASSWORD, secure_kafka
from tests.support.servers import Servers
from tests.support.system import SERVICES, System, create_system, drop_system, new_tag
from tests.support.waiting import eventually

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORDS = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in kafka_acls.principals()}
REFUSALS = ("AuthorizationFailed", "not authorized", "Authentication failed", "SaslAuthentication")


@dataclasses.dataclass
class SecureSystem(System):
    """A `System` whose services each log in to Kafka as their own principal."""

    def env(self, service: str) -> dict[str, str]:
        return {**super().env(service), "YIBAO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "YIBAO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "YIBAO_KAFKA_USERNAME": service,
                "YIBAO_KAFKA_PASSWORD": PASSWORDS[service]}


def principal(bootstrap: str, name: str, password: str, mechanism: str = "SCRAM-SHA-512") -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap=bootstrap, kafka_security_protocol="SASL_PLAINTEXT",
                           kafka_sasl_mechanism=mechanism, kafka_username=name, kafka_password=password)


@pytest.fixture(scope="module")
async def secure(servers, tmp_path_factory) -> AsyncIterator[tuple[SecureSystem, ServiceSettings]]:
    with secure_kafka(tmp_path_factory.mktemp("sasl-system")) as kafka:
        admin = principal(kafka.internal, kafka_acls.ADMIN, ADMIN_PASSWORD, "PLAIN")
        tag = new_tag()
        await ensure_topics(kafka.internal, [dataclasses.replace(t, name=f"{tag}.{t.name}") for t in ALL_TOPICS],
                            client_options=aiokafka_options(admin))
        await asyncio.to_thread(kafka_acls.apply, confluent_config(admin), PASSWORDS,
                                kafka_acls.plan(topic_prefix=f"{tag}.", group_prefix=tag))
        system = await create_system(Servers(kafka.client, servers.pg_dsn, servers.redis_url, "sasl-test-broker"),
                                     ARTIFACTS, tag=tag, kind=SecureSystem, create_topics=False)
        try:
            for service in SERVICES:
                system.start(service)
            await system.wait_healthy(SERVICES, timeout=90)
            yield system, admin
        finally:
            await drop_system(system, delete_topics=False)  # the private broker goes with its topics


def expected_groups(tag: str) -> set[str]:
    """The consumer groups the five services register (built as they build them, without connecting)."""
    groups = set()
    for service in SERVICES:
        spec = importlib.import_module(f"services.{service}.app").SPEC
        settings = spec.settings(topic_prefix=f"{tag}.", group_prefix=tag)
        groups |= {sub.group_id for sub in build_broker(spec, Runtime(spec.name, spec.schema, settings)).subscribers}
    return groups


async def read(admin: ServiceSettings, topic: str) -> list:
    """Every record on `topic`, read by the admin principal (a super user, no group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=admin.kafka_bootstrap, enable_auto_commit=False,
                                **aiokafka_options(admin))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records, deadline = [], time.monotonic() + 10
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]] and time.monotonic() < deadline:
            for items in (await consumer.getmany(timeout_ms=300)).values():
                records += items
        return records
    finally:
        await consumer.stop()


async def test_every_consumer_group_of_every_service_joins(secure):
    system, admin = secure
    client = AIOKafkaAdminClient(bootstrap_servers=admin.kafka_bootstrap, **aiokafka_options(admin))
    await client.start()
    try:
        async def joined():
            have = {group for group, *_ in await client.list_consumer_groups()}
            return have if expected_groups(system.tag) <= have else None

        assert await eventually(joined, timeout=60)
    finally:
        await client.close()


async def test_receipts_flow_and_bad_records_are_dead_lettered_under_the_acls(secure):
    system, admin = secure
    gateway = principal(system.servers.kafka_bootstrap, kafka_acls.TAX_GATEWAY, PASSWORDS[kafka_acls.TAX_GATEWAY])
    person = resident_id("340321")
    paid = receipt(person, 6000, region="340321", year=2025)
    producer = AIOKafkaProducer(bootstrap_servers=gateway.kafka_bootstrap, enable_idempotence=True,
                                **aiokafka_options(gateway))
    await producer.start()
    try:
        topic = system.topic(RECEIPT_RECEIVED.name)
        await producer.send_and_wait(topic, encode(paid), key=person_key(person).encode())
        await producer.send_and_wait(topic, b"\xff not json", key=b"garbage")
    finally:
        await producer.stop()

    async def decided():  # accepted or rejected (no due assessed here): either way published from the outbox
        out = (await read(admin, system.topic(RECEIPT_ACCEPTED.name))
               + await read(admin, system.topic(RECEIPT_REJECTED.name)))
        return out or None

    decisions = await eventually(decided, timeout=60)
    assert [json.loads(r.value)["receipt_no"] for r in decisions] == [paid["receipt_no"]]

    async def dead_lettered():
        return await read(admin, system.topic(DEAD_LETTER.name)) or None

    assert len(await eventually(dead_lettered, timeout=60)) == 1


async def test_no_service_was_refused_anything(secure):
    system, _ = secure
    await asyncio.sleep(1)  # let the last commits and outbox flushes land in the logs
    refused = {s: [line for line in system.log_tail(s, 2000).splitlines() if any(r in line for r in REFUSALS)]
               for s in SERVICES}
    assert refused == {s: [] for s in SERVICES}
