"""Credentials for the subsidy HTTP API in a test system's database (tests, benches, the chaos harness)."""
from __future__ import annotations

import asyncpg

from services.subsidy.access import ROLES


async def subsidy_headers(pg_dsn: str, region: str, role: str = "tax_gateway", holder: str | None = None) -> dict:
    """Authorization headers of a fresh subsidy credential of `region` and `role`."""
    conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": "subsidy"})
    try:
        token = await ROLES.grant(conn, region, role, holder or f"测试：{role}@{region}")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {token}"}
