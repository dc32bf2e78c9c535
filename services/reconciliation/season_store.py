"""SQL of last year's enrollment (`prior_enrollment`), the 未续保 list and the season's payment curves.

Places are where the population baseline puts a person now, else where this year's
registration does, else (last year's list) where the county's list did — the same
order as every other progress figure of the service (`store.place_counts`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.reconciliation.domain.files import Parsed
from services.reconciliation.domain.prior_year import PriorEnrollment
from services.reconciliation.domain.progress import UNPLACED
from services.reconciliation.store import ENROLLED_SQL, record_import
from shared.db import BatchUpsert

KIND = "prior_enrollment"
SAVE_BATCH = 50_000  # rows per statement: a county's list of a million people is not one set of arrays
PRIOR = BatchUpsert(
    "prior_enrollment",
    (("person_id", "text"), ("name", "text"), ("township", "text"), ("village", "text"), ("year", "int"),
     ("paid_on", "date"), ("amount_fen", "bigint"), ("category", "text")),
    stamp=(("region", "text"), ("file_id", "bigint")), conflict=("person_id", "region", "year"),
    update=dict.fromkeys(("name", "township", "village", "paid_on", "amount_fen", "category", "file_id")))


async def start_import(conn: asyncpg.Connection, name: str, content: bytes, region: str, year: int,
                       parsed: Parsed[PriorEnrollment], now: datetime) -> tuple[int, bool]:
    """The file's row and whether it is new. The same bytes for the same region and year are the same import
    (the list names no region, so another region's import of identical bytes is its own)."""
    sha = hashlib.sha256(f"{region}:{year}:".encode() + content).hexdigest()
    return await record_import(conn, KIND, name, sha, parsed, now)


async def save_prior(conn: asyncpg.Connection, region: str, file_id: int, rows: Sequence[PriorEnrollment]) -> None:
    """Upsert by person, region and year: a corrected list replaces the earlier line of the same person."""
    for start in range(0, len(rows), SAVE_BATCH):
        await PRIOR.execute(conn, [(r.person_id, r.name, r.township, r.village, r.year, r.paid_on, r.amount_fen,
                                    r.category) for r in rows[start:start + SAVE_BATCH]], region, file_id)


async def to_chase(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """Everyone on last year's list or with a status of the region who is not enrolled this year and whose
    enrollment has not ended; with place, name, last year's line, statuses and this year's registration."""
    return await conn.fetch(
        f"""
        WITH people AS (
            SELECT person_id FROM prior_enrollment WHERE region = $1 AND year = $2 - 1
            UNION SELECT person_id FROM person_status WHERE region = $1
        )
        SELECT p.person_id, COALESCE(b.name, pr.name) AS name,
               COALESCE(b.township, e.township, s.township, pr.township) AS township,
               COALESCE(b.village, e.village, s.village, pr.village) AS village,
               pr.person_id IS NOT NULL AS enrolled_last_year, pr.category AS last_year_category,
               pr.paid_on AS last_year_paid_on, s.statuses::text AS statuses, e.state, e.kind
        FROM people p
            LEFT JOIN prior_enrollment pr ON pr.person_id = p.person_id AND pr.region = $1 AND pr.year = $2 - 1
            LEFT JOIN person_status s ON s.person_id = p.person_id AND s.region = $1
            LEFT JOIN baseline_person b ON b.person_id = p.person_id AND b.region = $1
            LEFT JOIN enrollment_year e ON e.person_id = p.person_id AND e.year = $2
            LEFT JOIN due d ON d.person_id = p.person_id AND d.year = $2
        WHERE NOT COALESCE({ENROLLED_SQL}, false) AND e.state IS DISTINCT FROM 'ended'
        """, region, year)


async def first_payments(conn: asyncpg.Connection, region: str, year: int, timezone: str) -> list[asyncpg.Record]:
    """Enrolled people per place and local day of their first payment (day NULL: enrolled with no receipt)."""
    return await conn.fetch(
        f"""
        WITH first_paid AS (
            SELECT person_id, min((paid_at AT TIME ZONE $3)::date) AS day FROM receipt
            WHERE region = $1 AND year = $2 AND amount_fen > 0 GROUP BY person_id
        )
        SELECT COALESCE(b.township, e.township, $4) AS township, COALESCE(b.village, e.village, $4) AS village,
               f.day, count(*)::int AS people
        FROM enrollment_year e LEFT JOIN baseline_person b ON b.person_id = e.person_id
            LEFT JOIN due d ON d.person_id = e.person_id AND d.year = e.year
            LEFT JOIN first_paid f ON f.person_id = e.person_id
        WHERE e.region = $1 AND e.year = $2 AND {ENROLLED_SQL}
        GROUP BY 1, 2, 3
        """, region, year, timezone, UNPLACED)


async def prior_payments(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """Last year's list per place and payment date (NULL: none on the list) — `year` is last year."""
    return await conn.fetch(
        """
        SELECT COALESCE(b.township, p.township, $3) AS township, COALESCE(b.village, p.village, $3) AS village,
               p.paid_on, count(*)::int AS people
        FROM prior_enrollment p LEFT JOIN baseline_person b ON b.person_id = p.person_id AND b.region = p.region
        WHERE p.region = $1 AND p.year = $2
        GROUP BY 1, 2, 3
        """, region, year, UNPLACED)

