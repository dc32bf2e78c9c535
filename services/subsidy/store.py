"""SQL of the subsidy service: people's statuses, enrollments, payments, dues with revisions,
the subsidy-line ledger and refund orders. Every write takes a whole batch in one statement."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from shared.messages import EnrollmentEnded, EnrollmentRegistered, ReceiptAccepted, StatusChanged

Key = tuple[str, int]


async def save_people(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    """The last event of each person wins: two in one batch would make the upsert touch a row twice,
    which PostgreSQL refuses — a batch failing forever (found by the chaos harness's replay)."""
    events = list({e.person_id: e for e in events}.values())
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


async def save_enrollments(conn: asyncpg.Connection, events: Sequence[EnrollmentRegistered | EnrollmentEnded],
                           now: datetime) -> None:
    """The last event of each person-year wins (one person's events arrive in order on one partition)."""
    latest = {(e.person_id, e.year): e for e in events}
    rows = list(latest.values())
    ended = [isinstance(e, EnrollmentEnded) for e in rows]
    await conn.execute(
        """
        INSERT INTO enrollment (person_id, year, region, township, village, kind, state, ended_on, end_reason,
                                updated_at)
        SELECT p, y, r, t, v, k, s, e, x, $10
        FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                    $8::date[], $9::text[]) AS u(p, y, r, t, v, k, s, e, x)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region,
            township = coalesce(EXCLUDED.township, enrollment.township),
            village = coalesce(EXCLUDED.village, enrollment.village),
            kind = CASE WHEN EXCLUDED.state = 'ended' THEN enrollment.kind ELSE EXCLUDED.kind END,
            state = EXCLUDED.state, ended_on = EXCLUDED.ended_on, end_reason = EXCLUDED.end_reason,
            updated_at = EXCLUDED.updated_at
        """,
        [e.person_id for e in rows], [e.year for e in rows], [e.region for e in rows],
        [e.township for e in rows], [e.village for e in rows],
        [getattr(e, "kind", "general") for e in rows], ["ended" if x else "registered" for x in ended],
        [e.ended_on if x else None for e, x in zip(rows, ended)],
        [e.reason if x else None for e, x in zip(rows, ended)], now,
    )


async def save_payments(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted], now: datetime) -> None:
    """Each accepted receipt once, by its number (a replay under a new message id adds nothing)."""
    await conn.execute(
        """
        INSERT INTO payment (receipt_no, person_id, year, region, amount_fen, paid_at, recorded_at)
        SELECT *, $7 FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::timestamptz[])
        ON CONFLICT (receipt_no) DO NOTHING
        """,
        [r.receipt_no for r in receipts], [r.person_id for r in receipts], [r.year for r in receipts],
        [r.region for r in receipts], [r.amount_fen for r in receipts], [r.paid_at for r in receipts], now,
    )


async def due_years(conn: asyncpg.Connection, people: Sequence[str]) -> list[Key]:
    rows = await conn.fetch("SELECT person_id, year FROM due WHERE person_id = ANY($1::text[])", list(people))
    return [(r["person_id"], r["year"]) for r in rows]


async def load_facts(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[str, dict]:
    """Everything known about each person-year, one query per kind of fact for the whole batch."""
    people = sorted({k[0] for k in keys})
    ps, ys = [k[0] for k in keys], [k[1] for k in keys]
    keyed = "JOIN unnest($1::text[], $2::int[]) AS k(p, y) ON t.person_id = k.p AND t.year = k.y"
    return {
        "person": {r["person_id"]: r for r in await conn.fetch(
            "SELECT * FROM person WHERE person_id = ANY($1::text[])", people)},
        "enrollment": {(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"SELECT t.* FROM enrollment t {keyed}", ps, ys)},
        "payment": {(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"""SELECT t.person_id, t.year, sum(t.amount_fen)::bigint AS paid_fen,
                       min(t.paid_at) FILTER (WHERE t.amount_fen > 0) AS first_paid_at,
                       (array_agg(t.region ORDER BY t.paid_at DESC))[1] AS region
                FROM payment t {keyed} GROUP BY t.person_id, t.year""", ps, ys)},
        "ordered": {(r["person_id"], r["year"], r["reason"]): r["amount_fen"] for r in await conn.fetch(
            f"SELECT t.person_id, t.year, t.reason, sum(t.amount_fen)::bigint AS amount_fen "
            f"FROM refund_order t {keyed} GROUP BY 1, 2, 3", ps, ys)},
        "due": {(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"SELECT t.* FROM due t {keyed}", ps, ys)},
    }


async def save_dues(conn: asyncpg.Connection, rows: Sequence[dict], now: datetime) -> None:
    """Upsert dues and replace their subsidy lines — one statement each for the whole batch."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO due (person_id, year, region, township, standard_fen, subsidy_fen, due_fen, refund_after_fen,
                         reasons, lines, revision, state, assessed_at)
        SELECT p, y, r, t, s, b, d, f, x::jsonb, l::jsonb, v, st, $13
        FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                    $8::bigint[], $9::text[], $10::text[], $11::int[], $12::text[]) AS u(p, y, r, t, s, b, d, f, x, l, v, st)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            standard_fen = EXCLUDED.standard_fen, subsidy_fen = EXCLUDED.subsidy_fen, due_fen = EXCLUDED.due_fen,
            refund_after_fen = EXCLUDED.refund_after_fen, reasons = EXCLUDED.reasons, lines = EXCLUDED.lines,
            revision = EXCLUDED.revision, state = EXCLUDED.state, assessed_at = EXCLUDED.assessed_at
        """,
        [r["person_id"] for r in rows], [r["year"] for r in rows], [r["region"] for r in rows],
        [r["township"] for r in rows],
        [r["due"].standard_fen for r in rows], [r["due"].subsidy_fen for r in rows],
        [r["due"].due_fen for r in rows], [r["due"].refund_after_fen for r in rows],
        [json.dumps(list(r["due"].reasons), ensure_ascii=False) for r in rows],
        [json.dumps([line_json(x) for x in r["due"].lines]) for r in rows],
        [r["revision"] for r in rows], [r["state"] for r in rows], now,
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
    await conn.execute(
        "DELETE FROM unassessed u USING unnest($1::text[], $2::int[]) AS k(p, y) WHERE u.person_id = k.p AND u.year = k.y",
        [r["person_id"] for r in rows], [r["year"] for r in rows],
    )


def line_json(line: tuple[str, int, str, str]) -> dict:
    category, amount, source, mode = line
    return {"category": category, "amount_fen": amount, "funding_source": source, "mode": mode}


async def save_unassessed(conn: asyncpg.Connection, rows: Sequence[tuple[str, int, str, str]], now: datetime) -> None:
    """Person-years the rules could not judge, with the reason (person, year, region, reason)."""
    if rows:
        await conn.execute(
            """
            INSERT INTO unassessed (person_id, year, region, reason, at)
            SELECT *, $5 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[])
            ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, reason = EXCLUDED.reason, at = EXCLUDED.at
            """,
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], now,
        )


async def save_refund_orders(conn: asyncpg.Connection, orders: Sequence[dict], now: datetime) -> None:
    if not orders:
        return
    await conn.copy_records_to_table(
        "refund_order",
        records=[(o["refund_id"], o["person_id"], o["year"], o["region"], o["township"], o["funding_source"],
                  o["amount_fen"], o["reason"], "ordered", now, now) for o in orders],
        columns=("refund_id", "person_id", "year", "region", "township", "funding_source", "amount_fen", "reason",
                 "state", "ordered_at", "updated_at"),
    )
    await conn.copy_records_to_table(
        "refund_transition", records=[(o["refund_id"], None, "ordered", "subsidy", o["reason"], now) for o in orders],
        columns=("refund_id", "from_state", "to_state", "actor", "note", "at"),
    )


async def current_due(conn: asyncpg.Connection, person_id: str, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM due WHERE person_id = $1 AND year = $2", person_id, year)


async def unassessed(conn: asyncpg.Connection, person_id: str, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM unassessed WHERE person_id = $1 AND year = $2", person_id, year)


async def person_lines(conn: asyncpg.Connection, person_id: str, year: int, region: str) -> list[asyncpg.Record]:
    """One person's subsidy lines of a year, only those of `region`."""
    return await conn.fetch(
        "SELECT * FROM subsidy_line WHERE person_id = $1 AND year = $2 AND region = $3 ORDER BY category",
        person_id, year, region)


async def line_totals(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """The ledger totalled per township, funding source and mode (what each fund transfers)."""
    return await conn.fetch(
        """
        SELECT coalesce(township, '') AS township, funding_source, mode,
               count(DISTINCT person_id) AS people, sum(amount_fen)::bigint AS amount_fen
        FROM subsidy_line WHERE (region = $1 OR left(region, 4) || '00' = $1) AND year = $2
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
        region, year,
    )


async def refund_orders(conn: asyncpg.Connection, *, person_id: str | None = None, region: str | None = None,
                        year: int | None = None, township: str | None = None,
                        state: str | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT * FROM refund_order
        WHERE ($1::text IS NULL OR person_id = $1) AND ($2::text IS NULL OR region = $2)
          AND ($3::int IS NULL OR year = $3) AND ($4::text IS NULL OR township = $4)
          AND ($5::text IS NULL OR state = $5)
        ORDER BY ordered_at, refund_id LIMIT 1000
        """,
        person_id, region, year, township, state,
    )


async def refund_order(conn: asyncpg.Connection, refund_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM refund_order WHERE refund_id = $1{lock}", refund_id)


async def refund_history(conn: asyncpg.Connection, refund_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM refund_transition WHERE refund_id = $1 ORDER BY at", refund_id)


async def move_refund(conn: asyncpg.Connection, refund_id: UUID, from_state: str, to_state: str, actor: str,
                      note: str | None, now: datetime, *, recorded_by: str | None = None) -> None:
    await conn.execute("UPDATE refund_order SET state = $2, updated_at = $3 WHERE refund_id = $1",
                       refund_id, to_state, now)
    await conn.execute(
        "INSERT INTO refund_transition (refund_id, from_state, to_state, actor, note, at, recorded_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        refund_id, from_state, to_state, actor, note, now, recorded_by,
    )
