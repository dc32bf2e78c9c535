"""Progress a department can watch while its list is processed: rows read, validated and merged.

A list is applied in one transaction (all of it or none of it), so nothing it writes is seen
before the commit. Progress is therefore written beside it, on another connection of the pool,
each write committed at once: `submission_progress`, one row per submission, read by the HTTP
status route. The row names the database session doing the work, so a list whose process died
(killed, its connection cut) is shown as interrupted rather than forever "reading"; a re-post of
the same file marks the interrupted attempt as superseded.

`Watch` does nothing (the JSON and Kafka lists, tests in memory); `Board` writes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from services.identity_certification import store

if TYPE_CHECKING:
    from services.identity_certification.usecases.submissions import Submission, SubmissionResult
    from shared.uow import UnitOfWork

# Phases in the order a list goes through them; the last three are final.
PHASES = ("reading", "merging", "announcing", "committing", "processed", "refused", "duplicate", "failed")
EVERY_S = 0.5  # counters are written at most this often (a phase change is written at once)


class Watch:
    """Where a use case tells its progress; this one keeps nothing."""

    async def begin(self, conn: asyncpg.Connection, what: Submission, submission_id: UUID) -> None:
        return None

    async def tell(self, phase: str | None = None, **counts: int) -> None:
        return None

    async def finish(self, result: SubmissionResult) -> None:
        return None

    async def fail(self, reason: str) -> None:
        return None


NO_WATCH = Watch()


@dataclass
class Board(Watch):
    """Progress written to `submission_progress` on a connection of its own (autocommit), so the department
    sees it while the list's transaction is still open."""

    pool: asyncpg.Pool
    now: datetime
    submission_id: UUID | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    _written_at: float = 0.0

    async def begin(self, conn: asyncpg.Connection, what: Submission, submission_id: UUID) -> None:
        self.submission_id = submission_id
        session = await store.session_of(conn)  # the session whose death means the list died with it
        async with self.pool.acquire() as side:
            await store.begin_progress(side, submission_id, what.department, what.region, what.period, what.source,
                                       what.sha, session, self.now)
        self._written_at = time.monotonic()

    async def tell(self, phase: str | None = None, **counts: int) -> None:
        self.counts.update(counts)
        if phase is None and time.monotonic() - self._written_at < EVERY_S:
            return
        await self._write(phase)

    async def finish(self, result: SubmissionResult) -> None:
        if result.outcome == "processed":
            self.counts.update(rows_read=result.rows_total, rows_validated=result.rows_total)
        await self._write(result.outcome, detail=result.refusal)

    async def fail(self, reason: str) -> None:
        await self._write("failed", detail=reason)

    async def _write(self, phase: str | None, detail: str | None = None) -> None:
        if self.submission_id is None:  # refused before it began: the submission row says it all
            return
        async with self.pool.acquire() as side:
            await store.record_progress(side, self.submission_id, phase, detail, **self.counts)
        self._written_at = time.monotonic()


async def progress_of(uow: UnitOfWork, department: str, region: str, submission_id: UUID) -> asyncpg.Record | None:
    """The progress of one of the department's submissions (None: not its, or none such)."""
    return await store.progress_of(uow.conn, submission_id, department, region)


async def recent_progress(uow: UnitOfWork, department: str, region: str, limit: int = 20) -> list[asyncpg.Record]:
    return await store.recent_progress(uow.conn, department, region, limit)
