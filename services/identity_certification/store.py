"""SQL of identity certification: credentials, submissions, row results, status history."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.identity_certification.domain.rows import RowVerdict


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_credential(conn: asyncpg.Connection, department: str, region: str) -> str:
    """Issue a new credential for one department and region; only its hash is stored."""
    token = secrets.token_urlsafe(32)
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


async def find_processed(conn: asyncpg.Connection, department: str, region: str, period: str, sha: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM submission WHERE department = $1 AND region = $2 AND period = $3 "
        "AND content_sha256 = $4 AND outcome = 'processed'",
        department, region, period, sha,
    )


async def insert_submission(conn: asyncpg.Connection, **fields: object) -> None:
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    await conn.execute(f"INSERT INTO submission ({columns}) VALUES ({placeholders})", *fields.values())


async def insert_row_results(conn: asyncpg.Connection, submission_id: UUID, verdicts: Sequence[RowVerdict]) -> None:
    await conn.copy_records_to_table(
        "row_result",
        records=[
            (submission_id, v.line_no, v.person_masked, v.row.category, v.accepted, v.reason_code, v.reason)
            for v in verdicts
        ],
        columns=("submission_id", "line_no", "person_masked", "category", "accepted", "reason_code", "reason"),
    )


async def upsert_statuses(
    conn: asyncpg.Connection, submission_id: UUID, department: str, region: str, accepted: Sequence[RowVerdict]
) -> list[str]:
    """Record accepted rows; return the people whose status history actually changed."""
    if not accepted:
        return []
    rows = await conn.fetch(
        """
        INSERT INTO status (person_id, category, department, region, certified_on, ended_on,
                            township, village, submission_id)
        SELECT p, c, $7, $8, s, e, t, v, $9
        FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::text[], $6::text[]) AS u(p, c, s, e, t, v)
        ON CONFLICT (person_id, category, certified_on) DO UPDATE
            SET ended_on = EXCLUDED.ended_on, submission_id = EXCLUDED.submission_id,
                township = coalesce(EXCLUDED.township, status.township),
                village = coalesce(EXCLUDED.village, status.village)
            WHERE status.ended_on IS DISTINCT FROM EXCLUDED.ended_on
        RETURNING person_id
        """,
        [v.person_id for v in accepted], [v.row.category for v in accepted],
        [v.row.certified_on for v in accepted], [v.row.ended_on for v in accepted],
        [v.row.township for v in accepted], [v.row.village for v in accepted],
        department, region, submission_id,
    )
    return sorted({r["person_id"] for r in rows})


async def status_sets(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, list[asyncpg.Record]]:
    """Every status of each person, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM status WHERE person_id = ANY($1::text[]) ORDER BY person_id, certified_on, category",
        list(people),
    )
    sets: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        sets.setdefault(row["person_id"], []).append(row)
    return sets


async def row_results(conn: asyncpg.Connection, submission_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM row_result WHERE submission_id = $1 ORDER BY line_no", submission_id
    )
