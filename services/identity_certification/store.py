"""SQL of identity certification: credentials, refusals, submissions, staged rows, status history per region.

Large submissions are COPYed into a per-transaction staging table and merged with
set-based statements, so a million-row file costs a handful of round trips.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import cast
from uuid import UUID

import asyncpg

from services.identity_certification.domain.rows import RowVerdict
from shared.access import Caller
from shared.resident_id import person_key


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_credential(conn: asyncpg.Connection, department: str, region: str) -> str:
    """Issue the credential of one department and region (revoking the one before); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            "UPDATE department_credential SET revoked_at = now() "
            "WHERE department = $1 AND region = $2 AND revoked_at IS NULL", department, region,
        )
        await conn.execute(
            "INSERT INTO department_credential (token_sha256, department, region) VALUES ($1, $2, $3)",
            token_hash(token), department, region,
        )
    return token


async def authenticate(conn: asyncpg.Connection, token: str) -> tuple[str, str] | None:
    row = await conn.fetchrow(
        "SELECT department, region FROM department_credential WHERE token_sha256 = $1 AND revoked_at IS NULL",
        token_hash(token),
    )
    return (row["department"], row["region"]) if row else None


async def caller(conn: asyncpg.Connection, token: str) -> Caller | None:
    """The token's department as a shared.access Caller: role = the department, holder = department/region."""
    found = await authenticate(conn, token)
    return Caller(region=found[1], role=found[0], holder=f"{found[0]}/{found[1]}") if found else None


async def has_credential(conn: asyncpg.Connection, department: str, region: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT 1 FROM department_credential WHERE department = $1 AND region = $2 AND revoked_at IS NULL",
        department, region,
    ))


async def record_refusal(conn: asyncpg.Connection, channel: str, code: str, reason: str,
                         department: str | None = None, region: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO access_refusal (channel, department, region, reason_code, reason) VALUES ($1, $2, $3, $4, $5)",
        channel, department, region, code, reason,
    )


async def find_processed(conn: asyncpg.Connection, department: str, region: str, period: str, sha: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM submission WHERE department = $1 AND region = $2 AND period = $3 "
        "AND content_sha256 = $4 AND outcome = 'processed'",
        department, region, period, sha,
    )


async def get_submission(conn: asyncpg.Connection, submission_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM submission WHERE id = $1", submission_id)


async def insert_submission(conn: asyncpg.Connection, **fields: object) -> None:
    if "notes" in fields:
        fields["notes"] = json.dumps(fields["notes"], ensure_ascii=False)
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${i}" + ("::jsonb" if name == "notes" else "") for i, name in enumerate(fields, 1))
    await conn.execute(f"INSERT INTO submission ({columns}) VALUES ({placeholders})", *fields.values())


async def claim_submission(conn: asyncpg.Connection, **fields: object) -> bool:
    """Insert a submission unless the same content is processed already (the unique index submission_once):
    False then. An identical one being processed concurrently is waited for. A savepoint keeps the
    caller's transaction usable after the conflict."""
    try:
        async with conn.transaction():
            await insert_submission(conn, **fields)
        return True
    except asyncpg.UniqueViolationError as err:
        if err.constraint_name != "submission_once":
            raise
        return False


async def update_submission(conn: asyncpg.Connection, submission_id: UUID, **fields: object) -> None:
    if "notes" in fields:
        fields["notes"] = json.dumps(fields["notes"], ensure_ascii=False)
    sets = ", ".join(f"{name} = ${i}" + ("::jsonb" if name == "notes" else "") for i, name in enumerate(fields, 2))
    await conn.execute(f"UPDATE submission SET {sets} WHERE id = $1", submission_id, *fields.values())


# --- progress: written beside the list's transaction, committed at once ------------------------------

FINAL_PHASES = ("processed", "refused", "duplicate", "failed")
INTERRUPTED = "处理中断（服务停止或数据库连接中断），该报送没有任何变更：请重新报送同一文件"


async def session_of(conn: asyncpg.Connection) -> tuple[int, datetime]:
    """This connection's server session (pid, start time): the pair no later session repeats."""
    row = await conn.fetchrow("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
    return row["pid"], row["backend_start"]


async def begin_progress(conn: asyncpg.Connection, submission_id: UUID, department: str, region: str, period: str,
                         source: str, sha: str, session: tuple[int, datetime], now: datetime) -> None:
    """Start the progress of a submission; an earlier attempt at the same content whose session is gone (its
    process killed mid-file, so nothing of it applied) is marked failed, pointing at this one."""
    await conn.execute(
        """
        UPDATE submission_progress p SET phase = 'failed', updated_at = now(),
               detail = $5 || '（已由报送' || $6::text || '重新处理）'
        WHERE department = $1 AND region = $2 AND period = $3 AND content_sha256 = $4
          AND phase NOT IN ('processed', 'refused', 'duplicate', 'failed')
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                          WHERE a.pid = p.backend_pid AND a.backend_start = p.backend_start)
        """,
        department, region, period, sha, INTERRUPTED, str(submission_id),
    )
    await conn.execute(
        "INSERT INTO submission_progress (submission_id, department, region, period, source, content_sha256, phase, "
        "backend_pid, backend_start, started_at) VALUES ($1, $2, $3, $4, $5, $6, 'reading', $7, $8, $9)",
        submission_id, department, region, period, source, sha, *session, now,
    )


async def record_progress(conn: asyncpg.Connection, submission_id: UUID, phase: str | None, detail: str | None,
                          **counts: int) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(counts, 4))
    await conn.execute(
        f"UPDATE submission_progress SET phase = coalesce($2, phase), detail = coalesce($3, detail), "
        f"updated_at = now(){', ' + sets if sets else ''} WHERE submission_id = $1",
        submission_id, phase, detail, *counts.values(),
    )


_PROGRESS = """
    SELECT p.*, s.outcome, s.rows_total, s.rows_accepted, s.rows_rejected, s.people_changed,
           p.phase IN ('processed', 'refused', 'duplicate', 'failed')
           OR EXISTS (SELECT 1 FROM pg_stat_activity a
                      WHERE a.pid = p.backend_pid AND a.backend_start = p.backend_start) AS alive
    FROM submission_progress p LEFT JOIN submission s ON s.id = p.submission_id
"""


async def progress_of(conn: asyncpg.Connection, submission_id: UUID, department: str,
                      region: str) -> asyncpg.Record | None:
    """A submission's progress, if it is this department's and region's; `alive` false: its session is gone."""
    return await conn.fetchrow(_PROGRESS + " WHERE p.submission_id = $1 AND p.department = $2 AND p.region = $3",
                               submission_id, department, region)


async def recent_progress(conn: asyncpg.Connection, department: str, region: str, limit: int) -> list[asyncpg.Record]:
    """The department's latest submissions with progress, newest first (how it finds one still in flight)."""
    return await conn.fetch(_PROGRESS + " WHERE p.department = $1 AND p.region = $2 "
                            "ORDER BY p.started_at DESC LIMIT $3", department, region, limit)


# --- staging: one temporary table per submission, dropped when it is merged -------------------------

STAGED_COLUMNS = ("line_no", "person_id", "person_masked", "category", "certified_on", "ended_on",
                  "township", "village", "reason_code", "reason", "subtype", "category_assumed", "person_key")


async def open_staging(conn: asyncpg.Connection) -> None:
    """The submission's staging tables, dropped with its transaction whatever ends it (a rollback, a killed
    process); `close_staging` drops them before the commit."""
    # The duplicates' window and the events' grouping sort a whole list: with the default 4 MB a million rows
    # sort on disk. The chunk statements run again and again with other lines: a generic plan made for the
    # first chunks' sizes would not fit the later ones, so each is planned for its own lines. For this
    # transaction only.
    await conn.execute(
        """
        SET LOCAL work_mem = '64MB';
        SET LOCAL plan_cache_mode = force_custom_plan;
        CREATE TEMP TABLE staged_row (
            line_no int, person_id text, person_masked text, category text, certified_on date, ended_on date,
            township text, village text, reason_code text, reason text, subtype text, category_assumed bool,
            person_key text
        ) ON COMMIT DROP;
        CREATE TEMP TABLE changed_person (person_id text PRIMARY KEY, person_key text) ON COMMIT DROP;
        """
    )


async def close_staging(conn: asyncpg.Connection) -> None:
    await conn.execute("DROP TABLE IF EXISTS staged_row, changed_person")


async def stage(conn: asyncpg.Connection, verdicts: Sequence[RowVerdict]) -> None:
    """COPY a batch of verdicts; an accepted row carries its person's Kafka key (blake2b, which SQL lacks),
    so the events can be written by SQL later."""
    await conn.copy_records_to_table(
        "staged_row", columns=STAGED_COLUMNS,
        records=[(v.line_no, v.person_id, v.person_masked, v.row.category[:40], v.row.certified_on, v.row.ended_on,
                  v.row.township, v.row.village, v.reason_code, v.reason, v.row.subtype, v.row.category_assumed,
                  person_key(v.person_id) if v.reason_code is None and v.person_id else None)
                 for v in verdicts],
    )


async def reject_duplicates(conn: asyncpg.Connection, lines: tuple[int, int]) -> None:
    """Lines of `lines` (first, last) repeating a good line (same person, category and certification date) are
    rejected, naming that line: a good line before `lines` (earlier chunks are final: at most one good line
    of each kind is left in them), else the first of its kind inside `lines`."""
    # Statistics of the rows staged so far, every chunk: with those of the first chunk only, the planner took
    # a later chunk's lines (beyond the histogram) for a handful and joined them by nested loop, for minutes.
    await conn.execute("ANALYZE staged_row")
    await conn.execute(
        """
        UPDATE staged_row s SET reason_code = 'duplicate_row',
               reason = '与第' || d.first_line || '行重复（同一人、同一类别、同一认定时间）'
        FROM (SELECT c.line_no,
                     coalesce(e.line_no, min(c.line_no) OVER (PARTITION BY c.person_id, c.category, c.certified_on))
                         AS first_line
              FROM staged_row c
              LEFT JOIN staged_row e ON e.reason_code IS NULL AND e.line_no < $1 AND e.person_id = c.person_id
                                    AND e.category = c.category AND e.certified_on = c.certified_on
              WHERE c.reason_code IS NULL AND c.line_no BETWEEN $1 AND $2) d
        WHERE s.line_no BETWEEN $1 AND $2 AND s.line_no = d.line_no AND d.first_line <> d.line_no
        """,
        *lines,
    )


async def staged_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE reason_code IS NULL) AS accepted, "
        "count(*) FILTER (WHERE reason_code IS NOT NULL) AS rejected FROM staged_row"
    )
    return row["accepted"], row["rejected"]


def savepoint(conn: asyncpg.Connection) -> AbstractAsyncContextManager[object]:
    """A savepoint inside the caller's transaction: what a list merged is undone if it is refused after all."""
    return cast(AbstractAsyncContextManager[object], conn.transaction())


async def staged_categories(conn: asyncpg.Connection, known: Sequence[str]) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT category FROM staged_row WHERE category = ANY($1::text[])", list(known))
    return sorted(r["category"] for r in rows)


async def keep_row_results(conn: asyncpg.Connection, submission_id: UUID, lines: tuple[int, int]) -> None:
    await conn.execute(
        "INSERT INTO row_result (submission_id, line_no, person_masked, category, accepted, reason_code, reason, "
        "subtype, category_assumed) SELECT $1, line_no, person_masked, category, reason_code IS NULL, reason_code, "
        "reason, subtype, category_assumed FROM staged_row WHERE line_no BETWEEN $2 AND $3",
        submission_id, *lines,
    )


async def merge_statuses(conn: asyncpg.Connection, submission_id: UUID, department: str, region: str,
                         lines: tuple[int, int]) -> int:
    """Add or end the region's statuses from the good staged rows of `lines` (first, last: a chunk of the list,
    so that progress can be told between chunks); note the people whose history in the region changed, with
    their key. Another region's row of the same person, category and day is that region's: never touched here.
    A row without a subtype keeps the one stored (a list naming only the category says nothing about it); a
    different subtype on the same certification is a correction, and a change. Returns the rows merged."""
    return await conn.fetchval(
        """
        WITH good AS (
            SELECT * FROM staged_row WHERE reason_code IS NULL AND line_no BETWEEN $4 AND $5
        ), merged AS (
            INSERT INTO status (person_id, category, department, region, certified_on, ended_on,
                                township, village, submission_id, subtype)
            SELECT person_id, category, $2, $3, certified_on, ended_on, township, village, $1, subtype FROM good
            ON CONFLICT (person_id, region, category, certified_on) DO UPDATE
                SET ended_on = EXCLUDED.ended_on, submission_id = EXCLUDED.submission_id,
                    township = coalesce(EXCLUDED.township, status.township),
                    village = coalesce(EXCLUDED.village, status.village),
                    subtype = coalesce(EXCLUDED.subtype, status.subtype)
                WHERE status.ended_on IS DISTINCT FROM EXCLUDED.ended_on
                   OR (EXCLUDED.subtype IS NOT NULL AND status.subtype IS DISTINCT FROM EXCLUDED.subtype)
            RETURNING person_id
        ), noted AS (
            INSERT INTO changed_person
            SELECT person_id, person_key FROM good WHERE person_id IN (SELECT person_id FROM merged)
            ON CONFLICT DO NOTHING
        )
        SELECT count(*) FROM good
        """,
        submission_id, department, region, *lines,
    )


async def end_unlisted(conn: asyncpg.Connection, submission_id: UUID, department: str, region: str,
                       categories: Sequence[str], ended_on: date) -> int:
    """Snapshot: end the open statuses of these categories whose person the snapshot does not list.

    A person is listed when any staged line carries their valid ID and the category,
    even if that line was rejected for another reason (a bad date must not end a status).
    The people ended are noted as changed; their keys are filled in by `key_unkeyed`."""
    rows = await conn.fetch(
        """
        WITH ended AS (
            UPDATE status s SET ended_on = greatest(s.certified_on, $5), submission_id = $1
            WHERE s.department = $2 AND s.region = $3 AND s.category = ANY($4::text[]) AND s.ended_on IS NULL
              AND NOT EXISTS (SELECT 1 FROM staged_row l
                              WHERE l.person_id = s.person_id AND l.category = s.category)
            RETURNING s.person_id
        ), noted AS (
            INSERT INTO changed_person (person_id) SELECT DISTINCT person_id FROM ended ON CONFLICT DO NOTHING
        )
        SELECT count(*) AS n FROM ended
        """,
        submission_id, department, region, list(categories), ended_on,
    )
    return rows[0]["n"]


async def key_unkeyed(conn: asyncpg.Connection, chunk: int = 5000) -> None:
    """Give each changed person noted without a key (a snapshot's endings: not in the list) their key, a chunk
    at a time; the key is blake2b, computed here because SQL has none."""
    while people := await conn.fetch("SELECT person_id FROM changed_person WHERE person_key IS NULL LIMIT $1", chunk):
        await conn.execute(
            "UPDATE changed_person c SET person_key = k.key FROM unnest($1::text[], $2::text[]) AS k(person_id, key) "
            "WHERE c.person_id = k.person_id",
            [r["person_id"] for r in people], [person_key(r["person_id"]) for r in people])


async def changed_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM changed_person")


# One identity.status-changed per changed person, written by SQL as pydantic writes StatusChanged (the same
# fields in the same order, no spaces: tests/integration/test_identity_streaming.py compares the two), so a
# million events cost one statement instead of a million models. Codes (category, department, subtype), the
# validated ID, dates and uuids need no JSON escaping and are quoted as they are; the department's own free
# text (township, village) goes through to_json. `latest` is the person's last status in (certified_on,
# category) order, whose township and village the event carries.
_STATUS_EVENTS = """
    WITH sets AS (
        SELECT c.person_id, c.person_key,
               string_agg('{"category":"' || s.category || '","department":"' || s.department
                          || '","certified_on":"' || to_char(s.certified_on, 'YYYY-MM-DD')
                          || '","ended_on":' || coalesce('"' || to_char(s.ended_on, 'YYYY-MM-DD') || '"', 'null')
                          || ',"submission_id":"' || s.submission_id::text
                          || '","subtype":' || coalesce('"' || s.subtype || '"', 'null') || '}',
                          ',' ORDER BY s.certified_on, s.category) AS statuses,
               max(ARRAY[to_char(s.certified_on, 'YYYYMMDD'), s.category, s.township, s.village]) AS latest
        FROM changed_person c JOIN status s ON s.person_id = c.person_id AND s.region = $3
        GROUP BY c.person_id, c.person_key
    )
    INSERT INTO outbox (topic, key, payload)
    SELECT $1, convert_to(person_key, 'UTF8'), convert_to(
               '{"message_id":"' || gen_random_uuid()::text || '","occurred_at":' || $2
               || ',"schema_version":1,"event_type":"identity.status-changed","person_id":"' || person_id
               || '","region":"' || $3::text
               || '","township":' || coalesce(to_json(latest[3])::text, 'null')
               || ',"village":' || coalesce(to_json(latest[4])::text, 'null')
               || ',"statuses":[' || statuses || ']}', 'UTF8')
    FROM sets ORDER BY person_id
"""


async def write_status_events(conn: asyncpg.Connection, topic: str, occurred_at: str, region: str,
                              channel: str) -> int:
    """Write the identity.status-changed of every changed person into the outbox (`topic` with its prefix,
    `occurred_at` as JSON text): the statuses `region` holds of them, oldest first. Only the region's: its
    event stands for its own departments' lists, and another region's statuses announced under it would let
    one county's list overwrite another's. The outbox relay listening on `channel` is woken at the commit.
    Returns the events written."""
    await conn.execute("ANALYZE changed_person")  # a temporary table has no statistics until asked
    status = await conn.execute(_STATUS_EVENTS, topic, occurred_at, region)
    written = int(status.rsplit(" ", 1)[1])
    if written:
        await conn.execute("SELECT pg_notify($1, '')", channel)
    return written


async def first_rejected(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT line_no, person_masked, reason_code, reason FROM staged_row "
        "WHERE reason_code IS NOT NULL ORDER BY line_no LIMIT $1", limit,
    )


async def result_rows(conn: asyncpg.Connection, submission_id: UUID) -> AsyncIterator[asyncpg.Record]:
    """The row results of a submission in line order, from a server-side cursor (inside a transaction)."""
    async for row in conn.cursor("SELECT * FROM row_result WHERE submission_id = $1 ORDER BY line_no", submission_id,
                                 prefetch=5000):
        yield row
