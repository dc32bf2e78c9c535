"""One use case, two entry points: `reassess` from the Kafka subscribers and from the command line.

Two fresh databases (the subsidy schema only) get the same facts: statuses, enrollments,
receipts. In the first, the facts about status and enrollment arrive as Kafka events,
consumed by the service's own subscribers (`register_handlers`, `Runtime.consuming`), which
call `record_statuses` / `record_enrollments` and so `reassess`. In the second, the same facts
are saved as they are and `python -m … subsidy reassess --year 2025` (services/subsidy/cli.py)
calls `reassess_year` and so `reassess`. Both then publish through their outbox relay.
The two must agree: the same stored rows (but for clocks and random ids), the same events
on Kafka and the same due cache in Redis.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from services.subsidy import store
from services.subsidy.app import SPEC
from services.subsidy.settings import Settings
from shared.kafka_admin import delete_topics_with_prefix, ensure_topics
from shared.messages import EnrollmentEnded, EnrollmentRegistered, ReceiptAccepted, StatusChanged
from shared.migrate import ServiceSchema, migrate
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.service import build_broker
from shared.topics import (
    DEAD_LETTER,
    DUE_ASSESSED,
    ENROLLMENT_EVENTS,
    RECEIPT_ACCEPTED,
    REFUND_ORDERED,
    STATUS_CHANGED,
)
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import resident_id
from tests.support.servers import Servers
from tests.support.system import with_database

ROOT = Path(__file__).resolve().parents[2]
HY, AK = "340321", "610900"
TOPICS = (STATUS_CHANGED, ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, DUE_ASSESSED, REFUND_ORDERED, DEAD_LETTER)
# What both paths must agree on, per table: every column but clocks and random ids.
COMPARED = {
    "person": "person_id, region, township, village, statuses",
    "enrollment": "person_id, year, region, township, village, kind, state, ended_on, end_reason",
    "payment": "receipt_no, person_id, year, region, amount_fen, paid_at",
    "due": "person_id, year, region, township, standard_fen, subsidy_fen, due_fen, refund_after_fen, reasons_id, lines, "
           "revision, state",
    "subsidy_line": "person_id, year, region, township, category, funding_source, mode, amount_fen",
    "unassessed": "person_id, year, region, reason",
    "refund_order": "person_id, year, region, township, funding_source, amount_fen, reason, state",
    "refund_transition": "from_state, to_state, actor, note, recorded_by",
    "text_set": "id, texts",
}
VOLATILE = {"message_id", "occurred_at", "refund_id"}


@dataclasses.dataclass
class Side:
    """One of the two worlds: its database, topic prefix and settings."""
    tag: str
    settings: Settings

    @property
    def dsn(self) -> str:
        return self.settings.pg_dsn


def envelope() -> dict:
    return {"message_id": uuid.uuid4(), "occurred_at": datetime.now(UTC)}


def the_facts() -> tuple[list[StatusChanged], list[EnrollmentRegistered | EnrollmentEnded], list[ReceiptAccepted]]:
    """Six people: subsidised, pay-first-refund-later paid in full, paid before a status (no refund), ended,
    registered without any status, and one of a region without a policy pack."""
    low, veteran, late, ended, plain, nowhere = (resident_id(HY), resident_id(HY), resident_id(AK), resident_id(HY),
                                                 resident_id(HY), resident_id("110101"))

    def status(person: str, region: str, category: str, certified_on: str) -> StatusChanged:
        return StatusChanged(**envelope(), person_id=person, region=region, township="榴城镇", village="城关村",
                             statuses=[{"category": category, "department": "civil_affairs", "certified_on": certified_on}])

    statuses = [status(low, HY, "minimum_living", "2024-10-08"), status(veteran, HY, "entitled_veteran", "2024-09-20"),
                status(late, AK, "minimum_living", "2024-11-01"), status(ended, HY, "minimum_living", "2024-10-08"),
                status(nowhere, "110101", "minimum_living", "2024-10-08")]
    enrollments = [EnrollmentRegistered(**envelope(), person_id=plain, region=HY, year=2025, township="常坟镇"),
                   EnrollmentEnded(**envelope(), person_id=ended, region=HY, year=2025, reason="death",
                                   ended_on=date(2024, 11, 30))]
    receipts = [ReceiptAccepted(**envelope(), receipt_no=f"3340{uuid.uuid4().int % 10**14:014d}", person_id=p,
                                region=p[:6], year=2025, amount_fen=40000, channel="wechat",
                                paid_at=datetime(2024, 10, 15, 1, 30, tzinfo=UTC)) for p in (veteran, late)]
    return statuses, enrollments, receipts


async def open_side(servers: Servers) -> Side:
    tag = f"u{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(servers.pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "yibao_{tag}"')
    finally:
        await admin.close()
    dsn = with_database(servers.pg_dsn, f"yibao_{tag}")
    await asyncio.to_thread(migrate, dsn, (ServiceSchema("subsidy", "subsidy"),))
    await ensure_topics(servers.kafka_bootstrap, [dataclasses.replace(t, name=f"{tag}.{t.name}") for t in TOPICS])
    return Side(tag, Settings(kafka_bootstrap=servers.kafka_bootstrap, pg_dsn=dsn, redis_url=servers.redis_url,
                              topic_prefix=f"{tag}.", group_prefix=tag, batch_timeout_ms=20, retry_backoff_s=0.1,
                              campaign_year=2025))


async def close_side(servers: Servers, side: Side) -> None:
    admin = await asyncpg.connect(servers.pg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "yibao_{side.tag}" WITH (FORCE)')
    finally:
        await admin.close()
    await delete_topics_with_prefix(servers.kafka_bootstrap, side.settings.topic_prefix)
    redis = aioredis.from_url(servers.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(f"{side.settings.topic_prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
async def sides(servers) -> AsyncIterator[tuple[Side, Side]]:
    opened = [await open_side(servers), await open_side(servers)]
    try:
        yield opened[0], opened[1]
    finally:
        for side in opened:
            await close_side(servers, side)


async def save_facts(side: Side, statuses=(), enrollments=(), receipts=()) -> None:
    """Facts as they are, with no reassessment (what another entry would have saved before)."""
    conn = await asyncpg.connect(side.dsn, server_settings={"search_path": "subsidy"})
    try:
        async with conn.transaction():
            now = datetime.now(UTC)
            await store.save_people(conn, list(statuses), now)
            await store.save_enrollments(conn, list(enrollments), now)
            await store.save_payments(conn, list(receipts), now)
    finally:
        await conn.close()


async def until_relayed(runtime: Runtime, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await runtime.pool.fetchval("SELECT count(*) FROM outbox") == 0:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the outbox relay did not publish everything")


async def through_kafka(servers: Servers, side: Side, statuses, enrollments, receipts) -> None:
    """The subsidy service's subscribers, in this process, on the side's topics: the registrations and the
    statuses arrive as events; the endings and receipts were saved before, as facts."""
    await save_facts(side, enrollments=[e for e in enrollments if isinstance(e, EnrollmentEnded)], receipts=receipts)
    runtime = Runtime("subsidy", "subsidy", side.settings)
    broker = build_broker(SPEC, runtime)
    await runtime.start()
    await broker.start()
    try:
        registered = [e for e in enrollments if isinstance(e, EnrollmentRegistered)]
        for topic, group, events in ((ENROLLMENT_EVENTS, "enrollment", registered), (STATUS_CHANGED, "statuses", statuses)):
            await produce(servers.kafka_bootstrap, side.settings.topic(topic.name),
                          [(person_key(e.person_id).encode(), e.model_dump_json().encode()) for e in events])
            await wait_consumed(servers.kafka_bootstrap, side.settings.group("subsidy", group),
                                side.settings.topic(topic.name))
        await until_relayed(runtime)
    finally:
        await broker.stop()
        await runtime.stop()


async def through_the_command_line(side: Side, statuses, enrollments, receipts) -> str:
    """The same facts saved as they are, then `subsidy reassess --year 2025`; the relay publishes what it raised."""
    await save_facts(side, statuses, enrollments, receipts)
    env = {**os.environ, "YIBAO_PG_DSN": side.dsn, "YIBAO_REDIS_URL": side.settings.redis_url,
           "YIBAO_KAFKA_BOOTSTRAP": side.settings.kafka_bootstrap, "YIBAO_TOPIC_PREFIX": side.settings.topic_prefix}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from services.subsidy.cli import app; app()", "reassess", "--year", "2025",
        "--batch", "4", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    runtime = Runtime("subsidy", "subsidy", side.settings)
    await runtime.start()
    try:
        await until_relayed(runtime)
    finally:
        await runtime.stop()
    return out.decode().splitlines()[-1]  # the summary; log lines (a person not assessed) come before it


async def stored(side: Side) -> dict[str, list[tuple]]:
    conn = await asyncpg.connect(side.dsn, server_settings={"search_path": "subsidy"})
    try:
        return {table: sorted((tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM {table}")), key=repr)
                for table, columns in COMPARED.items()}
    finally:
        await conn.close()


async def published(side: Side) -> list[tuple[str, str, str]]:
    """Everything the side published: (topic without its prefix, key, message without ids and clocks), sorted."""
    found = []
    for topic in (DUE_ASSESSED, REFUND_ORDERED, DEAD_LETTER):
        for record in await read_all(side.settings.kafka_bootstrap, side.settings.topic(topic.name)):
            message = {k: v for k, v in json.loads(record.value).items() if k not in VOLATILE}
            found.append((topic.name, record.key.decode(), json.dumps(message, sort_keys=True, ensure_ascii=False)))
    return sorted(found)


async def cached(side: Side, people: list[str]) -> dict[str, str | None]:
    redis = aioredis.from_url(side.settings.redis_url, decode_responses=True)
    try:
        return {p: await redis.get(f"{side.settings.topic_prefix}subsidy:due:{person_key(p)}:2025") for p in people}
    finally:
        await redis.aclose()


async def test_reassess_from_kafka_and_from_the_command_line_stores_and_publishes_the_same(servers, sides):
    kafka_side, cli_side = sides
    statuses, enrollments, receipts = the_facts()
    await through_kafka(servers, kafka_side, statuses, enrollments, receipts)
    out = await through_the_command_line(cli_side, statuses, enrollments, receipts)

    by_kafka, by_cli = await stored(kafka_side), await stored(cli_side)
    assert len(by_kafka["due"]) == 5 and len(by_kafka["unassessed"]) == 1 and len(by_kafka["refund_order"]) == 1
    for table in COMPARED:
        assert by_cli[table] == by_kafka[table], table

    events = await published(kafka_side)
    assert [topic for topic, _, _ in events].count(DUE_ASSESSED.name) == 5
    assert [topic for topic, _, _ in events].count(REFUND_ORDERED.name) == 1
    assert await published(cli_side) == events
    assert out == f"6 people assessed for 2025; {len(events)} events to publish (outbox)"

    people = sorted({e.person_id for e in (*statuses, *enrollments)})
    from_kafka = await cached(kafka_side, people)
    assert sum(v is not None for v in from_kafka.values()) == 5
    assert await cached(cli_side, people) == from_kafka
