"""The due cache in Redis, for quotes: one JSON value per person and year.

Written after the database commit (a crash in between leaves the cache stale
only until the next reassessment or a miss; PostgreSQL stays the truth) and on a
quote that missed. Keys carry the pseudonymous person key, never the resident ID.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.logging import get_logger
from shared.messages import DueAssessed
from shared.resident_id import person_key
from shared.runtime import Runtime

log = get_logger(__name__)
FIELDS = {"region", "year", "state", "standard_fen", "subsidy_fen", "due_fen", "refund_after_fen", "lines",
          "reasons", "revision"}


def key(runtime: Runtime, person_id: str, year: int) -> str:
    return f"{runtime.settings.topic_prefix}subsidy:due:{person_key(person_id)}:{year}"


async def put_dues(runtime: Runtime, dues: Sequence[DueAssessed]) -> None:
    """The current due of each person-year, in one pipelined round trip."""
    if not dues or runtime.redis is None:
        return
    try:
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for d in dues:
                pipe.set(key(runtime, d.person_id, d.year), d.model_dump_json(include=FIELDS))
            await pipe.execute()
    except Exception as err:  # Redis is a cache: a quote that misses falls back to PostgreSQL
        log.warning("due cache not updated", error=repr(err))


async def put(runtime: Runtime, person_id: str, year: int, body: dict[str, Any]) -> None:
    try:
        await runtime.redis.set(key(runtime, person_id, year), json.dumps(body, ensure_ascii=False, default=str))
    except Exception as err:
        log.warning("due cache not updated", error=repr(err))


async def get(runtime: Runtime, person_id: str, year: int) -> dict[str, Any] | None:
    try:
        value = await runtime.redis.get(key(runtime, person_id, year))
    except Exception as err:  # Redis down: answer from PostgreSQL
        log.warning("due cache unavailable", error=repr(err))
        return None
    return json.loads(value) if value else None
