"""The due cache in Redis, for quotes: one JSON object per person and year.

Written after the database commit (a crash in between leaves the cache stale
only until the next reassessment; PostgreSQL stays the truth) and on a quote
that missed. Keys carry the pseudonymous person key, never the resident ID.
Redis is a cache: when it is away, writes are skipped and reads miss (with a warning).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from shared.logging import get_logger
from shared.messages import DueAssessed
from shared.resident_id import person_key

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)
FIELDS = {"region", "year", "state", "standard_fen", "subsidy_fen", "due_fen", "refund_after_fen", "lines",
          "reasons", "revision"}


def key(prefix: str, person_id: str, year: int) -> str:
    return f"{prefix}subsidy:due:{person_key(person_id)}:{year}"


@dataclass(frozen=True)
class DueCache:
    """The due cache as one process sees it: its Redis client (None before it is connected) and topic prefix."""

    redis: aioredis.Redis | None
    prefix: str

    @classmethod
    def of(cls, runtime: Runtime) -> DueCache:
        return cls(runtime.redis, runtime.settings.topic_prefix)

    async def put_dues(self, dues: Sequence[DueAssessed]) -> None:
        """The current due of each person-year, in one pipelined round trip."""
        if not dues or self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for d in dues:
                    pipe.set(key(self.prefix, d.person_id, d.year), d.model_dump_json(include=FIELDS))
                await pipe.execute()
        except Exception as err:  # a quote that misses falls back to PostgreSQL
            log.warning("due cache not updated", error=repr(err))

    async def put(self, person_id: str, year: int, body: dict[str, Any]) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.set(key(self.prefix, person_id, year), json.dumps(body, ensure_ascii=False, default=str))
        except Exception as err:
            log.warning("due cache not updated", error=repr(err))

    async def get_raw(self, person_id: str, year: int) -> str | None:
        """The cached due as its JSON text (an object), or None on a miss or when Redis is unavailable."""
        if self.redis is None:
            return None
        try:
            return await self.redis.get(key(self.prefix, person_id, year))
        except Exception as err:  # Redis down: answer from PostgreSQL
            log.warning("due cache unavailable", error=repr(err))
            return None
