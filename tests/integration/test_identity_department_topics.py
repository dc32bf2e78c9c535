"""A department is who its topic says, on the real broker: identity certification's own subscribers (built as
`python -m services.identity_certification` builds them, run in this process) take a list's department from
the topic it came from, refuse a list in another department's name and keep it like any refused submission,
and refuse what is still on the retired shared topic. The ACLs that make a topic proof of its department:
tests/unit/test_kafka_acl_plan.py and tests/integration/test_kafka_security.py."""
from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from services.identity_certification import store
from services.identity_certification.app import SPEC
from services.identity_certification.settings import Settings
from shared.codes import Department
from shared.db import create_pool
from shared.runtime import Runtime
from shared.service import build_broker
from shared.topics import DEPARTMENT_RECORDS, SHARED_RECORDS, STATUS_CHANGED, Topic
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import resident_id
from tests.support.system import System, create_system, drop_system
from tests.support.waiting import eventually

pytestmark = pytest.mark.stack
REGION = "340321"
CIVIL, AGRICULTURE = Department.CIVIL_AFFAIRS, Department.AGRICULTURE


@dataclass(frozen=True)
class Identity:
    system: System
    settings: Settings
    pool: asyncpg.Pool

    async def post(self, topic: Topic, group: str, message: dict) -> None:
        """Put `message` on the system's `topic` and wait until identity's `group` has consumed it."""
        name = self.system.topic(topic.name)
        await produce(self.settings.kafka_bootstrap, name, [(REGION.encode(), json.dumps(message).encode())])
        await wait_consumed(self.settings.kafka_bootstrap, self.settings.group("identity_certification", group), name)

    async def announced(self) -> list | None:
        """The system's identity.status-changed records, once the outbox relay has published all it was given."""
        if await self.pool.fetchval("SELECT count(*) FROM outbox"):
            return None
        return await read_all(self.settings.kafka_bootstrap, self.system.topic(STATUS_CHANGED.name))


@pytest.fixture(scope="module")
async def identity(servers) -> AsyncIterator[Identity]:
    """A system's topics and database, both departments holding a credential for the region, and identity
    certification's broker and runtime started on them."""
    system = await create_system(servers, Path("/tmp") / "identity-department-topics")
    settings = Settings(kafka_bootstrap=servers.kafka_bootstrap, pg_dsn=system.pg_dsn, redis_url=servers.redis_url,
                        topic_prefix=system.topic_prefix, group_prefix=system.tag, batch_timeout_ms=20,
                        retry_backoff_s=0.1)
    pool = await create_pool(system.pg_dsn, "identity")
    runtime = Runtime(SPEC.name, SPEC.schema, settings)
    broker = build_broker(SPEC, runtime)
    try:
        async with pool.acquire() as conn:
            for department in (CIVIL, AGRICULTURE):
                await store.create_credential(conn, department.value, REGION)
        await runtime.start()
        await broker.start()
        yield Identity(system, settings, pool)
    finally:
        await broker.stop()
        await runtime.stop()
        await pool.close()
        await drop_system(system)


def a_list(department: str, *people: str) -> dict:
    """A civil-affairs list (minimum living allowance): only civil affairs may certify it."""
    return {"message_id": str(uuid.uuid4()), "occurred_at": "2024-11-20T08:00:00Z", "department": department,
            "region": REGION, "period": "2024-11", "mode": "delta",
            "rows": [{"id": p, "category": "minimum_living", "certified_on": "2024-11-05"} for p in people]}


async def test_a_list_on_agricultures_topic_in_civil_affairs_name_is_refused_and_kept(identity):
    people = [resident_id(REGION, seq=s) for s in (601, 603)]
    forged = a_list(CIVIL.value, *people)  # its rows are civil affairs' category: the body's name would pass
    await identity.post(DEPARTMENT_RECORDS[AGRICULTURE], f"records.{AGRICULTURE.value}", forged)

    [kept] = await identity.pool.fetch("SELECT * FROM submission WHERE id = $1", uuid.UUID(forged["message_id"]))
    # The topic's department sent it (its result, by the id it sent, is agriculture's), every row counted rejected.
    assert (kept["department"], kept["region"], kept["outcome"], kept["source"]) == (AGRICULTURE.value, REGION,
                                                                                     "refused", "kafka")
    assert (kept["rows_total"], kept["rows_accepted"], kept["rows_rejected"], kept["people_changed"]) == (2, 0, 2, 0)
    assert "该主题属于农业农村（agriculture）" in kept["refusal"] and "以民政（civil_affairs）的名义" in kept["refusal"]
    [refusal] = await identity.pool.fetch(
        "SELECT channel, department, region, reason FROM access_refusal WHERE reason_code = 'department_mismatch'")
    assert (refusal["channel"], refusal["department"], refusal["region"]) == ("kafka", AGRICULTURE.value, REGION)
    assert forged["message_id"] in refusal["reason"]
    assert await identity.pool.fetchval("SELECT count(*) FROM status WHERE person_id = ANY($1)", people) == 0

    # The same rows on civil affairs' own topic, in its own name: processed and announced, the only events.
    await identity.post(DEPARTMENT_RECORDS[CIVIL], f"records.{CIVIL.value}", a_list(CIVIL.value, *people))
    statuses = await identity.pool.fetch("SELECT person_id, department FROM status WHERE person_id = ANY($1)", people)
    assert sorted(map(tuple, statuses)) == sorted((p, CIVIL.value) for p in people)
    announced = [json.loads(r.value) for r in await eventually(identity.announced)]
    assert sorted((e["person_id"], [s["department"] for s in e["statuses"]]) for e in announced) == sorted(
        (p, [CIVIL.value]) for p in people)


async def test_a_list_left_on_the_retired_shared_topic_is_refused_unproven(identity):
    person = resident_id(REGION, seq=605)
    left = a_list(CIVIL.value, person)
    await identity.post(SHARED_RECORDS, "records", left)
    [refusal] = await identity.pool.fetch(
        "SELECT channel, department, reason FROM access_refusal WHERE reason_code = 'department_not_proven'")
    assert (refusal["channel"], refusal["department"]) == ("kafka", CIVIL.value)
    assert left["message_id"] in refusal["reason"]
    assert identity.system.topic(DEPARTMENT_RECORDS[CIVIL].name) in refusal["reason"]  # where to post it instead
    assert not await identity.pool.fetchval("SELECT count(*) FROM submission WHERE id = $1",
                                            uuid.UUID(left["message_id"]))
    assert not await identity.pool.fetchval("SELECT count(*) FROM status WHERE person_id = $1", person)
