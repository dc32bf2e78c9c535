"""The subsidy service's statuses per person and region, and one reassessment of a person-year at a time,
against the real PostgreSQL and Redis (issue 13, point 9).

- 怀远县 (340321) and 霍邱县 (341522) both list a person as 低保对象: one row each; the person, registered in
  怀远, owes 怀远's 60 (seed 000 L84-86); 怀远 ending its status gives 400 back, whatever 霍邱 still lists.
- The statuses, enrollment and receipts consumers (and every instance) reassess; two reassessments of one
  person-year at once must give revisions 1 and 2, never two revisions 1 with different money.
- The due cache never goes backwards: a due of an older revision never replaces a newer one.
"""
from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from services.subsidy import store, usecases
from services.subsidy.cache import FIELDS, DueCache, key
from services.subsidy.due_json import CurrentDue
from shared.db import create_pool
from shared.messages import DueAssessed, EnrollmentRegistered, StatusChanged
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import create_system, drop_system

pytestmark = pytest.mark.stack
HY, HQ, YEAR = "340321", "341522", 2025
NOW = datetime(2024, 11, 8, 2, 0, tzinfo=UTC)  # inside 怀远's collection period 2024-09-01 … 12-31 (seed 000 L119-121)
PREFIX = "sr."
DUES_TOPIC = f"{PREFIX}subsidy.due-assessed"


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    system = await create_system(servers, Path("/tmp") / "subsidy-regions", create_topics=False)
    pool = await create_pool(system.pg_dsn, "subsidy", max_size=12)
    try:
        yield pool
    finally:
        await pool.close()
        await drop_system(system, delete_topics=False)


@pytest.fixture
async def cache(servers) -> AsyncIterator[DueCache]:
    client = aioredis.from_url(servers.redis_url, decode_responses=True)
    prefix = f"sr{uuid.uuid4().hex[:8]}."
    try:
        yield DueCache(client, prefix)
    finally:
        found = [k async for k in client.scan_iter(f"{prefix}*")]
        if found:
            await client.delete(*found)
        await client.aclose()


def envelope() -> dict:
    return {"message_id": uuid.uuid4(), "occurred_at": NOW}


def listed(person: str, region: str, *, ended_on: str | None = None, township: str = "榴城镇") -> StatusChanged:
    """The region's identity.status-changed: its 低保 of the person (2024-03-01, ended or not)."""
    return StatusChanged(**envelope(), person_id=person, region=region, township=township, village=None,
                         statuses=[{"category": "minimum_living", "department": "civil_affairs",
                                    "certified_on": "2024-03-01", "ended_on": ended_on}])


def registered(person: str, region: str = HY) -> EnrollmentRegistered:
    return EnrollmentRegistered(**envelope(), person_id=person, region=region, year=YEAR, township="榴城镇",
                                registered_on=date(2024, 11, 5))


async def statuses(pool: asyncpg.Pool, events: list[StatusChanged], cache: DueCache | None = None) -> None:
    async with unit_of_work(pool, schema="subsidy", topic_prefix=PREFIX, now=NOW) as uow:
        await usecases.record_statuses(uow, events, campaign_year=YEAR, dues=cache)


async def enroll(pool: asyncpg.Pool, events: list[EnrollmentRegistered]) -> None:
    async with unit_of_work(pool, schema="subsidy", topic_prefix=PREFIX, now=NOW) as uow:
        await usecases.record_enrollments(uow, events)


async def published(pool: asyncpg.Pool, person: str) -> list[tuple[int, int, str]]:
    """(revision, due, region) of every due-assessed about the person's 2025, in the order the relay sends them."""
    rows = await pool.fetch("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id", DUES_TOPIC)
    return [(e["revision"], e["due_fen"], e["region"]) for e in (json.loads(r["payload"]) for r in rows)
            if e["person_id"] == person and e["year"] == YEAR]


async def test_two_counties_keep_a_status_set_each_and_the_due_is_judged_on_its_regions(pool, cache):
    person = resident_id(HY, seq=941)
    await enroll(pool, [registered(person)])
    # one batch with both counties' events: both are kept, neither replaces the other
    await statuses(pool, [listed(person, HY), listed(person, HQ, township="城关镇")], cache)
    rows = await pool.fetch("SELECT region, township, statuses FROM person WHERE person_id = $1 ORDER BY region", person)
    assert [(r["region"], r["township"], [s["ended_on"] for s in r["statuses"]]) for r in rows] == [
        (HY, "榴城镇", [None]), (HQ, "城关镇", [None])]
    assert (await published(pool, person))[-1] == (2, 6000, HY)  # 400 on registering, then 怀远's 低保
    huoqiu = await pool.fetchrow("SELECT * FROM person WHERE person_id = $1 AND region = $2", person, HQ)

    await statuses(pool, [listed(person, HY, ended_on="2024-08-31")], cache)
    assert (await published(pool, person))[-1] == (3, 40000, HY)
    due = await pool.fetchrow("SELECT region, due_fen, lines FROM due WHERE person_id = $1 AND year = $2", person, YEAR)
    assert (due["region"], due["due_fen"], due["lines"]) == (HY, 40000, [])
    assert await pool.fetchrow("SELECT * FROM person WHERE person_id = $1 AND region = $2", person, HQ) == huoqiu
    assert json.loads(await cache.get_raw(person, YEAR))["due_fen"] == 40000

    # 霍邱 listing the person again changes nothing of 怀远's due
    await statuses(pool, [listed(person, HQ, township="城关镇")], cache)
    assert (await published(pool, person))[-1] == (3, 40000, HY)


async def waiting(pool: asyncpg.Pool, pid: int, timeout: float = 10.0) -> None:
    """Until the backend `pid` waits for a lock another transaction holds."""
    for _ in range(int(timeout / 0.05)):
        if await pool.fetchval("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} never waited for a lock")


async def test_two_reassessments_of_one_person_year_at_once_give_revisions_1_and_2(pool):
    """The registration's reassessment holds its transaction open; the status's starts meanwhile and must wait
    for it, then read its due: 400 as revision 1, 60 as revision 2 (without the lock both read no due and
    both raise revision 1, 400 and 60, and a consumer keeps whichever comes first)."""
    person = resident_id(HY, seq=943)
    pids: asyncio.Queue[int] = asyncio.Queue()

    async def status_meanwhile() -> None:
        async with unit_of_work(pool, schema="subsidy", topic_prefix=PREFIX, now=NOW) as uow:
            await pids.put(await uow.conn.fetchval("SELECT pg_backend_pid()"))
            await usecases.record_statuses(uow, [listed(person, HY)], campaign_year=YEAR)

    async with unit_of_work(pool, schema="subsidy", topic_prefix=PREFIX, now=NOW) as first:
        await usecases.record_enrollments(first, [registered(person)])
        second = asyncio.create_task(status_meanwhile())
        await waiting(pool, await pids.get())
    await second
    assert await published(pool, person) == [(1, 40000, HY), (2, 6000, HY)]
    assert await pool.fetchval("SELECT revision FROM due WHERE person_id = $1 AND year = $2", person, YEAR) == 2


async def test_many_reassessments_of_shared_person_years_in_any_order_never_repeat_a_revision(pool):
    """Eight transactions reassess the same five person-years at once, each in its own order: none deadlocks,
    and each person-year is published once, as revision 1 (the others find its due and the same money)."""
    people = [resident_id(HY, seq=951 + 2 * i) for i in range(5)]
    async with pool.acquire() as conn, conn.transaction():  # the facts as they are, nothing reassessed yet
        await store.save_enrollments(conn, [registered(p) for p in people], NOW)
        await store.save_people(conn, [listed(p, HY) for p in people], NOW)
    shuffler = random.Random(13)

    async def reassess() -> None:
        order = shuffler.sample(people, len(people))
        async with unit_of_work(pool, schema="subsidy", topic_prefix=PREFIX, now=NOW) as uow:
            await usecases.reassess(uow, [(p, YEAR) for p in order], source="test")

    await asyncio.gather(*(reassess() for _ in range(8)))
    for person in people:
        assert await published(pool, person) == [(1, 6000, HY)], person


def due(person: str, revision: int, due_fen: int) -> CurrentDue:
    event = DueAssessed(**envelope(), person_id=person, region=HY, year=YEAR, standard_fen=40000,
                        subsidy_fen=40000 - due_fen, due_fen=due_fen, refund_after_fen=0, revision=revision,
                        reasons=[], state="active", lines=[])
    return CurrentDue(person, YEAR, revision, event.model_dump_json(include=FIELDS))


async def test_the_due_cache_never_goes_back_to_an_older_revision(cache):
    person = resident_id(HY, seq=961)
    await cache.put_dues([due(person, 2, 40000)])
    await cache.put_dues([due(person, 1, 6000)])  # a transaction's refresh that ran after the next one's
    assert json.loads(await cache.get_raw(person, YEAR))["revision"] == 2
    await cache.put(person, YEAR, {"region": HY, "revision": 1, "due_fen": 6000})  # a quote that read before it
    assert json.loads(await cache.get_raw(person, YEAR))["due_fen"] == 40000
    await cache.put_dues([due(person, 2, 40000), due(person, 3, 6000)])  # the same revision again, then a newer
    assert json.loads(await cache.get_raw(person, YEAR))["revision"] == 3
    await cache.redis.set(key(cache.prefix, person, YEAR), "not json")  # an unreadable entry is replaced
    await cache.put_dues([due(person, 1, 6000)])
    assert json.loads(await cache.get_raw(person, YEAR))["revision"] == 1
