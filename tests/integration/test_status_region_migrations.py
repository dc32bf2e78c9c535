"""The migrations that key statuses by person and region keep every existing row's region (issue 13, point 9).

A database migrated to just before them holds statuses of 怀远县 (340321) and 霍邱县 (341522); after
`yibao migrate` (shared/migrate.py) each row is still there with its own region, and the next listing of
another region is stored beside it instead of over it.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import asyncpg
import psycopg
import pytest
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from shared.migrate import ROOT, ServiceSchema, _yoyo_uri, migrate
from tests.support.people import resident_id
from tests.support.system import fresh_database

pytestmark = pytest.mark.stack
HY, HQ = "340321", "341522"
IDENTITY = ServiceSchema("identity_certification", "identity")
SUBSIDY = ServiceSchema("subsidy", "subsidy")
NOW = datetime(2024, 11, 8, 2, 0, tzinfo=UTC)


def migrate_before(dsn: str, item: ServiceSchema, first_left_out: str) -> None:
    """The shared migrations and the service's up to (not including) `first_left_out`, as yoyo applies them."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{item.schema}"')
    backend = get_backend(_yoyo_uri(dsn, item.schema))
    found = read_migrations(str(ROOT / "shared" / "migrations"), str(item.migrations))
    kept = MigrationList([m for m in found if not (m.path.startswith(str(item.migrations)) and m.id >= first_left_out)])
    with backend.lock():
        backend.apply_migrations(backend.to_apply(kept))


@pytest.fixture
async def database(servers) -> AsyncIterator[str]:
    async with fresh_database(servers, "m") as dsn:
        yield dsn


async def primary_key(conn: asyncpg.Connection, table: str) -> str:
    return str(await conn.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass "
                                   "AND contype = 'p'", table))


async def upgraded(dsn: str, item: ServiceSchema, first_new: str,
                   before: Callable[[asyncpg.Connection], object]) -> asyncpg.Connection:
    """Migrate to just before `first_new`, run `before` on the old tables, then migrate the rest."""
    await asyncio.to_thread(migrate_before, dsn, item, first_new)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": item.schema})
    await before(conn)
    await asyncio.to_thread(migrate, dsn, (item,))
    return conn


async def test_identitys_statuses_keep_their_region_and_another_regions_row_goes_beside_them(database):
    person, submission = resident_id(HY, seq=971), uuid.uuid4()

    async def old_rows(conn: asyncpg.Connection) -> None:
        assert await primary_key(conn, "status") == "PRIMARY KEY (person_id, category, certified_on)"
        await conn.execute(
            "INSERT INTO submission (id, department, region, period, mode, content_sha256, outcome, rows_total, "
            "rows_accepted, rows_rejected, people_changed, received_at) "
            "VALUES ($1, 'civil_affairs', $2, '2024-10', 'delta', 'x', 'processed', 1, 1, 0, 1, $3)", submission, HQ, NOW)
        await conn.execute("INSERT INTO status (person_id, category, department, region, certified_on, submission_id) "
                           "VALUES ($1, 'minimum_living', 'civil_affairs', $2, $3, $4)",
                           person, HQ, date(2024, 10, 8), submission)

    conn = await upgraded(database, IDENTITY, "0005", old_rows)
    try:
        assert await primary_key(conn, "status") == "PRIMARY KEY (person_id, region, category, certified_on)"
        assert [tuple(r) for r in await conn.fetch("SELECT person_id, region FROM status")] == [(person, HQ)]
        await conn.execute("INSERT INTO status (person_id, category, department, region, certified_on, submission_id) "
                           "VALUES ($1, 'minimum_living', 'civil_affairs', $2, $3, $4)",
                           person, HY, date(2024, 10, 8), submission)
        assert sorted(r["region"] for r in await conn.fetch("SELECT region FROM status")) == [HY, HQ]
    finally:
        await conn.close()


async def test_subsidys_status_sets_keep_their_region_and_another_regions_set_goes_beside_them(database):
    person = resident_id(HY, seq=973)
    held = [{"category": "minimum_living", "certified_on": "2024-10-08", "ended_on": None}]

    async def old_rows(conn: asyncpg.Connection) -> None:
        assert await primary_key(conn, "person") == "PRIMARY KEY (person_id)"
        await conn.execute("INSERT INTO person (person_id, region, statuses, updated_at) VALUES ($1, $2, $3::jsonb, $4)",
                           person, HQ, json.dumps(held), NOW)

    conn = await upgraded(database, SUBSIDY, "0006", old_rows)
    try:
        assert await primary_key(conn, "person") == "PRIMARY KEY (person_id, region)"
        assert [tuple(r) for r in await conn.fetch("SELECT person_id, region FROM person")] == [(person, HQ)]
        await conn.execute("INSERT INTO person (person_id, region, statuses, updated_at) VALUES ($1, $2, '[]', $3)",
                           person, HY, NOW)
        assert sorted(r["region"] for r in await conn.fetch("SELECT region FROM person")) == [HY, HQ]
    finally:
        await conn.close()
