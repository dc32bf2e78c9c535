"""shared/audit.py on a real PostgreSQL: entries are appended with IDs masked, and never changed after."""
from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from shared import audit
from tests.support.people import resident_id
from tests.support.system import with_database

MIGRATION = Path(__file__).resolve().parents[2] / "shared" / "migrations" / "0002_audit_log.sql"


@pytest.fixture
async def conn(servers):
    name = f"audit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    connection = await asyncpg.connect(with_database(servers.pg_dsn, name))
    try:
        await connection.execute(MIGRATION.read_text())
        yield connection
    finally:
        await connection.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_entries_are_appended_with_resident_ids_masked(conn) -> None:
    person = resident_id("340321")
    await audit.record(conn, actor="civil_affairs/340321", action="status.certified", subject=person,
                       detail={"note": f"certified {person}", "category": "minimum_living"})
    [entry] = await audit.entries(conn, person)
    assert entry["actor"] == "civil_affairs/340321" and entry["action"] == "status.certified"
    assert person not in entry["subject"] and person not in str(entry["detail"])
    assert entry["subject"].startswith("340321") and entry["subject"].endswith(person[-2:])


async def test_nobody_can_rewrite_or_erase_the_log(conn) -> None:
    await audit.record(conn, actor="test", action="probe", subject="x")
    for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(sql)
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1
