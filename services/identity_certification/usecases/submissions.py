"""Submitting a department's list: validate, stage, merge, and announce what changed — in one unit of work.

Every way in (JSON over HTTP, a file upload, a list on its department's Kafka topic) ends in
`submit_list` with the rows in batches. Rows are checked one by one in Python (pure rules),
COPYed into a staging table, then merged with set-based SQL: duplicates inside the list,
the status upsert, a snapshot's endings, the row results. The identity.status-changed
events of the people whose statuses changed are built a chunk at a time from a cursor and
written to the outbox chunk by chunk (`uow.flush()`), so memory stays flat however long the
list is.
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
from shared.api_contract import visible
from shared.codes import Category
from shared.logging import get_logger
from shared.messages import CertifiedStatus, StatusChanged
from shared.outbox import Outgoing
from shared.policy.dates import local_date
from shared.resident_id import person_key
from shared.topics import STATUS_CHANGED
from shared.uow import UnitOfWork

log = get_logger(__name__)
Mode = Literal["delta", "snapshot"]
BATCH = 5000  # rows validated and COPYed at a time
EVENT_CHUNK = 5000  # people per outbox COPY
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
                                            submission_id=r["submission_id"], subtype=r.get("subtype"))
            for r in records
        ],
    )
    return Outgoing(STATUS_CHANGED.name, person_key(person), event)


async def submit_list(uow: UnitOfWork, what: Submission, rows: Rows, *, snapshot_end: SnapshotEnd = "period_end",
                      notes: Callable[[], list[str]] | None = None) -> SubmissionResult:
    """Process one list: a duplicate of content processed before, refused whole, or processed.

    `rows` in memory or as batches read on the way; `notes` (what the file reader noticed)
    are asked for once every row is read, and kept with a processed submission."""
    conn, now = uow.conn, uow.now
    submission_id = what.submission_id or uuid4()
    common: dict[str, Any] = dict(
        id=submission_id, department=what.department, region=what.region, period=what.period, mode=what.mode,
        content_sha256=what.sha, received_at=now, source=what.source, categories=list(what.categories) or None)
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
        rows_total, foreign = await _stage_all(conn, what.department, in_batches(rows), now)
        if foreign or (what.mode == "snapshot" and rows_total == 0):
            refused = refusal_for(what.department, foreign) if foreign else SubmissionRefused(
                "empty_snapshot", "快照为空：全量报送至少要有一行；如需终止人员身份，请按增量报送退出时间")
            return await _refuse(conn, what, submission_id, rows_total, refused)
        result = await _merge(conn, what, submission_id, rows_total, now, snapshot_end)
        await _announce(uow, what.region)
        result.notes = notes() if notes else []
        await store.update_submission(conn, submission_id, rows_total=rows_total,
                                      rows_accepted=result.rows_accepted, rows_rejected=result.rows_rejected,
                                      people_changed=result.people_changed, people_ended=result.people_ended,
                                      notes=result.notes)
        return result
    finally:
        await store.close_staging(conn)


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


async def _stage_all(conn: asyncpg.Connection, department: str, batches: AsyncIterator[list[SubmittedRow]],
                     now: datetime) -> tuple[int, set[str]]:
    """Validate and COPY every batch; once a foreign category shows up, only count and collect them."""
    rows_total, foreign = 0, set()
    async for batch in batches:
        rows_total += len(batch)
        foreign |= foreign_categories(department, {r.category for r in batch})
        if not foreign:
            await store.stage(conn, [validate_row(r, received_on=local_date(now)) for r in batch])
    return rows_total, foreign


async def _refuse(conn: asyncpg.Connection, what: Submission, submission_id: UUID, rows_total: int,
                  refused: SubmissionRefused) -> SubmissionResult:
    await store.update_submission(conn, submission_id, outcome="refused", refusal=refused.reason,
                                  rows_total=rows_total, rows_rejected=rows_total, notes=[])
    log.warning("submission refused", department=what.department, region=what.region, reason=refused.code)
    return SubmissionResult(submission_id, "refused", rows_total, 0, rows_total, 0, refusal=refused.reason,
                            refusal_code=refused.code)


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
                                         snapshot_end_date(what.period, local_date(now), snapshot_end))
    return SubmissionResult(submission_id, "processed", rows_total, accepted, rejected,
                            await store.changed_count(conn), people_ended=ended,
                            rejected=await store.first_rejected(conn, REJECTED_SHOWN))


async def _announce(uow: UnitOfWork, region: str) -> None:
    """One identity.status-changed per changed person, with the region's full current set (a list is one
    region's, and so is its event), into the outbox a chunk of people at a time."""
    async for sets in store.changed_status_sets(uow.conn, region, EVENT_CHUNK):
        uow.publish_all(status_changed(person, region, records, uow.now) for person, records in sets.items())
        await uow.flush()


async def in_batches(rows: Rows, size: int = BATCH) -> AsyncIterator[list[SubmittedRow]]:
    """Rows in memory (JSON, Kafka) as the batches `submit_list` stages; batches pass through."""
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


async def submit_file(uow: UnitOfWork, upload: Upload, *, max_bytes: int,
                      snapshot_end: SnapshotEnd = "period_end") -> SubmissionResult:
    """A department's CSV or XLSX file: hashed as it is, refused whole when too large or unreadable (and
    recorded), else read a batch at a time in a worker thread (so the service keeps answering) into
    `submit_list`."""
    file = upload.file
    sha = await asyncio.to_thread(file_hash, iter(lambda: file.read(1 << 20), b""), upload.mode, upload.categories,
                                  upload.default_category)
    size = file.tell()  # the hash read it to the end
    file.seek(0)
    fmt = "xlsx" if file.read(4) == b"PK\x03\x04" else "csv"
    file.seek(0)
    what = Submission(upload.department, upload.region, upload.period, upload.mode, fmt, sha, upload.categories)
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
                                     notes=report.all_notes)
    except FileRefused as refused:
        return await refuse_file(uow, what, refused)


async def _thread_batches(rows: Iterator[SubmittedRow], size: int = BATCH) -> AsyncIterator[list[SubmittedRow]]:
    """Read and parse the file in a worker thread, a batch at a time."""
    def take() -> list[SubmittedRow]:
        return list(itertools.islice(rows, size))

    while batch := await asyncio.to_thread(take):
        yield batch


async def refuse_file(uow: UnitOfWork, what: Submission, refused: FileRefused) -> SubmissionResult:
    """A file that cannot be read is refused as a whole, and recorded like any refusal."""
    return await _record_refused(uow, what, uuid4(), refused.code, refused.reason, rows_total=0)


async def _record_refused(uow: UnitOfWork, what: Submission, submission_id: UUID, code: str, reason: str,
                          rows_total: int) -> SubmissionResult:
    """A submission refused whole before any of its rows was staged: `rows_total` rows, every one rejected."""
    await store.insert_submission(
        uow.conn, id=submission_id, department=what.department, region=what.region, period=what.period,
        mode=what.mode, content_sha256=what.sha, received_at=uow.now, source=what.source,
        outcome="refused", refusal=reason, rows_total=rows_total, rows_accepted=0, rows_rejected=rows_total,
        people_changed=0)
    return SubmissionResult(submission_id, "refused", rows_total, 0, rows_total, refusal=reason, refusal_code=code)
