"""The submission use case: validate, record, and announce what changed — in one transaction."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from services.identity_certification import store
from services.identity_certification.domain.rows import (
    RowVerdict,
    SubmissionRefused,
    SubmittedRow,
    check_authority,
    validate_rows,
)
from shared import outbox
from shared.logging import get_logger
from shared.messages import CertifiedStatus, StatusChanged
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.topics import STATUS_CHANGED

log = get_logger(__name__)


@dataclass
class SubmissionResult:
    submission_id: UUID
    outcome: str  # processed | refused | duplicate
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    people_changed: int = 0
    refusal: str | None = None
    rejected: list[RowVerdict] = field(default_factory=list)


def content_hash(rows: list[SubmittedRow]) -> str:
    """Hash of the rows' content: the same list posted twice has the same hash."""
    canonical = json.dumps(
        [[r.person_id, r.category, str(r.certified_on), str(r.ended_on), r.township, r.village] for r in rows],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def status_changed(person: str, region: str, records: list[asyncpg.Record], now: datetime) -> Outgoing:
    latest = records[-1]
    event = StatusChanged(
        message_id=uuid4(), occurred_at=now, person_id=person, region=region,
        township=latest["township"], village=latest["village"],
        statuses=[
            CertifiedStatus(category=r["category"], department=r["department"], certified_on=r["certified_on"],
                            ended_on=r["ended_on"], submission_id=r["submission_id"])
            for r in records
        ],
    )
    return Outgoing(STATUS_CHANGED.name, person_key(person), event)


async def submit(
    conn: asyncpg.Connection,
    *,
    department: str,
    region: str,
    period: str,
    rows: list[SubmittedRow],
    sha: str,
    now: datetime,
    topic_prefix: str,
    schema: str,
) -> SubmissionResult:
    """Process one submission inside the caller's transaction."""
    previous = await store.find_processed(conn, department, region, period, sha)
    if previous:
        return SubmissionResult(previous["id"], "duplicate", previous["rows_total"], previous["rows_accepted"],
                                previous["rows_rejected"], 0)
    submission_id = uuid4()
    common = dict(id=submission_id, department=department, region=region, period=period, mode="delta",
                  content_sha256=sha, rows_total=len(rows), received_at=now)
    try:
        check_authority(department, rows)
    except SubmissionRefused as refused:
        await store.insert_submission(conn, **common, outcome="refused", refusal=refused.reason,
                                      rows_accepted=0, rows_rejected=len(rows), people_changed=0)
        log.warning("submission refused", department=department, region=region, reason=refused.code)
        return SubmissionResult(submission_id, "refused", len(rows), 0, len(rows), 0, refused.reason)

    verdicts = validate_rows(rows, received_on=now.date())
    accepted = [v for v in verdicts if v.accepted]
    rejected = [v for v in verdicts if not v.accepted]
    await store.insert_submission(conn, **common, outcome="processed", refusal=None, rows_accepted=len(accepted),
                                  rows_rejected=len(rejected), people_changed=0)
    await store.insert_row_results(conn, submission_id, verdicts)
    changed = await store.upsert_statuses(conn, submission_id, department, region, accepted)
    sets = await store.status_sets(conn, changed)
    events = [status_changed(person, region, sets[person], now) for person in changed]
    await outbox.add(conn, events, topic_prefix=topic_prefix, schema=schema)
    await conn.execute("UPDATE submission SET people_changed = $2 WHERE id = $1", submission_id, len(changed))
    return SubmissionResult(submission_id, "processed", len(rows), len(accepted), len(rejected), len(changed),
                            rejected=rejected)
