"""The submission use cases against the real PostgreSQL: snapshot edge cases, concurrent re-posts, files
refused whole, streamed lists without a credential, and department credentials read through shared.access."""
from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from services.identity_certification import store
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.usecases import Submission, Upload, submit_file, submit_list, submit_streamed
from shared.access import Authenticator, Caller
from shared.db import create_pool
from shared.uow import unit_of_work
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
    what = Submission.of_rows("civil_affairs", "340321", period, mode, "json", rows)
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        return await submit_list(uow, what, rows, snapshot_end=end)


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
    # Exactly one is processed; the other waited on the unique index for it, or started after it committed:
    # either way the use case answers it as a duplicate, whichever entry point it came from.
    assert outcomes == ["duplicate", "processed"], outcomes
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


async def _counts(pool, sha: str) -> dict:
    return {"submissions": [tuple(r) for r in await pool.fetch(
                "SELECT outcome, refusal IS NOT NULL FROM submission WHERE content_sha256 = $1", sha)],
            "statuses": await pool.fetchval("SELECT count(*) FROM status WHERE category = 'extreme_poverty'"),
            "results": await pool.fetchval("SELECT count(*) FROM row_result r JOIN submission s ON s.id = r.submission_id "
                                           "WHERE s.content_sha256 = $1", sha)}


async def test_a_file_found_unreadable_half_way_leaves_only_its_refusal(pool):
    good = "".join(f"{resident_id('340321', seq=400 + i)},特困人员,2024-11-01,榴城镇,城关村\n" for i in range(6000))
    data = ("身份证号,人员类别,认定时间,乡镇,村\n" + good).encode() + "340321,低保,2024-11-01,乡镇,村\n".encode("gb18030")
    upload = Upload("civil_affairs", "340321", "2024-11", "delta", io.BytesIO(data))
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        result = await submit_file(uow, upload, max_bytes=10 * len(data))
    assert (result.outcome, result.refusal_code) == ("refused", "bad_encoding")
    [sha] = [r["content_sha256"] for r in await pool.fetch("SELECT content_sha256 FROM submission WHERE id = $1",
                                                           result.submission_id)]
    assert await _counts(pool, sha) == {"submissions": [("refused", True)], "statuses": 0, "results": 0}
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        too_large = await submit_file(uow, Upload("civil_affairs", "340321", "2024-11", "delta", io.BytesIO(data)),
                                      max_bytes=len(data) - 1)
    assert (too_large.outcome, too_large.refusal_code) == ("refused", "file_too_large")


async def test_a_streamed_list_needs_a_live_credential_of_its_department_and_region(pool):
    rows = [SubmittedRow(1, resident_id("341522", seq=311), "minimum_living", date(2024, 11, 3))]
    what = Submission.of_rows("civil_affairs", "341522", "2024-11", "delta", "kafka", rows, submission_id=uuid.uuid4())
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        assert await submit_streamed(uow, what, rows, claimed="civil_affairs") is None
    refusal = await pool.fetchrow("SELECT channel, reason_code, reason FROM access_refusal ORDER BY id DESC LIMIT 1")
    assert (refusal["channel"], refusal["reason_code"]) == ("kafka", "no_credential") and str(what.submission_id) in refusal["reason"]
    assert not await pool.fetchval("SELECT count(*) FROM submission WHERE id = $1", what.submission_id)
    async with pool.acquire() as conn:
        await store.create_credential(conn, "civil_affairs", "341522")
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        done = await submit_streamed(uow, what, rows, claimed="civil_affairs")
    assert (done.outcome, done.submission_id, done.rows_accepted) == ("processed", what.submission_id, 1)
