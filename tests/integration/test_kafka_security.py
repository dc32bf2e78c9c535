"""Kafka with SASL/SCRAM and ACLs, against a real broker: each principal can do its job and nothing else.

A broker of our own (tests/support/secure_kafka.py: the jars of the local stack,
configured like docker-compose.yml's Kafka, on free loopback ports) gets the
topics, the SCRAM users and the ACLs exactly as `yibao topics create` and
`yibao kafka-acls apply` make them; the clients then connect with the options of
`shared.kafka_security`, the one place every client of the project takes them from.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from faststream.kafka import KafkaBroker

from shared import kafka_acls
from shared.codes import Department
from shared.kafka import create_producer
from shared.kafka_security import aiokafka_options, confluent_config, faststream_security
from shared.settings import ServiceSettings
from shared.topics import (
    ALL_TOPICS,
    DEPARTMENT_RECORDS,
    RECEIPT_ACCEPTED,
    RECEIPT_RECEIVED,
    SHARED_RECORDS,
    STATUS_CHANGED,
)
from tests.support.secure_kafka import ADMIN_PASSWORD, SecureKafka, secure_kafka

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)

PASSWORDS = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in kafka_acls.principals()}


def as_principal(bootstrap: str, name: str, password: str | None = None) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap=bootstrap, kafka_security_protocol="SASL_PLAINTEXT",
                           kafka_sasl_mechanism="SCRAM-SHA-512", kafka_username=name,
                           kafka_password=password or PASSWORDS[name])


def admin_env(kafka: SecureKafka) -> dict[str, str]:
    return {"YIBAO_KAFKA_BOOTSTRAP": kafka.internal, "YIBAO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "YIBAO_KAFKA_SASL_MECHANISM": "PLAIN", "YIBAO_KAFKA_USERNAME": kafka_acls.ADMIN,
            "YIBAO_KAFKA_PASSWORD": ADMIN_PASSWORD}


@pytest.fixture(scope="module")
def kafka(tmp_path_factory) -> Iterator[SecureKafka]:
    """The broker with topics, users and ACLs applied by the `yibao` commands the compose init jobs run."""
    with secure_kafka(tmp_path_factory.mktemp("sasl-kafka")) as broker:
        env = {**os.environ, **admin_env(broker),
               **{kafka_acls.password_env_var(n): p for n, p in PASSWORDS.items()}}
        for command in (["topics", "create", "--timeout", "60"], ["kafka-acls", "apply", "--prune"]):
            res = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", *command],
                                 cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=120)
            assert res.returncode == 0, f"yibao {' '.join(command)} failed:\n{res.stdout}{res.stderr}"
        _until_each_principal_authenticates(broker)
        yield broker


def _until_each_principal_authenticates(broker: SecureKafka, timeout_s: float = 60) -> None:
    """SCRAM credentials are accepted by the controller and reach the broker a moment later (KRaft metadata):
    a client connecting at once may be refused as having "invalid credentials". Wait, bounded, until every
    principal's own password opens a connection, so that a refusal in a test is the ACLs' answer."""
    deadline = time.monotonic() + timeout_s
    for name, password in PASSWORDS.items():
        config = confluent_config(as_principal(broker.client, name, password))
        while True:
            try:
                AdminClient(config).list_topics(timeout=5)
                break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


async def _consume_one(settings: ServiceSettings, topic: str, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **aiokafka_options(settings))
    try:
        await consumer.start()
        values: list[bytes] = []
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=500)
            values += [r.value for records in batches.values() for r in records]
            if values:
                await consumer.commit()
                return values
        return values
    finally:
        await consumer.stop()


async def _read_without_group(settings: ServiceSettings, topic: str) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", **aiokafka_options(settings))
    try:
        await consumer.start()
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()


async def test_a_service_produces_and_consumes_its_own_topics(kafka):
    gateway = as_principal(kafka.client, kafka_acls.TAX_GATEWAY)
    payment = as_principal(kafka.client, "payment_ingest")
    receipt = f"receipt-{uuid.uuid4().hex}".encode()

    producer = AIOKafkaProducer(bootstrap_servers=kafka.client, enable_idempotence=True, **aiokafka_options(gateway))
    await producer.start()
    try:
        await producer.send_and_wait(RECEIPT_RECEIVED.name, receipt, key=b"p1")
    finally:
        await producer.stop()

    got = await _consume_one(payment, RECEIPT_RECEIVED.name, payment.group("payment_ingest", "receipts"))
    assert receipt in got

    outbox_producer = create_producer(payment)  # the producer of the service runtime's outbox relay
    await outbox_producer.start()
    try:
        meta = await outbox_producer.send_and_wait(RECEIPT_ACCEPTED.name, b"accepted", key=b"p1")
        assert meta.offset >= 0
    finally:
        await outbox_producer.stop()


async def test_a_service_is_denied_a_topic_it_does_not_own(kafka):
    payment = as_principal(kafka.client, "payment_ingest")
    producer = create_producer(payment)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(STATUS_CHANGED.name, b"forged status", key=b"p1")
    finally:
        await producer.stop()


async def test_a_service_is_denied_another_services_consumer_group(kafka):
    payment = as_principal(kafka.client, "payment_ingest")
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume_one(payment, RECEIPT_RECEIVED.name, payment.group("subsidy", "receipts"))


async def test_the_service_broker_publishes_with_the_shared_security(kafka):
    """FastStream's broker (what every service's subscribers run on) authenticates from the same settings."""
    settings = as_principal(kafka.client, "identity_certification")
    broker = KafkaBroker(kafka.client, security=faststream_security(settings))
    await broker.connect()
    try:
        await broker.publish(b"status", topic=STATUS_CHANGED.name, key=b"p1")
        with pytest.raises(TopicAuthorizationFailedError):
            await broker.publish(b"receipt", topic=RECEIPT_ACCEPTED.name, key=b"p1")
    finally:
        await broker.stop()


@pytest.mark.parametrize("department", [Department.CIVIL_AFFAIRS, Department.VETERANS])
async def test_a_department_writes_its_lists_and_nothing_else(kafka, department):
    dept = as_principal(kafka.client, kafka_acls.department_principal(department))
    own = DEPARTMENT_RECORDS[department].name
    other = next(t.name for d, t in DEPARTMENT_RECORDS.items() if d != department)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.client, enable_idempotence=True, **aiokafka_options(dept))
    await producer.start()
    try:
        meta = await producer.send_and_wait(own, b'{"rows": []}', key=b"340321")
        assert meta.offset >= 0
        # Neither another department's topic (that would post in its name) nor the retired shared one.
        for forbidden in (other, SHARED_RECORDS.name, RECEIPT_RECEIVED.name):
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(forbidden, b"forged", key=b"340321")
    finally:
        await producer.stop()
    # Not even its own lists back: reading them is identity certification's, with or without a group.
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume_one(dept, own, f"yibao.{department.value}.peek")
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_without_group(dept, own)


def yibao(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cli.main import app; app()", *args], cwd=ROOT,
                          env={**os.environ, **env}, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)


def principal_env(kafka: SecureKafka, name: str) -> dict[str, str]:
    return {"YIBAO_KAFKA_BOOTSTRAP": kafka.client, "YIBAO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "YIBAO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "YIBAO_KAFKA_USERNAME": name,
            "YIBAO_KAFKA_PASSWORD": PASSWORDS[name], "YIBAO_TOPIC_PREFIX": ""}


def test_the_simulator_sends_as_the_tax_gateway_and_not_as_a_department(kafka):
    """`yibao simulate receipts` takes its principal from the settings like every other client."""
    sent = yibao(principal_env(kafka, kafka_acls.TAX_GATEWAY), "simulate", "receipts", "--region", "340321",
                 "--count", "50")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout.strip().splitlines()[-1])["sent"] == 50
    refused = yibao(principal_env(kafka, kafka_acls.department_principal(Department.HEALTH)), "simulate",
                    "receipts", "--region", "340321", "--count", "5")
    assert refused.returncode != 0
    assert "TopicAuthorizationFailedError" in refused.stderr


def _failed_authentications(kafka: SecureKafka) -> int:
    return sum("invalid credentials with SASL mechanism SCRAM-SHA-512" in line
               for line in kafka.log.read_text(errors="replace").splitlines())


async def test_a_wrong_password_does_not_authenticate(kafka):
    before = _failed_authentications(kafka)
    wrong = as_principal(kafka.client, "payment_ingest", password="not-the-password")
    producer = AIOKafkaProducer(bootstrap_servers=kafka.client, **aiokafka_options(wrong))
    with pytest.raises(KafkaConnectionError):  # aiokafka: "Unable to bootstrap"; the broker says why:
        await asyncio.wait_for(producer.start(), timeout=30)
    await producer.stop()
    for _ in range(50):  # the broker logs the refusal a moment after it closes the connection
        if _failed_authentications(kafka) > before:
            break
        await asyncio.sleep(0.1)
    assert _failed_authentications(kafka) > before


async def test_no_credentials_get_nothing(kafka):
    """The default PLAINTEXT settings do not even get past the SASL listener's handshake."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.client, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), timeout=15)
    await producer.stop()


def acls_on(kafka: SecureKafka) -> set[tuple[str, str, str, str, str, str]]:
    """(principal, resource, name, pattern, operation, permission) of every ACL on the broker."""
    admin = admin_client(kafka)  # held until the answer is in: a collected client cancels its futures
    found = admin.describe_acls(AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY,
    )).result(timeout=20)
    return {(b.principal, b.restype.name.lower(), b.name, b.resource_pattern_type.name.lower(),
             b.operation.name.lower(), b.permission_type.name.lower()) for b in found}


def admin_client(kafka: SecureKafka) -> AdminClient:
    settings = ServiceSettings(**{k.removeprefix("YIBAO_").lower(): v for k, v in admin_env(kafka).items()})
    return AdminClient(confluent_config(settings))


def planned() -> set[tuple[str, str, str, str, str, str]]:
    return {(f"User:{a.principal}", a.resource, a.name, a.pattern, a.operation, "allow") for a in kafka_acls.plan()}


def test_every_declared_topic_exists_and_the_acls_are_exactly_the_plan(kafka):
    assert {t.name for t in ALL_TOPICS} <= set(admin_client(kafka).list_topics(timeout=20).topics)
    assert acls_on(kafka) == planned()


def test_apply_prune_removes_what_the_plan_dropped_and_nothing_else(kafka):
    admin = admin_client(kafka)
    stale = AclBinding(ResourceType.TOPIC, STATUS_CHANGED.name, ResourcePatternType.LITERAL, "User:payment_ingest",
                       "*", AclOperation.WRITE, AclPermissionType.ALLOW)  # e.g. a topic that changed owner
    operator = AclBinding(ResourceType.TOPIC, STATUS_CHANGED.name, ResourcePatternType.LITERAL, "User:ops",
                          "*", AclOperation.READ, AclPermissionType.ALLOW)  # not one of ours: left alone
    for future in admin.create_acls([stale, operator]).values():
        future.result(timeout=20)
    try:
        env = {**admin_env(kafka), **{kafka_acls.password_env_var(n): p for n, p in PASSWORDS.items()}}
        done = yibao(env, "kafka-acls", "apply", "--prune")
        assert done.returncode == 0, done.stderr
        assert "removed: User:payment_ingest WRITE TOPIC identity.status-changed" in done.stdout
        assert acls_on(kafka) == planned() | {("User:ops", "topic", STATUS_CHANGED.name, "literal", "read", "allow")}
    finally:
        flt = AclBindingFilter(operator.restype, operator.name, operator.resource_pattern_type, operator.principal,
                               operator.host, operator.operation, operator.permission_type)
        for future in admin.delete_acls([flt]).values():
            future.result(timeout=20)
    assert acls_on(kafka) == planned()
