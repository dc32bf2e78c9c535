"""Support for the security tests (tests/e2e/test_security_*.py): identity certification as a real process on the real servers, for the access and bad-input tests.

Only the one service starts (the others add nothing to what these tests check), on
its own topic prefix and fresh database, as tests/support/system.py builds them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.identity_certification import store as identity_store
from tests.support.system import System, running

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "security"


@pytest.fixture(scope="module")
async def identity(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("identity_certification",)) as system:
        yield system


async def issue(system: System, department: str, region: str) -> str:
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "identity"})
    try:
        return await identity_store.create_credential(conn, department, region)
    finally:
        await conn.close()


async def fetch(system: System, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "identity"})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()
