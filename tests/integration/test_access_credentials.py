"""shared/access.py on a real PostgreSQL: credentials issued and verified by hash, revoked, cached in process.

The table is the one shared migration every service schema gets (shared/migrations/0003_credential.sql).
"""
from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from shared.access import Authenticator, Caller, Roles, authenticate, token_hash
from tests.support.system import with_database

ROOT = Path(__file__).resolve().parents[2]
TABLE = (ROOT / "shared" / "migrations" / "0003_credential.sql").read_text()
ROLES = Roles({"tax_gateway": "税务", "viewer": "查看", "refund_clerk": "退费经办"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pool(servers):
    name = f"access_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    connections = await asyncpg.create_pool(with_database(servers.pg_dsn, name), min_size=1, max_size=2)
    try:
        await connections.execute(TABLE)
        yield connections
    finally:
        await connections.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def revoke(pool: asyncpg.Pool, token: str) -> None:
    await pool.execute("UPDATE credential SET revoked_at = now() WHERE token_sha256 = $1", token_hash(token))


async def test_a_granted_token_is_stored_only_as_its_hash_and_stands_for_its_region_and_role(pool) -> None:
    async with pool.acquire() as conn:
        token = await ROLES.grant(conn, "340321", "viewer", "怀远县医保局")
        assert await authenticate(conn, token) == Caller("340321", "viewer", "怀远县医保局")
        assert await authenticate(conn, token + "x") is None
        assert await conn.fetchval("SELECT count(*) FROM credential WHERE token_sha256 = $1", token) == 0


async def test_grant_refuses_an_unknown_role_or_a_malformed_region(pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="权限"):
            await ROLES.grant(conn, "340321", "admin", "x")
        with pytest.raises(ValueError, match="统筹区"):
            await ROLES.grant(conn, "3403", "viewer", "x")
        assert await conn.fetchval("SELECT count(*) FROM credential") == 0


async def test_without_a_cache_a_revocation_counts_at_once(pool) -> None:
    async with pool.acquire() as conn:
        token = await ROLES.grant(conn, "340321", "tax_gateway", "税务")
    check = Authenticator(lambda: pool, cache_s=0)
    assert await check.caller(token) is not None
    await revoke(pool, token)
    assert await check.caller(token) is None


async def test_a_cached_credential_is_answered_without_the_database_until_it_expires(pool) -> None:
    async with pool.acquire() as conn:
        token = await ROLES.grant(conn, "340321", "tax_gateway", "税务")
    clock = Clock()
    check = Authenticator(lambda: pool, cache_s=30, clock=clock)
    assert await check.caller(token) == Caller("340321", "tax_gateway", "税务")
    await revoke(pool, token)
    clock.now += 29
    assert await check.caller(token) == Caller("340321", "tax_gateway", "税务")  # from the cache: no query
    clock.now += 2
    assert await check.caller(token) is None  # expired: asked again, and it is revoked


async def test_unknown_tokens_are_not_cached_and_the_cache_is_bounded(pool) -> None:
    async with pool.acquire() as conn:
        tokens = [await ROLES.grant(conn, "340321", "viewer", f"乡镇{i}") for i in range(3)]
    check = Authenticator(lambda: pool, cache_s=30, max_cached=2, clock=Clock())
    assert await check.caller("made-up") is None
    for token in tokens:
        assert await check.caller(token) is not None
    assert len(check._cache) == 2 and token_hash(tokens[0]) not in check._cache
