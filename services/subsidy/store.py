"""SQL of the subsidy service: people's statuses, dues with revisions, the subsidy-line ledger."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from shared.messages import StatusChanged


async def save_people(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO person (person_id, region, township, village, statuses, updated_at)
        SELECT p, r, t, v, s::jsonb, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            AS u(p, r, t, v, s)
        ON CONFLICT (person_id) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            village = EXCLUDED.village, statuses = EXCLUDED.statuses, updated_at = EXCLUDED.updated_at
        """,
        [e.person_id for e in events], [e.region for e in events], [e.township for e in events],
        [e.village for e in events], [json.dumps([s.model_dump(mode="json") for s in e.statuses]) for e in events],
        now,
    )


async def revisions(conn: asyncpg.Connection, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT d.* FROM due d JOIN unnest($1::text[], $2::int[]) AS k(p, y) ON d.person_id = k.p AND d.year = k.y",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["person_id"], r["year"]): r for r in rows}


async def save_dues(conn: asyncpg.Connection, rows: Sequence[dict], now: datetime) -> None:
    """Upsert dues and replace their subsidy lines — one statement each for the whole batch."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO due (person_id, year, region, standard_fen, subsidy_fen, due_fen, refund_after_fen,
                         reasons, revision, assessed_at)
        SELECT p, y, r, s, b, d, f, x::jsonb, v, $10
        FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                    $8::text[], $9::int[]) AS u(p, y, r, s, b, d, f, x, v)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region,
            standard_fen = EXCLUDED.standard_fen, subsidy_fen = EXCLUDED.subsidy_fen, due_fen = EXCLUDED.due_fen,
            refund_after_fen = EXCLUDED.refund_after_fen, reasons = EXCLUDED.reasons,
            revision = EXCLUDED.revision, assessed_at = EXCLUDED.assessed_at
        """,
        [r["person_id"] for r in rows], [r["year"] for r in rows], [r["region"] for r in rows],
        [r["due"].standard_fen for r in rows], [r["due"].subsidy_fen for r in rows],
        [r["due"].due_fen for r in rows], [r["due"].refund_after_fen for r in rows],
        [json.dumps(list(r["due"].reasons), ensure_ascii=False) for r in rows], [r["revision"] for r in rows], now,
    )
    await conn.execute(
        "DELETE FROM subsidy_line l USING unnest($1::text[], $2::int[]) AS k(p, y) WHERE l.person_id = k.p AND l.year = k.y",
        [r["person_id"] for r in rows], [r["year"] for r in rows],
    )
    lines = [
        (r["person_id"], r["year"], r["region"], r["township"], category, amount, source, mode)
        for r in rows for (category, amount, source, mode) in r["due"].lines
    ]
    if lines:
        await conn.copy_records_to_table(
            "subsidy_line", records=lines,
            columns=("person_id", "year", "region", "township", "category", "amount_fen", "funding_source", "mode"),
        )


async def current_due(conn: asyncpg.Connection, person_id: str, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM due WHERE person_id = $1 AND year = $2", person_id, year)
