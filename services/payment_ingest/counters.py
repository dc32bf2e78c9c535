"""The console's live receipt counters in Redis, and their rebuild from PostgreSQL.

PostgreSQL is the source of truth. After each batch commits, its pre-aggregated
increments go to Redis in one MULTI/EXEC (a few dozen HINCRBYs per batch, not one
per receipt). A crash between the commit and the increments leaves the counters
short, never the data: `yibao payments rebuild-counters` recomputes them from the
receipt table and the intake ledger.

Keys (prefixed with the topic prefix, so test systems never share counters):
  <p>payment:counters:<region>:<year>  hash: accepted, accepted:fen, reversed, reversed:fen, net_fen,
                                       channel:<c>[:fen], agent:<id>[:fen], rejected, rejected:<code>
  <p>payment:intake                    hash: received, accepted, rejected, dead_lettered, duplicate
  <p>payment:counters                  set of the region-year keys above
"""
from __future__ import annotations

from collections import Counter

import asyncpg
import redis.asyncio as aioredis

from services.payment_ingest import store
from services.payment_ingest.domain.tally import Group, Intake, fields


def region_key(prefix: str, region: str, year: int) -> str:
    return f"{prefix}payment:counters:{region}:{year}"


def intake_key(prefix: str) -> str:
    return f"{prefix}payment:intake"


def index_key(prefix: str) -> str:
    return f"{prefix}payment:counters"


async def apply(redis: aioredis.Redis, prefix: str, groups: Counter, intake: Intake) -> None:
    """Add one committed batch's increments, all or nothing."""
    async with redis.pipeline(transaction=True) as pipe:
        for (region, year), values in fields(groups).items():
            key = region_key(prefix, region, year)
            pipe.sadd(index_key(prefix), key)
            for name, value in values.items():
                if value:
                    pipe.hincrby(key, name, value)
        for name, value in intake.as_fields().items():
            if value:
                pipe.hincrby(intake_key(prefix), name, value)
        await pipe.execute()


async def rebuild(conn: asyncpg.Connection, redis: aioredis.Redis, prefix: str) -> dict[str, int]:
    """Replace every counter with what PostgreSQL says (run while the service is paused for exact figures)."""
    groups: Counter = Counter()
    for row in await store.receipt_groups(conn):
        g = Group(row["region"], row["year"], row["verdict"], row["reason_code"], row["channel"], row["agent_id"],
                  bool(row["reversal"]))
        groups[(g, "count")] += row["n"]
        groups[(g, "fen")] += int(row["fen"])
    intake = await store.intake_totals(conn)
    by_region = fields(groups)
    async with redis.pipeline(transaction=True) as pipe:
        for key in await redis.smembers(index_key(prefix)):
            pipe.delete(key)
        pipe.delete(index_key(prefix), intake_key(prefix))
        for (region, year), values in by_region.items():
            key = region_key(prefix, region, year)
            pipe.sadd(index_key(prefix), key)
            pipe.hset(key, mapping={k: v for k, v in values.items()})
        pipe.hset(intake_key(prefix), mapping=intake.as_fields())
        await pipe.execute()
    return intake.as_fields()


async def read(redis: aioredis.Redis, prefix: str, region: str, year: int) -> dict[str, int]:
    raw = await redis.hgetall(region_key(prefix, region, year))
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}


async def read_intake(redis: aioredis.Redis, prefix: str) -> dict[str, int]:
    raw = await redis.hgetall(intake_key(prefix))
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
