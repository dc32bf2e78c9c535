"""`yibao subsidy ...`: the subsidy ledger and refund orders from the command line, and reassessing a year.

`reassess --year 2026` decides every known person afresh for a coverage year
(e.g. when a new campaign opens: statuses certified too late for last year count
here), in batches, each in one transaction whose events go through the outbox
that the running subsidy service relays. Settings come from the environment
(YIBAO_PG_DSN, YIBAO_REDIS_URL, YIBAO_TOPIC_PREFIX), as for the services.

`grant --region 340321 --role tax_gateway --holder 怀远县税务局` issues a credential for
the subsidy HTTP API and prints its token once (the roles: services/subsidy/access.py).

Each command opens a unit of work and calls one use case (services/subsidy/usecases.py).
Only typer and the standard library are imported up here, so that `--help` starts at once;
a command imports what it needs when it runs.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    import asyncpg

    from services.subsidy.settings import Settings
    from shared.uow import UnitOfWork

app = typer.Typer(no_args_is_help=True, help="参保资助: the subsidy ledger, refund orders, reassessment.")
SCHEMA = "subsidy"
T = TypeVar("T")


@asynccontextmanager
async def _connection() -> AsyncIterator[tuple[asyncpg.Connection, Settings]]:
    """A connection to the subsidy schema, and the settings (from the environment) it was opened with."""
    from services.subsidy.settings import Settings
    from shared.db import schema_connection

    settings = Settings()
    async with schema_connection(settings.pg_dsn, SCHEMA) as conn:
        yield conn, settings


def _in_unit_of_work(use: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `use` in one unit of work (one transaction, events to the outbox on commit)."""
    from shared.uow import unit_of_work

    async def run() -> T:
        async with _connection() as (conn, settings), \
                unit_of_work(conn, schema=SCHEMA, topic_prefix=settings.topic_prefix) as uow:
            return await use(uow)

    return asyncio.run(run())


def _echo_json_lines(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


@app.command("totals")
def totals_command(region: str = typer.Option(..., help="6-digit region code"),
                   year: int = typer.Option(..., help="coverage year")) -> None:
    """Subsidy totals per township, funding source and mode (JSON lines)."""
    from services.subsidy import usecases

    rows = _in_unit_of_work(lambda uow: usecases.ledger_totals(uow, region, year))
    _echo_json_lines([dict(r) for r in rows])


@app.command("refunds")
def refunds_command(region: str | None = None, year: int | None = None, township: str | None = None,
                    state: str | None = typer.Option(None, help="ordered, paid or confirmed")) -> None:
    """Refund orders (JSON lines; resident IDs masked)."""
    from services.subsidy import usecases
    from services.subsidy.views import refund_body

    rows = _in_unit_of_work(lambda uow: usecases.find_refunds(uow, region=region, year=year, township=township,
                                                               state=state))
    _echo_json_lines([refund_body(r) for r in rows])


@app.command("reassess")
def reassess_command(year: int = typer.Option(..., help="coverage year to assess everyone for"),
                     batch: int = typer.Option(2000, min=1, help="people per transaction")) -> None:
    """Assess every known person for YEAR; a new due revision only where the money changed."""
    import redis.asyncio as aioredis

    from services.subsidy import usecases
    from services.subsidy.cache import DueCache
    from shared.uow import unit_of_work

    async def run() -> tuple[int, int]:
        async with _connection() as (conn, settings):
            redis = aioredis.from_url(settings.redis_url, decode_responses=True)
            try:
                return await usecases.reassess_year(
                    lambda: unit_of_work(conn, schema=SCHEMA, topic_prefix=settings.topic_prefix), year, batch=batch,
                    source="cli.reassess", dues=DueCache(redis, settings.topic_prefix))
            finally:
                await redis.aclose()

    people, events = asyncio.run(run())
    typer.echo(f"{people} people assessed for {year}; {events} events to publish (outbox)")


@app.command("grant")
def grant_command(region: str = typer.Option(..., help="6-digit pooling region the credential is for."),
                  role: str = typer.Option(..., help="tax_gateway (quotes only), viewer (quotes, ledger, totals, "
                                           "refunds) or refund_clerk (also moves refunds)."),
                  holder: str = typer.Option(..., help="Who holds it, e.g. 怀远县税务局 or 榴城镇财政所.")) -> None:
    """Issue a credential for the subsidy HTTP API; the token is printed once (only its hash is kept)."""
    from services.subsidy import usecases

    try:
        token = _in_unit_of_work(lambda uow: usecases.grant_credential(uow, region, role, holder))
    except ValueError as err:
        typer.echo(f"错误：{err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)
