"""PostgreSQL access: one asyncpg pool per service, pinned to the service's own schema."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects, not strings.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 1, max_size: int = 8, idle_in_transaction_ms: int = 60_000
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first: a service never reads another's tables.

    A transaction left open by a client that vanished behind a network partition would keep
    its locks forever and block the consumer that comes after it (seen in the fault harness);
    the server ends such a session after `idle_in_transaction_ms`."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "search_path": schema,
            "application_name": f"yibao-{schema}",
            "idle_in_transaction_session_timeout": str(idle_in_transaction_ms),
        },
        init=_init_connection,
    )


@asynccontextmanager
async def schema_connection(dsn: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection set up like the service's pool (schema first, jsonb codec): for CLI commands
    and the demo, which run a statement or two and go."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema, "application_name": f"yibao-cli-{schema}"})
    try:
        await _init_connection(conn)
        yield conn
    finally:
        await conn.close()
