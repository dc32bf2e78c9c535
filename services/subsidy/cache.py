"""The due cache in Redis, for quotes: one JSON object per person and year.

Written after the database commit (a crash in between leaves the cache stale
only until the next reassessment; PostgreSQL stays the truth) and on a quote
that missed. Keys carry the pseudonymous person key, never the resident ID.
Redis is a cache: when it is away, writes are skipped and reads miss (with a warning).

The cache never goes backwards: an entry is written only when its revision is at
least the cached one's, checked and set in one step inside Redis (`_PUT_NOT_OLDER`).
Writers race — the after-commit refreshes of two transactions of the same
person-year, a quote that read the due before a reassessment committed — and the
one that finishes last must not put an older due back.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from services.subsidy.due_json import CurrentDue
from shared.logging import get_logger
from shared.resident_id import person_key

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)
FIELDS = {"region", "year", "state", "standard_fen", "subsidy_fen", "due_fen", "refund_after_fen", "lines",
          "reasons", "revision"}


# KEYS the entries, ARGV each one's due JSON then its revision (ARGV[2i-1], ARGV[2i] for KEYS[i]). An unreadable
# entry is replaced. Returns how many were written.
_PUT_NOT_OLDER = """
local written = 0
for i, k in ipairs(KEYS) do
    local cached = redis.call('GET', k)
    local newer = false
    if cached then
        local ok, due = pcall(cjson.decode, cached)
        newer = ok and type(due) == 'table' and tonumber(due['revision']) ~= nil
                and tonumber(due['revision']) > tonumber(ARGV[2 * i])
    end
    if not newer then
        redis.call('SET', k, ARGV[2 * i - 1])
        written = written + 1
    end
end
return written
"""
# Entries per script call: a batch's dues go in a few calls of one pipeline, not a command each (redis-py
# packing a command per due was half the cost of the refresh), and a call is short enough (about a
# millisecond) that a quote's GET waits little behind it: Redis runs a script without interleaving.
_PUT_CHUNK = 100


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

    async def put_dues(self, dues: Sequence[CurrentDue]) -> None:
        """The current due of each person-year, in one pipelined round trip; an entry of a later revision stays."""
        if not dues or self.redis is None:
            return
        try:
            put = self.redis.register_script(_PUT_NOT_OLDER)
            async with self.redis.pipeline(transaction=False) as pipe:
                for start in range(0, len(dues), _PUT_CHUNK):
                    chunk = dues[start:start + _PUT_CHUNK]
                    args: list[str | int] = []
                    for d in chunk:
                        args += (d.cached, d.revision)
                    await put(keys=[key(self.prefix, d.person_id, d.year) for d in chunk], args=args, client=pipe)
                await pipe.execute()
        except Exception as err:  # a quote that misses falls back to PostgreSQL
            log.warning("due cache not updated", error=repr(err))

    async def put(self, person_id: str, year: int, body: dict[str, Any]) -> None:
        """One due as the quote read it from PostgreSQL; an entry of a later revision stays."""
        if self.redis is None:
            return
        try:
            await self.redis.register_script(_PUT_NOT_OLDER)(
                keys=[key(self.prefix, person_id, year)],
                args=[json.dumps(body, ensure_ascii=False, default=str), body["revision"]])
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
