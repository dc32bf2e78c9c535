"""`yibao subsidy ...`: the subsidy ledger and refund orders from the command line, and reassessing a year.

`reassess --year 2026` decides every known person afresh for a coverage year
(e.g. when a new campaign opens: statuses certified too late for last year count
here), in batches, each in one transaction whose events go through the outbox
that the running subsidy service relays. Settings come from the environment
(YIBAO_PG_DSN, YIBAO_REDIS_URL, YIBAO_TOPIC_PREFIX), as for the services.

`grant --region 340321 --role tax_gateway --holder 怀远县税务局` issues a credential for
the subsidy HTTP API and prints its token once (the roles: services/subsidy/api.py).
"""
from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis
import typer

from services.subsidy import cache, store
from services.subsidy.handlers import reassess
from shared import outbox
from shared.db import create_pool, schema_connection
from shared.settings import ServiceSettings
from shared.uow import utcnow

app = typer.Typer(no_args_is_help=True, help="参保资助: the subsidy ledger, refund orders, reassessment.")
SCHEMA = "subsidy"


@app.command("totals")
def totals_command(region: str = typer.Option(..., help="6-digit region code"),
                   year: int = typer.Option(..., help="coverage year")) -> None:
    """Subsidy totals per township, funding source and mode (JSON lines)."""
    async def run() -> None:
        async with schema_connection(ServiceSettings().pg_dsn, SCHEMA) as conn:
            for row in await store.line_totals(conn, region, year):
                typer.echo(json.dumps(dict(row), ensure_ascii=False))

    asyncio.run(run())


@app.command("refunds")
def refunds_command(region: str | None = None, year: int | None = None, township: str | None = None,
                    state: str | None = typer.Option(None, help="ordered, paid or confirmed")) -> None:
    """Refund orders (JSON lines; resident IDs masked)."""
    from services.subsidy.api import refund_body

    async def run() -> None:
        async with schema_connection(ServiceSettings().pg_dsn, SCHEMA) as conn:
            for row in await store.refund_orders(conn, region=region, year=year, township=township, state=state):
                typer.echo(json.dumps(refund_body(row), ensure_ascii=False))

    asyncio.run(run())


@app.command("reassess")
def reassess_command(year: int = typer.Option(..., help="coverage year to assess everyone for"),
                     batch: int = typer.Option(2000, min=1, help="people per transaction")) -> None:
    """Assess every known person for YEAR; a new due revision only where the money changed."""
    settings = ServiceSettings()

    async def run() -> tuple[int, int]:
        pool = await create_pool(settings.pg_dsn, SCHEMA, max_size=1)
        redis = aioredis.from_url(settings.redis_url, decode_responses=True)
        people_done = published = 0
        try:
            async with pool.acquire() as conn:
                people = [r["person_id"] for r in await conn.fetch(
                    "SELECT person_id FROM person UNION SELECT person_id FROM enrollment WHERE year = $1 ORDER BY 1",
                    year)]
                for start in range(0, len(people), batch):
                    keys = [(p, year) for p in people[start:start + batch]]
                    async with conn.transaction():
                        outgoing, current = await reassess(conn, keys, utcnow(), "cli.reassess")
                        await outbox.add(conn, outgoing, topic_prefix=settings.topic_prefix, schema=SCHEMA)
                    await cache.put_dues(redis, settings.topic_prefix, current)
                    people_done += len(keys)
                    published += len(outgoing)
        finally:
            await redis.aclose()
            await pool.close()
        return people_done, published

    people, events = asyncio.run(run())
    typer.echo(f"{people} people assessed for {year}; {events} events to publish (outbox)")


@app.command("grant")
def grant_command(region: str = typer.Option(..., help="6-digit pooling region the credential is for."),
                  role: str = typer.Option(..., help="tax_gateway (quotes only), viewer (quotes, ledger, totals, "
                                           "refunds) or refund_clerk (also moves refunds)."),
                  holder: str = typer.Option(..., help="Who holds it, e.g. 怀远县税务局 or 榴城镇财政所.")) -> None:
    """Issue a credential for the subsidy HTTP API; the token is printed once (only its hash is kept)."""
    from services.subsidy.api import ROLES

    async def run() -> str:
        async with schema_connection(ServiceSettings().pg_dsn, SCHEMA) as conn:
            return await ROLES.grant(conn, region, role, holder)

    try:
        token = asyncio.run(run())
    except ValueError as err:
        typer.echo(f"错误：{err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)
