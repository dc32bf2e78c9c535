"""Submitting a department's list: validate, stage, merge, and announce what changed — in one unit of work.

Every way in (JSON over HTTP, a file upload, a list on its department's Kafka topic) ends in
`submit_list` with the rows in batches. Rows are checked one by one in Python (pure rules: the
resident ID's check character, dates in every spelling), COPYed a batch at a time into the
submission's staging table, then merged with set-based SQL: duplicates inside the list, the row
results, the status upsert (a chunk of lines per statement), a snapshot's endings. The
identity.status-changed event of every person whose statuses changed is written into the outbox
by one SQL statement (store.write_status_events), so memory stays flat and a million events cost
no Python per event. All of it is one transaction: a list applies whole or not at all, and a
re-post after a failure starts afresh. What a department watches meanwhile goes through `Watch`
(usecases/progress.py), written beside the transaction.
"""
from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal
from uuid import UUID, uuid4

import asyncpg
import pydantic_core

from services.identity_certification import store
from services.identity_certification.domain.rows import (
    SubmissionRefused,
    SubmittedRow,
    foreign_categories,
    refusal_for,
    validate_row,
)
from services.identity_certification.domain.senders import SHOWN, claim_refusal, unproven_reason
from services.identity_certification.domain.snapshot import SnapshotEnd, snapshot_end_date
from services.identity_certification.intake import FileRefused, read_file
from services.identity_certification.usecases.progress import NO_WATCH, Watch
from shared.api_contract import visible
from shared.codes import Category
from shared.logging import get_logger
from shared.outbox import notify_channel
from shared.policy.dates import local_date
from shared.topics import STATUS_CHANGED
from shared.uow import UnitOfWork

log = get_logger(__name__)
Mode = Literal["delta", "snapshot"]
BATCH = 5000  # rows validated and COPYed at a time
MERGE_CHUNK = 100_000  # lines merged at a time, as soon as they are staged: the database merges while we read
AHEAD = 20  # batches the file reader may run ahead of the database (memory: AHEAD × BATCH rows)
REJECTED_SHOWN = 100  # rejected rows echoed in the answer; the download has them all
Rows = Sequence[SubmittedRow] | AsyncIterator[list[SubmittedRow]]


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
    source: str  # json | kafka | csv | xlsx
    sha: str  # the content's hash: the same content twice is processed once
    categories: tuple[str, ...] = ()  # snapshot scope; empty = the categories its rows name
    submission_id: UUID | None = None

    @classmethod
    def of_rows(cls, department: str, region: str, period: str, mode: Mode, source: str,
                rows: list[SubmittedRow], categories: tuple[str, ...] = (),
                submission_id: UUID | None = None) -> Submission:
        """A list whose rows are in memory (JSON, Kafka): its hash is the rows' content."""
        return cls(department, region, period, mode, source, content_hash(rows, mode, categories), categories,
                   submission_id)


@dataclass(frozen=True)
class Upload:
    """A department's file as it was posted: the credential's department and region, the form's fields."""

    department: str
    region: str
    period: str
    mode: Mode
    file: BinaryIO
    default_category: str | None = None  # category of every row, for a file with no 人员类别 column
    categories: tuple[str, ...] = ()  # snapshot scope


def content_hash(rows: list[SubmittedRow], mode: str = "delta", categories: Sequence[str] = ()) -> str:
    """Hash of the rows' content: the same list posted twice has the same hash."""
    # A row's subtype counts only when it has one: rows without keep the hash they always had, so a list
    # posted before subtypes were kept is still a duplicate of itself.
    canonical = json.dumps(
        [[r.person_id, r.category, str(r.certified_on), str(r.ended_on), r.township, r.village]
         + ([r.subtype] if r.subtype else []) for r in rows],
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


async def submit_list(uow: UnitOfWork, what: Submission, rows: Rows, *, snapshot_end: SnapshotEnd = "period_end",
                      notes: Callable[[], list[str]] | None = None, watch: Watch = NO_WATCH) -> SubmissionResult:
    """Process one list: a duplicate of content processed before, refused whole, or processed.

    `rows` in memory or as batches read on the way; `notes` (what the file reader noticed)
    are asked for once every row is read, and kept with a processed submission; `watch` is told
    the rows read, validated and merged as they go."""
    conn, now = uow.conn, uow.now
    submission_id = what.submission_id or uuid4()
    common: dict[str, Any] = dict(
        id=submission_id, department=what.department, region=what.region, period=what.period, mode=what.mode,
        content_sha256=what.sha, received_at=now, source=what.source, categories=list(what.categories) or None)
    await watch.begin(conn, what, submission_id)
    previous = await store.find_processed(conn, what.department, what.region, what.period, what.sha)
    if previous is None:
        previous = await _claim(conn, what, common)
    if previous is not None:
        await store.insert_submission(conn, **common, outcome="duplicate", duplicate_of=previous["id"],
                                      rows_total=previous["rows_total"], rows_accepted=0, rows_rejected=0,
                                      people_changed=0)
        return SubmissionResult(submission_id, "duplicate", previous["rows_total"], previous["rows_accepted"],
                                previous["rows_rejected"], 0, duplicate_of=previous["id"])
    await store.open_staging(conn)
    try:
        try:
            async with store.savepoint(conn):  # a list refused after part of it was merged: that part undone
                rows_total = await _stage_and_merge(conn, what, submission_id, in_batches(rows), now, watch)
        except _Refused as refusal:
            return await _refuse(conn, what, submission_id, refusal.rows_total, refusal.refused)
        result = await _finish(conn, what, submission_id, rows_total, now, snapshot_end)
        await watch.tell("announcing")
        events = await store.write_status_events(conn, uow.topic_prefix + STATUS_CHANGED.name, _json_time(now),
                                                 what.region, notify_channel(uow.schema))
        await watch.tell("committing", events_written=events)
        result.notes = notes() if notes else []
        await store.update_submission(conn, submission_id, rows_total=rows_total,
                                      rows_accepted=result.rows_accepted, rows_rejected=result.rows_rejected,
                                      people_changed=result.people_changed, people_ended=result.people_ended,
                                      notes=result.notes)
        return result
    finally:
        await store.close_staging(conn)


def _json_time(moment: datetime) -> str:
    """`moment` as pydantic writes a datetime in an event (JSON text, quotes included)."""
    return pydantic_core.to_json(moment).decode()


async def _claim(conn: asyncpg.Connection, what: Submission, common: dict[str, Any]) -> asyncpg.Record | None:
    """Claim the content before reading the rows; None when claimed, else the submission that won it
    (a concurrent identical list, which waited on the unique index for this one to commit)."""
    if await store.claim_submission(conn, **common, outcome="processed", rows_total=0, rows_accepted=0,
                                    rows_rejected=0, people_changed=0):
        return None
    won = await store.find_processed(conn, what.department, what.region, what.period, what.sha)
    if won is None:
        raise RuntimeError(f"submission {what.sha} lost its claim to a submission that is not processed")
    return won


class _Refused(Exception):
    """The list is refused whole, found while it was being staged and merged: unwinds the savepoint."""

    def __init__(self, rows_total: int, refused: SubmissionRefused) -> None:
        super().__init__(refused.reason)
        self.rows_total, self.refused = rows_total, refused


async def _stage_and_merge(conn: asyncpg.Connection, what: Submission, submission_id: UUID,
                           batches: AsyncIterator[list[SubmittedRow]], now: datetime, watch: Watch) -> int:
    """Validate and COPY every batch, and merge each MERGE_CHUNK of staged lines at once, so that the database
    merges while the next lines are read. Once a foreign category shows up, only count (the list is refused:
    `_Refused`, and the caller's savepoint undoes what was merged). Returns the rows read."""
    rows_total, foreign, merged = 0, set[str](), 0
    merged_to = last = 0  # the last line merged; the last line staged
    received_on = local_date(now)
    async for batch in batches:
        rows_total += len(batch)
        foreign |= foreign_categories(what.department, {r.category for r in batch})
        if not foreign and batch:
            await store.stage(conn, [validate_row(r, received_on=received_on) for r in batch])
            last = batch[-1].line_no
            if last - merged_to >= MERGE_CHUNK:
                merged += await _merge_lines(conn, what, submission_id, (merged_to + 1, last))
                merged_to = last
        await watch.tell(rows_read=rows_total, rows_validated=0 if foreign else rows_total, rows_merged=merged)
    if foreign or (what.mode == "snapshot" and rows_total == 0):
        raise _Refused(rows_total, refusal_for(what.department, foreign) if foreign else SubmissionRefused(
            "empty_snapshot", "快照为空：全量报送至少要有一行；如需终止人员身份，请按增量报送退出时间"))
    if last > merged_to:
        await watch.tell("merging")
        merged += await _merge_lines(conn, what, submission_id, (merged_to + 1, last))
        await watch.tell(rows_merged=merged)
    return rows_total


async def _merge_lines(conn: asyncpg.Connection, what: Submission, submission_id: UUID,
                       lines: tuple[int, int]) -> int:
    """Merge the staged lines `lines`: their duplicates rejected (of each other and of the lines before, which
    are final), their row results kept, their good rows merged into the statuses. Returns the rows merged."""
    await store.reject_duplicates(conn, lines)
    await store.keep_row_results(conn, submission_id, lines)
    return await store.merge_statuses(conn, submission_id, what.department, what.region, lines)


async def _refuse(conn: asyncpg.Connection, what: Submission, submission_id: UUID, rows_total: int,
                  refused: SubmissionRefused) -> SubmissionResult:
    await store.update_submission(conn, submission_id, outcome="refused", refusal=refused.reason,
                                  rows_total=rows_total, rows_rejected=rows_total, notes=[])
    log.warning("submission refused", department=what.department, region=what.region, reason=refused.code)
    return SubmissionResult(submission_id, "refused", rows_total, 0, rows_total, 0, refusal=refused.reason,
                            refusal_code=refused.code)


async def _finish(conn: asyncpg.Connection, what: Submission, submission_id: UUID, rows_total: int,
                  now: datetime, snapshot_end: SnapshotEnd) -> SubmissionResult:
    """Once every line is merged: a snapshot's endings, and the counts of the result."""
    accepted, rejected = await store.staged_counts(conn)
    ended = 0
    if what.mode == "snapshot":
        scope = list(what.categories) or await store.staged_categories(conn, [c.value for c in Category])
        await store.update_submission(conn, submission_id, categories=scope)
        ended = await store.end_unlisted(conn, submission_id, what.department, what.region, scope,
                                         snapshot_end_date(what.period, local_date(now), snapshot_end))
        await store.key_unkeyed(conn)
    return SubmissionResult(submission_id, "processed", rows_total, accepted, rejected,
                            await store.changed_count(conn), people_ended=ended,
                            rejected=await store.first_rejected(conn, REJECTED_SHOWN))


async def in_batches(rows: Rows, size: int | None = None) -> AsyncIterator[list[SubmittedRow]]:
    """Rows in memory (JSON, Kafka) as the batches `submit_list` stages (BATCH rows); batches pass through."""
    size = size or BATCH
    if not isinstance(rows, Sequence):
        async for batch in rows:
            yield batch
        return
    for start in range(0, len(rows), size):
        yield list(rows[start:start + size])


async def submit_streamed(uow: UnitOfWork, what: Submission, rows: list[SubmittedRow], *, claimed: str,
                          snapshot_end: SnapshotEnd = "period_end") -> SubmissionResult | None:
    """A list a department's system posted on its own topic. `what.department` is the topic's (the broker
    lets only that department write it), `claimed` the department the message names: a list in another
    department's name is refused whole, kept as a refused submission of the topic's department and as an
    access refusal. The department must also hold a live credential for the region, else the list is
    refused (None) and the refusal recorded."""
    refused = claim_refusal(what.department, claimed)
    if refused is not None:
        return await _refuse_claim(uow, what, len(rows), claimed, refused)
    if not await store.has_credential(uow.conn, what.department, what.region):
        reason = f"{what.department}在{what.region}没有有效凭证，报送{what.submission_id}未处理"
        await store.record_refusal(uow.conn, "kafka", "no_credential", reason, what.department, what.region)
        log.warning("streamed submission refused: no credential", department=what.department, region=what.region)
        return None
    result = await submit_list(uow, what, rows, snapshot_end=snapshot_end)
    log.info("streamed submission", outcome=result.outcome, department=what.department, region=what.region,
             rows=result.rows_total, accepted=result.rows_accepted, rejected=result.rows_rejected)
    return result


async def _refuse_claim(uow: UnitOfWork, what: Submission, rows_total: int, claimed: str,
                        refused: SubmissionRefused) -> SubmissionResult:
    """A list in another department's name: kept under its message id with the reason, every row counted as
    rejected, and the attempt kept too where credentials used for another department are."""
    reason = visible(refused.reason)  # it quotes the sender's free text: made storable, not judged
    result = await _record_refused(uow, what, what.submission_id or uuid4(), refused.code, reason, rows_total)
    await store.record_refusal(uow.conn, "kafka", refused.code, f"报送{result.submission_id}：{reason}",
                               what.department, what.region)
    log.warning("streamed submission refused: another department's name", department=what.department,
                claimed=visible(claimed[:SHOWN]), region=what.region, rows=rows_total)
    return result


async def refuse_unproven(uow: UnitOfWork, topic: str, submission_id: UUID, claimed: str, region: str) -> None:
    """A list on the retired shared topic, which every department could write: its department is not proven,
    so it is not processed; the refusal is recorded, with the topic its department should post on."""
    reason = visible(unproven_reason(topic, claimed, submission_id))
    await store.record_refusal(uow.conn, "kafka", "department_not_proven", reason, visible(claimed[:SHOWN]), region)
    log.warning("streamed submission refused: department not proven by the topic", topic=topic,
                claimed=visible(claimed[:SHOWN]), region=region)


async def submit_file(uow: UnitOfWork, upload: Upload, *, max_bytes: int, snapshot_end: SnapshotEnd = "period_end",
                      watch: Watch = NO_WATCH) -> SubmissionResult:
    """A department's CSV or XLSX file: hashed as it is, refused whole when too large or unreadable (and
    recorded), else read a batch at a time in a worker thread (so the service keeps answering) into
    `submit_list`, the next batch read while the last is COPYed."""
    file = upload.file
    sha = await asyncio.to_thread(file_hash, iter(lambda: file.read(1 << 20), b""), upload.mode, upload.categories,
                                  upload.default_category)
    size = file.tell()  # the hash read it to the end
    file.seek(0)
    fmt = "xlsx" if file.read(4) == b"PK\x03\x04" else "csv"
    file.seek(0)
    what = Submission(upload.department, upload.region, upload.period, upload.mode, fmt, sha, upload.categories,
                      uuid4())
    if size > max_bytes:  # refused before parsing: a huge workbook would be read into memory
        return await refuse_file(uow, what, FileRefused(
            "file_too_large", f"文件过大（{size / 1048576:.1f} MB，上限{max_bytes / 1048576:.1f} MB）："
            "请按乡镇或人员类别分成几个文件报送"))
    try:
        # A savepoint: a file found unreadable half-way leaves nothing of it but the refusal.
        async with uow.conn.transaction():
            report, rows = await asyncio.to_thread(read_file, file, default_category=upload.default_category,
                                                   department=upload.department)
            return await submit_list(uow, what, _thread_batches(rows), snapshot_end=snapshot_end,
                                     notes=report.all_notes, watch=watch)
    except FileRefused as refused:
        return await refuse_file(uow, what, refused)


async def _thread_batches(rows: Iterator[SubmittedRow]) -> AsyncIterator[list[SubmittedRow]]:
    """Read and parse the file in a worker thread, a batch at a time, up to AHEAD batches ahead of the caller:
    the file is read while the database COPYs and merges what was read before."""
    size, ahead = BATCH, asyncio.Queue[list[SubmittedRow]](maxsize=AHEAD)
    stop = False

    async def read() -> None:
        while not stop:
            batch = await asyncio.to_thread(lambda: list(itertools.islice(rows, size)))
            await ahead.put(batch)
            if not batch:
                return

    reader = asyncio.create_task(read())
    try:
        while batch := await _next_batch(ahead, reader):
            yield batch
    finally:
        stop = True  # the caller stopped early or failed: let the reader finish the batch it is reading
        while not reader.done():
            while not ahead.empty():
                ahead.get_nowait()
            await asyncio.wait([reader], timeout=0.05)
        if not reader.cancelled():
            reader.exception()  # seen: the caller's own failure is what propagates


async def _next_batch(ahead: asyncio.Queue[list[SubmittedRow]], reader: asyncio.Task[None]) -> list[SubmittedRow]:
    """The next batch read, or the reader's error (a file refused half-way)."""
    getter = asyncio.ensure_future(ahead.get())
    await asyncio.wait([getter, reader], return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    reader.result()  # raises what stopped the reader
    return []


async def refuse_file(uow: UnitOfWork, what: Submission, refused: FileRefused) -> SubmissionResult:
    """A file that cannot be read is refused as a whole, and recorded like any refusal."""
    return await _record_refused(uow, what, what.submission_id or uuid4(), refused.code, refused.reason,
                                 rows_total=0)


async def _record_refused(uow: UnitOfWork, what: Submission, submission_id: UUID, code: str, reason: str,
                          rows_total: int) -> SubmissionResult:
    """A submission refused whole before any of its rows was staged: `rows_total` rows, every one rejected."""
    await store.insert_submission(
        uow.conn, id=submission_id, department=what.department, region=what.region, period=what.period,
        mode=what.mode, content_sha256=what.sha, received_at=uow.now, source=what.source,
        outcome="refused", refusal=reason, rows_total=rows_total, rows_accepted=0, rows_rejected=rows_total,
        people_changed=0)
    return SubmissionResult(submission_id, "refused", rows_total, 0, rows_total, refusal=reason, refusal_code=code)
