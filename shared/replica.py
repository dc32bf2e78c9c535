"""Reads from a streaming replica while it is fresh enough, else from the primary.

A read-only API (a quote when the cache misses, a person's record, the console) may be
answered from a hot standby (`YIBAO_PG_READ_DSN`), so the December queries do not compete
with the consumers for the primary. A replica that is behind would answer with what was
true a while ago: `ReplicaReads.source()` asks it how far behind it is (at most once a
second) and gives the primary's pool instead when the replica lags more than
`YIBAO_PG_READ_MAX_LAG_S`, does not stream from a primary, or does not answer.
"""
from __future__ import annotations

import asyncio
import time

import asyncpg

from shared.logging import get_logger

log = get_logger(__name__)

# Seconds behind, or NULL when that cannot be vouched for:
# - not in recovery: a promoted replica is a primary, nothing to wait for;
# - no WAL receiver streaming: it replays nothing new however long one waits (reading it is unbounded lag);
# - everything received is replayed: 0 (the timestamp of the last replayed transaction would only say
#   how long the primary has been idle);
# - else: the age of the last transaction replayed.
LAG_SQL = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0.0
  WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
  ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
END
"""


class ReplicaReads:
    """Chooses between a replica's pool and the primary's for each read, by the replica's measured lag."""

    def __init__(self, replica: asyncpg.Pool, max_lag_s: float, *, check_every_s: float = 1.0) -> None:
        self.replica = replica
        self.max_lag_s = max_lag_s
        self.check_every_s = check_every_s
        self.lag_s: float | None = None
        self._checked_at = float("-inf")
        self._fresh = False
        self._lock = asyncio.Lock()

    async def source(self, primary: asyncpg.Pool) -> asyncpg.Pool:
        """The replica's pool when it is within `max_lag_s`, else `primary`."""
        if time.monotonic() - self._checked_at >= self.check_every_s:
            async with self._lock:
                if time.monotonic() - self._checked_at >= self.check_every_s:
                    await self._check()
        return self.replica if self._fresh else primary

    async def _check(self) -> None:
        try:
            lag = await asyncio.wait_for(self.replica.fetchval(LAG_SQL), timeout=1.0)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            lag, reason = None, repr(err)
        else:
            reason = "not streaming from a primary" if lag is None else f"{lag:.1f} s behind"
        fresh = lag is not None and lag <= self.max_lag_s
        if fresh != self._fresh:
            log.warning("reads from the replica" if fresh else "reads moved to the primary", reason=reason,
                        max_lag_s=self.max_lag_s)
        self.lag_s, self._fresh, self._checked_at = lag, fresh, time.monotonic()
