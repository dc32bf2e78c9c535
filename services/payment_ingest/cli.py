"""`yibao payments …`: the console counters, shown and rebuilt from PostgreSQL (the source of truth).

Only typer and the standard library are imported here: `yibao --help` loads every
group's module, so each command imports what it needs when it runs.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

app = typer.Typer(no_args_is_help=True, help="Payment ingest: receipt counters.")
T = TypeVar("T")


async def _with_counters(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run `work(uow, counters)` on a unit of work of the payment schema and the live counters."""
    import redis.asyncio as aioredis

    from services.payment_ingest.counters import LiveCounters
    from shared.contracts import contract
    from shared.db import schema_connection
    from shared.settings import ServiceSettings
    from shared.uow import unit_of_work

    settings, schema = ServiceSettings(), contract("payment_ingest").schema
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        async with schema_connection(settings.pg_dsn, schema) as conn, \
                unit_of_work(conn, schema=schema, topic_prefix=settings.topic_prefix) as uow:
            return await work(uow, LiveCounters(redis, settings.topic_prefix))
    finally:
        await redis.aclose()


@app.command("rebuild-counters")
def rebuild_counters() -> None:
    """Recompute every live counter from the receipt table and the intake ledger."""
    from services.payment_ingest.usecases import rebuild_counters

    intake = asyncio.run(_with_counters(rebuild_counters))
    typer.echo(json.dumps({"rebuilt": True, "intake": intake}, ensure_ascii=False))


@app.command("counters")
def show_counters(region: str = typer.Option(..., help="pooling region code"),
                  year: int = typer.Option(..., help="coverage year")) -> None:
    """Print the live counters of one region and year, and the intake totals, as JSON."""
    from services.payment_ingest.usecases import read_counters

    shown = asyncio.run(_with_counters(lambda _uow, counters: read_counters(counters, region, year)))
    typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
