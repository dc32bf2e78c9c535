"""SQL of enrollment: baseline, enrollments per person and year, certified statuses."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from shared.messages import StatusChanged


async def import_baseline(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str | None, str | None, str | None]],
                          source: str, now: datetime) -> int:
    """Upsert (person_id, region, township, village, name) rows of the household register."""
    await conn.execute(
        """
        INSERT INTO population (person_id, region, township, village, name, source, imported_at)
        SELECT p, r, t, v, n, $6, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            AS u(p, r, t, v, n)
        ON CONFLICT (person_id) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            village = EXCLUDED.village, name = EXCLUDED.name, source = EXCLUDED.source,
            imported_at = EXCLUDED.imported_at
        """,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        [r[4] for r in rows], source, now,
    )
    return len(rows)


async def places(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT person_id, township, village FROM population WHERE person_id = ANY($1::text[])", list(people)
    )
    return {r["person_id"]: r for r in rows}


async def enrollments(conn: asyncpg.Connection, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT e.* FROM enrollment e JOIN unnest($1::text[], $2::int[]) AS k(p, y) "
        "ON e.person_id = k.p AND e.year = k.y",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["person_id"], r["year"]): r for r in rows}


async def save_enrollments(conn: asyncpg.Connection, items: Sequence[dict], now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO enrollment (person_id, year, region, state, paid_total_fen, township, village, updated_at)
        SELECT p, y, r, s, f, t, v, $8 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[],
                                                   $6::text[], $7::text[]) AS u(p, y, r, s, f, t, v)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, state = EXCLUDED.state,
            paid_total_fen = EXCLUDED.paid_total_fen, township = EXCLUDED.township, village = EXCLUDED.village,
            updated_at = EXCLUDED.updated_at
        """,
        [i["person_id"] for i in items], [i["year"] for i in items], [i["region"] for i in items],
        [i["state"] for i in items], [i["paid_total_fen"] for i in items], [i["township"] for i in items],
        [i["village"] for i in items], now,
    )


async def save_statuses(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    latest = {e.person_id: e for e in events}  # each event carries the full set: the last one wins
    await conn.execute(
        """
        INSERT INTO person_status (person_id, region, statuses, updated_at)
        SELECT p, r, s::jsonb, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(p, r, s)
        ON CONFLICT (person_id) DO UPDATE SET region = EXCLUDED.region, statuses = EXCLUDED.statuses,
            updated_at = EXCLUDED.updated_at
        """,
        list(latest), [e.region for e in latest.values()],
        [e.model_dump_json(include={"statuses"}) for e in latest.values()], now,
    )


async def person_record(conn: asyncpg.Connection, person_id: str) -> dict:
    base = await conn.fetchrow("SELECT region, township, village, name FROM population WHERE person_id = $1", person_id)
    years = await conn.fetch(
        "SELECT year, region, kind, state, paid_total_fen, township, village FROM enrollment "
        "WHERE person_id = $1 ORDER BY year", person_id)
    statuses = await conn.fetchval("SELECT statuses FROM person_status WHERE person_id = $1", person_id)
    return {
        "baseline": dict(base) if base else None,
        "enrollments": [dict(r) for r in years],
        "statuses": (statuses or {}).get("statuses", []),
    }
