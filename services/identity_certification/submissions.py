"""The submission use case: validate, stage, merge, and announce what changed — in one transaction.

Every way in (JSON over HTTP, a file upload, the CLI, the Kafka topic) ends here
with a stream of rows in batches. Rows are checked one by one in Python (pure
rules), COPYed into a staging table, then merged with set-based SQL: duplicates
inside the file, the status upsert, a snapshot's endings, the row results. Events
for the people whose statuses changed are built a chunk at a time from a cursor,
so memory stays flat however long the file is.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import asyncpg

from services.identity_certification import store
from services.identity_certification.domain.rows import (
    SubmissionRefused,
    SubmittedRow,
    foreign_categories,
    refusal_for,
    validate_row,
)
from services.identity_certification.domain.snapshot import SnapshotEnd, snapshot_end_date
from shared import outbox
from shared.codes import Category
from shared.logging import get_logger
from shared.messages import CertifiedStatus, StatusChanged
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.topics import STATUS_CHANGED

log = get_logger(__name__)
Mode = Literal["delta", "snapshot"]
EVENT_CHUNK = 5000  # people per outbox COPY
REJECTED_SHOWN = 100  # rejected rows echoed in the answer; the download has them all


@dataclass
class SubmissionResult:
    submission_id: UUID
    outcome: str  # processed | refused | duplicate
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    people_changed: int = 0
    people_ended: int = 0
    refusal: str | None = None
    refusal_code: str | None = None
    duplicate_of: UUID | None = None
    rejected: list[asyncpg.Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Submission:
    """Who sends what: the part of a submission known before its rows are read."""

    department: str
    region: str
    period: str
    mode: Mode
    source: str
    sha: str
    categories: tuple[str, ...] = ()  # snapshot scope; empty = the categories its rows name
    submission_id: UUID | None = None


def content_hash(rows: list[SubmittedRow], mode: str = "delta", categories: Sequence[str] = ()) -> str:
    """Hash of the rows' content: the same list posted twice has the same hash."""
    canonical = json.dumps(
        [[r.person_id, r.category, str(r.certified_on), str(r.ended_on), r.township, r.village] for r in rows],
        ensure_ascii=False,
    )
    return hashlib.sha256(_scope(mode, categories) + canonical.encode()).hexdigest()


def file_hash(chunks: Iterable[bytes], mode: str, categories: Sequence[str], default_category: str | None) -> str:
    digest = hashlib.sha256(_scope(mode, categories) + f"{default_category or ''}|".encode())
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _scope(mode: str, categories: Sequence[str]) -> bytes:
    # A delta and a snapshot of the same rows do different things: they are different submissions.
    return b"" if mode == "delta" and not categories else f"{mode}|{','.join(sorted(categories))}|".encode()


def status_changed(person: str, region: str, records: list[asyncpg.Record], now: datetime) -> Outgoing:
    """The event for one person. Built with `model_construct`: every value comes from rows this
    service validated before storing them, and checking a million of them again would double the cost."""
    latest = records[-1]
    event = StatusChanged.model_construct(
        message_id=uuid4(), occurred_at=now, person_id=person, region=region,
        township=latest["township"], village=latest["village"],
        statuses=[
            CertifiedStatus.model_construct(category=r["category"], department=r["department"],
                                            certified_on=r["certified_on"], ended_on=r["ended_on"],
                                            submission_id=r["submission_id"])
            for r in records
        ],
    )
    return Outgoing(STATUS_CHANGED.name, person_key(person), event)


async def submit(
    conn: asyncpg.Connection,
    what: Submission,
    batches: AsyncIterator[list[SubmittedRow]],
    *,
    now: datetime,
    topic_prefix: str,
    schema: str,
    snapshot_end: SnapshotEnd = "period_end",
    notes: list[str] | None = None,
) -> SubmissionResult:
    """Process one submission inside the caller's transaction."""
    submission_id = what.submission_id or uuid4()
    common = dict(id=submission_id, department=what.department, region=what.region, period=what.period,
                  mode=what.mode, content_sha256=what.sha, received_at=now, source=what.source,
                  categories=list(what.categories) or None)
    previous = await store.find_processed(conn, what.department, what.region, what.period, what.sha)
    if previous:
        await store.insert_submission(conn, **common, outcome="duplicate", duplicate_of=previous["id"],
                                      rows_total=previous["rows_total"], rows_accepted=0, rows_rejected=0,
                                      people_changed=0)
        return SubmissionResult(submission_id, "duplicate", previous["rows_total"], previous["rows_accepted"],
                                previous["rows_rejected"], 0, duplicate_of=previous["id"])
    # Claim the content first: a concurrent identical post waits here, then fails on the unique index.
    await store.insert_submission(conn, **common, outcome="processed", rows_total=0, rows_accepted=0,
                                  rows_rejected=0, people_changed=0)
    await store.open_staging(conn)
    try:
        rows_total, foreign = await _stage_all(conn, what.department, batches, now)
        if foreign or (what.mode == "snapshot" and rows_total == 0):
            refused = refusal_for(what.department, foreign) if foreign else SubmissionRefused(
                "empty_snapshot", "快照为空：全量报送至少要有一行；如需终止人员身份，请按增量报送退出时间")
            return await _refuse(conn, what, submission_id, rows_total, refused, notes)
        result = await _merge(conn, what, submission_id, rows_total, now, snapshot_end)
        await _announce(conn, what.region, now, topic_prefix, schema)
        result.notes = notes or []
        await store.update_submission(conn, submission_id, rows_total=rows_total,
                                      rows_accepted=result.rows_accepted, rows_rejected=result.rows_rejected,
                                      people_changed=result.people_changed, people_ended=result.people_ended,
                                      notes=result.notes)
        return result
    finally:
        await store.close_staging(conn)


async def _stage_all(conn: asyncpg.Connection, department: str, batches: AsyncIterator[list[SubmittedRow]],
                     now: datetime) -> tuple[int, set[str]]:
    """Validate and COPY every batch; once a foreign category shows up, only count and collect them."""
    rows_total, foreign = 0, set()
    async for batch in batches:
        rows_total += len(batch)
        foreign |= foreign_categories(department, {r.category for r in batch})
        if not foreign:
            await store.stage(conn, [validate_row(r, received_on=now.date()) for r in batch])
    return rows_total, foreign


async def _refuse(conn: asyncpg.Connection, what: Submission, submission_id: UUID, rows_total: int,
                  refused: SubmissionRefused, notes: list[str] | None) -> SubmissionResult:
    await store.update_submission(conn, submission_id, outcome="refused", refusal=refused.reason,
                                  rows_total=rows_total, rows_rejected=rows_total, notes=notes or [])
    log.warning("submission refused", department=what.department, region=what.region, reason=refused.code)
    return SubmissionResult(submission_id, "refused", rows_total, 0, rows_total, 0, refusal=refused.reason,
                            refusal_code=refused.code, notes=notes or [])


async def _merge(conn: asyncpg.Connection, what: Submission, submission_id: UUID, rows_total: int,
                 now: datetime, snapshot_end: SnapshotEnd) -> SubmissionResult:
    await store.reject_duplicates(conn)
    accepted, rejected = await store.staged_counts(conn)
    await store.keep_row_results(conn, submission_id)
    await store.merge_statuses(conn, submission_id, what.department, what.region)
    ended = 0
    if what.mode == "snapshot":
        scope = list(what.categories) or await store.staged_categories(conn, [c.value for c in Category])
        await store.update_submission(conn, submission_id, categories=scope)
        ended = await store.end_unlisted(conn, submission_id, what.department, what.region, scope,
                                         snapshot_end_date(what.period, now.date(), snapshot_end))
    return SubmissionResult(submission_id, "processed", rows_total, accepted, rejected,
                            await store.changed_count(conn), people_ended=ended,
                            rejected=await store.first_rejected(conn, REJECTED_SHOWN))


async def _announce(conn: asyncpg.Connection, region: str, now: datetime, topic_prefix: str, schema: str) -> None:
    """One identity.status-changed per changed person, with the full current set, into the outbox."""
    async for sets in store.changed_status_sets(conn, EVENT_CHUNK):
        events = [status_changed(person, region, records, now) for person, records in sets.items()]
        await outbox.add(conn, events, topic_prefix=topic_prefix, schema=schema)


async def in_batches(rows: Sequence[SubmittedRow], size: int = 5000) -> AsyncIterator[list[SubmittedRow]]:
    """Rows already in memory (JSON, Kafka) as the batches `submit` takes."""
    for start in range(0, len(rows), size):
        yield list(rows[start:start + size])
