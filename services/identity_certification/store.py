"""SQL of identity certification: credentials, refusals, submissions, staged rows, status history per region.

Large submissions are COPYed into a per-transaction staging table and merged with
set-based statements, so a million-row file costs a handful of round trips.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import date
from uuid import UUID

import asyncpg

from services.identity_certification.domain.rows import RowVerdict
from shared.access import Caller


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


# --- staging: one temporary table per submission, dropped when it is merged -------------------------

STAGED_COLUMNS = ("line_no", "person_id", "person_masked", "category", "certified_on", "ended_on",
                  "township", "village", "reason_code", "reason", "subtype", "category_assumed")


async def open_staging(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        CREATE TEMP TABLE staged_row (
            line_no int, person_id text, person_masked text, category text, certified_on date, ended_on date,
            township text, village text, reason_code text, reason text, subtype text, category_assumed bool
        ) ON COMMIT DROP;
        CREATE TEMP TABLE changed_person (person_id text PRIMARY KEY) ON COMMIT DROP;
        """
    )


async def close_staging(conn: asyncpg.Connection) -> None:
    await conn.execute("DROP TABLE IF EXISTS staged_row, changed_person")


async def stage(conn: asyncpg.Connection, verdicts: Sequence[RowVerdict]) -> None:
    await conn.copy_records_to_table(
        "staged_row", columns=STAGED_COLUMNS,
        records=[(v.line_no, v.person_id, v.person_masked, v.row.category[:40], v.row.certified_on, v.row.ended_on,
                  v.row.township, v.row.village, v.reason_code, v.reason, v.row.subtype, v.row.category_assumed)
                 for v in verdicts],
    )


async def reject_duplicates(conn: asyncpg.Connection) -> None:
    """Later lines repeating a good line (same person, category and certification date) are rejected."""
    await conn.execute("ANALYZE staged_row")
    await conn.execute(
        """
        UPDATE staged_row s SET reason_code = 'duplicate_row',
               reason = '与第' || d.first_line || '行重复（同一人、同一类别、同一认定时间）'
        FROM (SELECT line_no, min(line_no) OVER (PARTITION BY person_id, category, certified_on) AS first_line
              FROM staged_row WHERE reason_code IS NULL) d
        WHERE s.line_no = d.line_no AND d.first_line <> d.line_no
        """
    )


async def staged_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE reason_code IS NULL) AS accepted, "
        "count(*) FILTER (WHERE reason_code IS NOT NULL) AS rejected FROM staged_row"
    )
    return row["accepted"], row["rejected"]


async def staged_categories(conn: asyncpg.Connection, known: Sequence[str]) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT category FROM staged_row WHERE category = ANY($1::text[])", list(known))
    return sorted(r["category"] for r in rows)


async def keep_row_results(conn: asyncpg.Connection, submission_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO row_result (submission_id, line_no, person_masked, category, accepted, reason_code, reason, "
        "subtype, category_assumed) SELECT $1, line_no, person_masked, category, reason_code IS NULL, reason_code, "
        "reason, subtype, category_assumed FROM staged_row",
        submission_id,
    )


async def merge_statuses(conn: asyncpg.Connection, submission_id: UUID, department: str, region: str) -> None:
    """Add or end the region's statuses from the good staged rows; note the people whose history in the region
    changed. Another region's row of the same person, category and day is that region's: never touched here.
    A row without a subtype keeps the one stored (a list naming only the category says nothing about it); a
    different subtype on the same certification is a correction, and a change."""
    await conn.execute(
        """
        WITH merged AS (
            INSERT INTO status (person_id, category, department, region, certified_on, ended_on,
                                township, village, submission_id, subtype)
            SELECT person_id, category, $2, $3, certified_on, ended_on, township, village, $1, subtype
            FROM staged_row WHERE reason_code IS NULL
            ON CONFLICT (person_id, region, category, certified_on) DO UPDATE
                SET ended_on = EXCLUDED.ended_on, submission_id = EXCLUDED.submission_id,
                    township = coalesce(EXCLUDED.township, status.township),
                    village = coalesce(EXCLUDED.village, status.village),
                    subtype = coalesce(EXCLUDED.subtype, status.subtype)
                WHERE status.ended_on IS DISTINCT FROM EXCLUDED.ended_on
                   OR (EXCLUDED.subtype IS NOT NULL AND status.subtype IS DISTINCT FROM EXCLUDED.subtype)
            RETURNING person_id
        )
        INSERT INTO changed_person SELECT DISTINCT person_id FROM merged ON CONFLICT DO NOTHING
        """,
        submission_id, department, region,
    )


async def end_unlisted(conn: asyncpg.Connection, submission_id: UUID, department: str, region: str,
                       categories: Sequence[str], ended_on: date) -> int:
    """Snapshot: end the open statuses of these categories whose person the snapshot does not list.

    A person is listed when any staged line carries their valid ID and the category,
    even if that line was rejected for another reason (a bad date must not end a status)."""
    rows = await conn.fetch(
        """
        WITH ended AS (
            UPDATE status s SET ended_on = greatest(s.certified_on, $5), submission_id = $1
            WHERE s.department = $2 AND s.region = $3 AND s.category = ANY($4::text[]) AND s.ended_on IS NULL
              AND NOT EXISTS (SELECT 1 FROM staged_row l
                              WHERE l.person_id = s.person_id AND l.category = s.category)
            RETURNING s.person_id
        ), noted AS (
            INSERT INTO changed_person SELECT DISTINCT person_id FROM ended ON CONFLICT DO NOTHING
        )
        SELECT count(*) AS n FROM ended
        """,
        submission_id, department, region, list(categories), ended_on,
    )
    return rows[0]["n"]


async def changed_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM changed_person")


async def changed_status_sets(conn: asyncpg.Connection, region: str,
                              chunk: int) -> AsyncIterator[dict[str, list[asyncpg.Record]]]:
    """The statuses `region` holds of each changed person, oldest first, `chunk` people at a time (a
    server-side cursor). Only the region's: its event stands for its own departments' lists, and another
    region's statuses announced under it would let one county's list overwrite another's."""
    current: dict[str, list[asyncpg.Record]] = {}
    query = ("SELECT s.* FROM status s JOIN changed_person c USING (person_id) WHERE s.region = $1 "
             "ORDER BY s.person_id, s.certified_on, s.category")
    async for row in conn.cursor(query, region, prefetch=2000):
        person = row["person_id"]
        if person not in current and len(current) >= chunk:
            yield current
            current = {}
        current.setdefault(person, []).append(row)
    if current:
        yield current


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
