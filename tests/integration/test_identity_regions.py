"""Identity's statuses per person and region, against the real PostgreSQL (issue 13, point 9).

Each county's civil affairs bureau hands in its own list (seed 002 L14: 名单由县民政部门负责提供). 怀远县
(340321) and 霍邱县 (341522) certify the same person as 低保对象 on the same day: each keeps its own row, each
list's identity.status-changed carries that county's set only, and 怀远 ending its status — by a delta or by
a snapshot that no longer lists the person — leaves 霍邱's untouched.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.usecases import Submission, submit_list
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import create_system, drop_system

pytestmark = pytest.mark.stack
HY, HQ = "340321", "341522"
NOW = datetime(2024, 11, 8, 2, 0, tzinfo=UTC)
TOPIC = "ir.identity.status-changed"
SAME_DAY = date(2024, 10, 8)


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    from shared.db import create_pool
    system = await create_system(servers, Path("/tmp") / "identity-regions", create_topics=False)
    pool = await create_pool(system.pg_dsn, "identity")
    try:
        yield pool
    finally:
        await pool.close()
        await drop_system(system, delete_topics=False)


async def post(pool: asyncpg.Pool, region: str, rows: list[SubmittedRow], *, mode: str = "delta",
               period: str = "2024-10") -> None:
    what = Submission.of_rows("civil_affairs", region, period, mode, "json", rows)  # type: ignore[arg-type]
    async with unit_of_work(pool, schema="identity", topic_prefix="ir.", now=NOW) as uow:
        result = await submit_list(uow, what, rows, snapshot_end="submission_date")
    assert result.outcome == "processed", result


def listed(person: str, township: str, ended_on: date | None = None) -> list[SubmittedRow]:
    return [SubmittedRow(1, person, "minimum_living", SAME_DAY, ended_on, township=township)]


async def rows_of(pool: asyncpg.Pool, person: str) -> dict[str, tuple]:
    rows = await pool.fetch("SELECT region, township, ended_on, submission_id FROM status WHERE person_id = $1", person)
    return {r["region"]: (r["township"], r["ended_on"], r["submission_id"]) for r in rows}


async def last_event(pool: asyncpg.Pool, person: str, since: int) -> list[dict]:
    """The status-changed events about the person written to the outbox after id `since`."""
    rows = await pool.fetch(f"SELECT payload FROM outbox WHERE topic = '{TOPIC}' AND id > $1 ORDER BY id", since)
    return [e for e in (json.loads(r["payload"]) for r in rows) if e["person_id"] == person]


async def outbox_head(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


def statuses(event: dict) -> list[tuple[str, str, str | None]]:
    return [(s["category"], s["certified_on"], s["ended_on"]) for s in event["statuses"]]


async def test_two_counties_certifying_the_same_day_keep_a_row_and_an_event_each(pool):
    person = resident_id(HY, seq=931)
    head = await outbox_head(pool)
    await post(pool, HY, listed(person, "榴城镇"))
    [huaiyuan] = await last_event(pool, person, head)
    head = await outbox_head(pool)
    await post(pool, HQ, listed(person, "城关镇"))
    [huoqiu] = await last_event(pool, person, head)  # a new row of 霍邱: a change, announced

    held = await rows_of(pool, person)
    assert {region: row[:2] for region, row in held.items()} == {HY: ("榴城镇", None), HQ: ("城关镇", None)}
    assert (huaiyuan["region"], huaiyuan["township"], statuses(huaiyuan)) == (
        HY, "榴城镇", [("minimum_living", "2024-10-08", None)])
    assert (huoqiu["region"], huoqiu["township"], statuses(huoqiu)) == (
        HQ, "城关镇", [("minimum_living", "2024-10-08", None)])


async def test_huaiyuan_ending_its_status_announces_huaiyuans_set_and_leaves_huoqius_row(pool):
    person = resident_id(HY, seq=933)
    await post(pool, HY, listed(person, "榴城镇"))
    await post(pool, HQ, listed(person, "城关镇"))
    huoqiu_before = (await rows_of(pool, person))[HQ]
    head = await outbox_head(pool)
    await post(pool, HY, listed(person, "榴城镇", ended_on=date(2024, 11, 1)), period="2024-11")

    [ended] = await last_event(pool, person, head)
    assert (ended["region"], statuses(ended)) == (HY, [("minimum_living", "2024-10-08", "2024-11-01")])
    held = await rows_of(pool, person)
    assert held[HY][1] == date(2024, 11, 1) and held[HQ] == huoqiu_before


async def test_a_huaiyuan_snapshot_without_the_person_ends_huaiyuans_status_only(pool):
    person, other = resident_id(HY, seq=935), resident_id(HY, seq=937)
    await post(pool, HY, listed(person, "榴城镇"))
    await post(pool, HQ, listed(person, "城关镇"))
    huoqiu_before = (await rows_of(pool, person))[HQ]
    head = await outbox_head(pool)
    await post(pool, HY, listed(other, "榴城镇"), mode="snapshot", period="2024-11")

    [ended] = await last_event(pool, person, head)
    assert (ended["region"], statuses(ended)) == (HY, [("minimum_living", "2024-10-08", NOW.date().isoformat())])
    held = await rows_of(pool, person)
    assert held[HY][1] == NOW.date() and held[HQ] == huoqiu_before
