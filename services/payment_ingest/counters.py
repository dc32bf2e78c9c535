"""The console's live receipt counters in Redis.

PostgreSQL is the source of truth. After each batch commits, its pre-aggregated
increments go to Redis in one MULTI/EXEC (a few dozen HINCRBYs per batch, not one
per receipt). A crash between the commit and the increments leaves the counters
short, never the data: `yibao payments rebuild-counters` replaces them with what
the receipt table and the intake ledger say.

Keys (prefixed with the topic prefix, so test systems never share counters):
  <p>payment:counters:<region>:<year>  hash: accepted, accepted:fen, reversed, reversed:fen, net_fen,
                                       channel:<c>[:fen], agent:<id>[:fen], rejected, rejected:<code>
  <p>payment:intake                    hash: received, accepted, rejected, dead_lettered, duplicate
  <p>payment:counters                  set of the region-year keys above
"""
from __future__ import annotations

from collections import Counter

import redis.asyncio as aioredis

from services.payment_ingest.domain.tally import Group, Intake, fields


def region_key(prefix: str, region: str, year: int) -> str:
    return f"{prefix}payment:counters:{region}:{year}"


def intake_key(prefix: str) -> str:
    return f"{prefix}payment:intake"


def index_key(prefix: str) -> str:
    return f"{prefix}payment:counters"


def _ints(raw: dict[str | bytes, str | bytes]) -> dict[str, int]:
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}


class LiveCounters:
    """The counters of one system (its topic prefix) in one Redis."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def add(self, groups: Counter[tuple[Group, str]], intake: Intake) -> None:
        """Add one committed batch's increments, all or nothing."""
        prefix = self.prefix
        async with self.redis.pipeline(transaction=True) as pipe:
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

    async def replace(self, groups: Counter[tuple[Group, str]], intake: Intake) -> None:
        """Replace every counter with these totals, all or nothing."""
        prefix = self.prefix
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in await self.redis.smembers(index_key(prefix)):
                pipe.delete(key)
            pipe.delete(index_key(prefix), intake_key(prefix))
            for (region, year), values in fields(groups).items():
                key = region_key(prefix, region, year)
                pipe.sadd(index_key(prefix), key)
                pipe.hset(key, mapping=dict(values))
            pipe.hset(intake_key(prefix), mapping=intake.as_fields())
            await pipe.execute()

    async def region(self, region: str, year: int) -> dict[str, int]:
        return _ints(await self.redis.hgetall(region_key(self.prefix, region, year)))

    async def intake(self) -> dict[str, int]:
        return _ints(await self.redis.hgetall(intake_key(self.prefix)))
