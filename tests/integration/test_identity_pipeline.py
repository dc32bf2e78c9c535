"""The submission pipeline against the real PostgreSQL: snapshot edge cases, concurrent re-posts, and
department credentials read through shared.access."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from services.identity_certification import store
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.submissions import Submission, content_hash, in_batches, submit
from shared.access import Authenticator, Caller
from shared.db import create_pool
from tests.support.people import resident_id
from tests.support.system import create_system, drop_system

pytestmark = pytest.mark.stack
NOW = datetime(2024, 12, 10, 9, 0, tzinfo=UTC)
A, B, C = (resident_id("340321", seq=s) for s in (301, 303, 305))


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    system = await create_system(servers, Path("/tmp") / "identity-integration")
    pool = await create_pool(system.pg_dsn, "identity")
    try:
        yield pool
    finally:
        await pool.close()
        await drop_system(system)


async def post(pool, rows, *, mode="delta", period="2024-11", end="period_end"):
    what = Submission("civil_affairs", "340321", period, mode, "json", content_hash(rows, mode))
    async with pool.acquire() as conn, conn.transaction():
        return await submit(conn, what, in_batches(rows), now=NOW, topic_prefix="it.", schema="identity",
                            snapshot_end=end)


async def test_a_snapshot_keeps_a_person_whose_line_was_rejected_for_another_reason(pool):
    november = [SubmittedRow(i, p, "minimum_living", date(2024, 11, 1)) for i, p in enumerate((A, B, C), 1)]
    assert (await post(pool, november)).people_changed == 3
    # December's snapshot: A listed, B listed but with a bad date, C missing -> only C ends, on the day received.
    december = [SubmittedRow(1, A, "minimum_living", date(2024, 11, 1)),
                SubmittedRow(2, B, "minimum_living", None, defect=("bad_date", "认定时间“上月”无法识别"))]
    result = await post(pool, december, mode="snapshot", period="2024-12", end="submission_date")
    assert (result.rows_accepted, result.rows_rejected, result.people_ended) == (1, 1, 1)
    ended = await pool.fetch("SELECT person_id, ended_on FROM status WHERE ended_on IS NOT NULL")
    assert [tuple(r) for r in ended] == [(C, NOW.date())]
    outbox = await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = 'it.identity.status-changed'")
    assert outbox == 4  # A, B, C in November; C again in December


async def test_the_same_list_posted_twice_at_once_is_processed_once(pool):
    rows = [SubmittedRow(1, resident_id("340321", seq=307), "orphan", date(2024, 11, 2))]
    first, second = await asyncio.gather(post(pool, rows), post(pool, rows), return_exceptions=True)
    outcomes = sorted(r.outcome if not isinstance(r, Exception) else type(r).__name__ for r in (first, second))
    # Exactly one is processed. The other either waited on the unique index and failed (the HTTP
    # layer answers it as a duplicate on retry) or, when it started after the first committed, saw it.
    assert outcomes in (["UniqueViolationError", "processed"], ["duplicate", "processed"]), outcomes
    assert (await post(pool, rows)).outcome == "duplicate"
    assert await pool.fetchval("SELECT count(*) FROM status WHERE category = 'orphan'") == 1


async def test_a_department_credential_authenticates_through_shared_access_and_reissuing_revokes_it(pool):
    credentials = Authenticator(lambda: pool, lookup=store.caller)  # as the API builds it: no cache
    async with pool.acquire() as conn:
        first = await store.create_credential(conn, "agriculture", "341522")
    assert await credentials.caller(first) == Caller("341522", "agriculture", "agriculture/341522")
    async with pool.acquire() as conn:  # a new credential for the same department and region replaces the old
        second = await store.create_credential(conn, "agriculture", "341522")
    assert await credentials.caller(first) is None
    assert await credentials.caller(second) == Caller("341522", "agriculture", "agriculture/341522")
    assert await credentials.caller("made-up") is None
