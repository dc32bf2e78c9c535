"""`yibao payments …`: the console counters, shown and rebuilt from PostgreSQL (the source of truth)."""
from __future__ import annotations

import asyncio
import json

import asyncpg
import redis.asyncio as aioredis
import typer

from services.payment_ingest import counters
from shared.settings import ServiceSettings

app = typer.Typer(no_args_is_help=True, help="Payment ingest: receipt counters.")


async def _with_clients(work):
    settings = ServiceSettings()
    conn = await asyncpg.connect(settings.pg_dsn, server_settings={"search_path": "payment"})
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        return await work(conn, redis, settings.topic_prefix)
    finally:
        await redis.aclose()
        await conn.close()


@app.command("rebuild-counters")
def rebuild_counters() -> None:
    """Recompute every live counter from the receipt table and the intake ledger."""
    intake = asyncio.run(_with_clients(counters.rebuild))
    typer.echo(json.dumps({"rebuilt": True, "intake": intake}, ensure_ascii=False))


@app.command("counters")
def show_counters(region: str = typer.Option(..., help="pooling region code"),
                  year: int = typer.Option(..., help="coverage year")) -> None:
    """Print the live counters of one region and year, and the intake totals, as JSON."""
    async def work(_conn, redis, prefix):
        return {"region": await counters.read(redis, prefix, region, year),
                "intake": await counters.read_intake(redis, prefix)}
    typer.echo(json.dumps(asyncio.run(_with_clients(work)), ensure_ascii=False, indent=2))
