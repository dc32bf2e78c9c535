"""SQL of the subsidy service: people's statuses per region, enrollments (kind, event date, registration day),
payments, dues with revisions, the subsidy-line ledger and refund orders. Every write takes a whole batch in one
statement; a reassessment holds its person-years' locks (`lock_person_years`) until its transaction ends."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from services.subsidy.domain.dues import Due, Line
from shared.db import BatchUpsert, keep_text_sets, text_set_id
from shared.messages import EnrollmentEnded, EnrollmentRegistered, ReceiptAccepted, StatusChanged

Key = tuple[str, int]
Row = asyncpg.Record | Mapping[str, Any]  # a row as read, or as a test writes it

# One status set per person and region: a region's event replaces that region's set only.
PEOPLE = BatchUpsert(
    "person", (("person_id", "text"), ("region", "text"), ("township", "text"), ("village", "text"), ("statuses", "jsonb")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id", "region"),
    update={"township": None, "village": None, "statuses": None, "updated_at": None},
)
_REGISTERED_STAYS = "CASE WHEN EXCLUDED.state = 'ended' THEN enrollment.{0} ELSE EXCLUDED.{0} END"
ENROLLMENTS = BatchUpsert(
    "enrollment", (("person_id", "text"), ("year", "int"), ("region", "text"), ("township", "text"), ("village", "text"),
                   ("kind", "text"), ("state", "text"), ("ended_on", "date"), ("end_reason", "text"),
                   ("event_date", "date"), ("registered_on", "date"), ("enrolled_years", "jsonb"),
                   ("paid_back_years", "jsonb")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id", "year"),
    update={"region": None,
            "township": "coalesce(EXCLUDED.township, enrollment.township)",
            "village": "coalesce(EXCLUDED.village, enrollment.village)",
            # an ending says nothing of the kind, its event, the registration day or the history: those stay
            **{column: _REGISTERED_STAYS.format(column) for column in ("kind", "event_date", "registered_on",
                                                                        "enrolled_years", "paid_back_years")},
            "state": None, "ended_on": None, "end_reason": None, "updated_at": None},
)
PAYMENTS = BatchUpsert(
    "payment", (("receipt_no", "text"), ("person_id", "text"), ("year", "int"), ("region", "text"),
                ("amount_fen", "bigint"), ("paid_at", "timestamptz")),
    stamp=(("recorded_at", "timestamptz"),), conflict=("receipt_no",), returning=("receipt_no",),
)
DUES = BatchUpsert(
    "due", (("person_id", "text"), ("year", "int"), ("region", "text"), ("township", "text"), ("standard_fen", "bigint"),
            ("subsidy_fen", "bigint"), ("due_fen", "bigint"), ("refund_after_fen", "bigint"), ("reasons_id", "uuid"),
            ("lines", "jsonb"), ("revision", "int"), ("state", "text"), ("payer", "jsonb")),
    stamp=(("assessed_at", "timestamptz"),), conflict=("person_id", "year"),
    update=dict.fromkeys(("region", "township", "standard_fen", "subsidy_fen", "due_fen", "refund_after_fen", "reasons_id",
                          "lines", "revision", "state", "payer", "assessed_at")),
)
UNASSESSED = BatchUpsert(
    "unassessed", (("person_id", "text"), ("year", "int"), ("region", "text"), ("reason", "text")),
    stamp=(("at", "timestamptz"),), conflict=("person_id", "year"), update=dict.fromkeys(("region", "reason", "at")),
)


class DueRow(NamedTuple):
    """A person-year's current due as it is saved, with its revision and state (active or ended)."""
    person_id: str
    year: int
    region: str
    township: str | None
    due: Due
    revision: int
    state: str
    payer: dict[str, Any]  # PayerFacts as JSON: what the rules read about the person


class Unassessed(NamedTuple):
    """A person-year the rules could not judge, and why."""
    person_id: str
    year: int
    region: str
    reason: str


class NewRefund(NamedTuple):
    """A refund order as it is first saved (state ordered)."""
    refund_id: UUID
    person_id: str
    year: int
    region: str
    township: str | None
    funding_source: str | None
    amount_fen: int
    reason: str


@dataclass(frozen=True)
class Facts:
    """Everything known about a batch of person-years, each kind of fact by its key."""
    person: Mapping[str, Mapping[str, Row]]        # by person, then region (latest announced last): township,
                                                   # statuses
    enrollment: Mapping[Key, Row]                  # kind, state, ended_on, end_reason, event_date, registered_on,
                                                   # region, township
    payment: Mapping[Key, Row]                     # paid_fen, first_paid_at, region (of the latest receipt)
    ordered: Mapping[tuple[str, int, str], int]    # refunds ordered so far, by person, year and reason
    due: Mapping[Key, Row]                         # the current due row


async def save_people(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    """Each event replaces its region's set of the person; the last of each person and region in the batch
    wins: two would make the upsert touch a row twice, which PostgreSQL refuses, and the batch would fail on
    every redelivery."""
    latest = {(e.person_id, e.region): e for e in events}.values()
    await PEOPLE.execute(conn, [
        (e.person_id, e.region, e.township, e.village, json.dumps([s.model_dump(mode="json") for s in e.statuses]))
        for e in latest], now)


async def save_enrollments(conn: asyncpg.Connection, events: Sequence[EnrollmentRegistered | EnrollmentEnded],
                           now: datetime) -> None:
    """The last event of each person-year wins (one person's events arrive in order on one partition)."""
    latest = {(e.person_id, e.year): e for e in events}.values()
    await ENROLLMENTS.execute(conn, [
        (e.person_id, e.year, e.region, e.township, e.village, "general", "ended", e.ended_on, e.reason, None, None,
         "[]", "[]")
        if isinstance(e, EnrollmentEnded) else
        (e.person_id, e.year, e.region, e.township, e.village, e.kind, "registered", None, None, e.event_date,
         e.registered_on, json.dumps(e.enrolled_years), json.dumps(e.paid_back_years))
        for e in latest], now)


async def save_payments(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted], now: datetime) -> set[str]:
    """Each accepted receipt once, by its number (a replay under a new message id adds nothing); returns the
    receipt numbers not seen before."""
    rows = await PAYMENTS.fetch(conn, [(r.receipt_no, r.person_id, r.year, r.region, r.amount_fen, r.paid_at)
                                       for r in receipts], now)
    return {r["receipt_no"] for r in rows}


async def due_years(conn: asyncpg.Connection, people: Sequence[str]) -> list[Key]:
    rows = await conn.fetch("SELECT person_id, year FROM due WHERE person_id = ANY($1::text[])", list(people))
    return [(r["person_id"], r["year"]) for r in rows]


async def people_of_year(conn: asyncpg.Connection, year: int) -> list[str]:
    """Everyone the service knows (a status, or an enrollment for `year`), in ID order."""
    rows = await conn.fetch(
        "SELECT person_id FROM person UNION SELECT person_id FROM enrollment WHERE year = $1 ORDER BY 1", year)
    return [r["person_id"] for r in rows]


async def people_in(conn: asyncpg.Connection, region: str, year: int, *, whole_city: bool, after: str,
                    limit: int) -> list[str]:
    """The next `limit` people after `after` (ID order) the service knows in `region` for `year`: listed there
    (a status) or enrolled there for the year; `whole_city`: in any county of a city-wide pooling region too.
    A page at a time, each branch read along its primary key, so a region of millions streams in chunks."""
    place = "(region = $1 OR ($2 AND left(region, 4) = left($1, 4)))"
    rows = await conn.fetch(
        f"""
        (SELECT DISTINCT person_id FROM person WHERE {place} AND person_id > $4 ORDER BY person_id LIMIT $5)
        UNION
        (SELECT person_id FROM enrollment WHERE year = $3 AND {place} AND person_id > $4 ORDER BY person_id LIMIT $5)
        ORDER BY 1 LIMIT $5
        """,
        region, whole_city, year, after, limit)
    return [r["person_id"] for r in rows]


DUE_LOCKS = 0x5B5D  # the advisory-lock class of subsidy's reassessments (two-key locks: apart from one-key ones)


async def lock_person_years(conn: asyncpg.Connection, keys: Sequence[Key]) -> None:
    """Hold every person-year of the batch until this transaction ends, in one round trip: a reassessment of
    one of them elsewhere (another consumer, another instance) waits for this one's commit and then reads
    its due, so no two transactions both turn revision n into n+1.

    One lock per person covers all their years: a consumed batch then holds at most one lock per record,
    and the server's lock table, shared by every transaction of every service, is max_locks_per_transaction
    × max_connections entries (measured at max_connections=100: six transactions of 2,000 locks at once fit,
    eight ran out of shared memory). The locks are taken in the order of their ids, the same in every
    transaction, so two batches sharing people cannot deadlock."""
    await conn.execute(
        """
        SELECT count(pg_advisory_xact_lock($2, ordered.id))
        FROM (SELECT DISTINCT hashtext(p) AS id FROM unnest($1::text[]) AS p ORDER BY id) AS ordered
        """,
        sorted({k[0] for k in keys}), DUE_LOCKS,
    )


async def load_facts(conn: asyncpg.Connection, keys: Sequence[Key]) -> Facts:
    """Everything known about each person-year, one query per kind of fact for the whole batch."""
    people = sorted({k[0] for k in keys})
    ps, ys = [k[0] for k in keys], [k[1] for k in keys]
    keyed = "JOIN unnest($1::text[], $2::int[]) AS k(p, y) ON t.person_id = k.p AND t.year = k.y"
    statuses: dict[str, dict[str, Row]] = {}
    for r in await conn.fetch("SELECT * FROM person WHERE person_id = ANY($1::text[]) "
                              "ORDER BY person_id, updated_at, region", people):
        statuses.setdefault(r["person_id"], {})[r["region"]] = r
    return Facts(
        person=statuses,
        enrollment={(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"SELECT t.* FROM enrollment t {keyed}", ps, ys)},
        payment={(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"""SELECT t.person_id, t.year, sum(t.amount_fen)::bigint AS paid_fen,
                       min(t.paid_at) FILTER (WHERE t.amount_fen > 0) AS first_paid_at,
                       (array_agg(t.region ORDER BY t.paid_at DESC))[1] AS region
                FROM payment t {keyed} GROUP BY t.person_id, t.year""", ps, ys)},
        ordered={(r["person_id"], r["year"], r["reason"]): r["amount_fen"] for r in await conn.fetch(
            f"SELECT t.person_id, t.year, t.reason, sum(t.amount_fen)::bigint AS amount_fen "
            f"FROM refund_order t {keyed} GROUP BY 1, 2, 3", ps, ys)},
        due={(r["person_id"], r["year"]): r for r in await conn.fetch(
            f"SELECT t.* FROM due t {keyed}", ps, ys)},
    )


async def save_dues(conn: asyncpg.Connection, rows: Sequence[DueRow], now: datetime) -> None:
    """Upsert dues and replace their subsidy lines — one statement each for the whole batch."""
    if not rows:
        return
    await keep_text_sets(conn, (r.due.reasons for r in rows))
    await DUES.execute(conn, [
        (r.person_id, r.year, r.region, r.township, r.due.standard_fen, r.due.subsidy_fen, r.due.due_fen,
         r.due.refund_after_fen, text_set_id(r.due.reasons),
         json.dumps([line_json(x) for x in r.due.lines]), r.revision, r.state, json.dumps(r.payer))
        for r in rows], now)
    people, years = [r.person_id for r in rows], [r.year for r in rows]
    await conn.execute(
        "DELETE FROM subsidy_line l USING unnest($1::text[], $2::int[]) AS k(p, y) WHERE l.person_id = k.p AND l.year = k.y",
        people, years,
    )
    lines = [(r.person_id, r.year, r.region, r.township, category, amount, source, mode)
             for r in rows for (category, amount, source, mode) in r.due.lines]
    if lines:
        await conn.copy_records_to_table(
            "subsidy_line", records=lines,
            columns=("person_id", "year", "region", "township", "category", "amount_fen", "funding_source", "mode"),
        )


async def clear_unassessed(conn: asyncpg.Connection, keys: Sequence[Key]) -> None:
    """Person-years the rules judged after all: no longer kept as unjudgeable (whether their due was rewritten
    or was already saved as it is)."""
    if keys:
        await conn.execute(
            "DELETE FROM unassessed u USING unnest($1::text[], $2::int[]) AS k(p, y) "
            "WHERE u.person_id = k.p AND u.year = k.y", [p for p, _ in keys], [y for _, y in keys])


def line_json(line: Line) -> dict[str, Any]:
    category, amount, source, mode = line
    return {"category": category, "amount_fen": amount, "funding_source": source, "mode": mode}


async def save_unassessed(conn: asyncpg.Connection, rows: Sequence[Unassessed], now: datetime) -> None:
    """Person-years the rules could not judge, with the reason."""
    await UNASSESSED.execute(conn, rows, now)


async def save_refund_orders(conn: asyncpg.Connection, orders: Sequence[NewRefund], now: datetime) -> None:
    if not orders:
        return
    await conn.copy_records_to_table(
        "refund_order", records=[(*o, "ordered", now, now) for o in orders],
        columns=("refund_id", "person_id", "year", "region", "township", "funding_source", "amount_fen", "reason",
                 "state", "ordered_at", "updated_at"),
    )
    await conn.copy_records_to_table(
        "refund_transition", records=[(o.refund_id, None, "ordered", "subsidy", o.reason, now) for o in orders],
        columns=("refund_id", "from_state", "to_state", "actor", "note", "at"),
    )


async def current_due(conn: asyncpg.Connection, person_id: str, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT d.*, t.texts AS reasons FROM due d JOIN text_set t ON t.id = d.reasons_id "
                                "WHERE d.person_id = $1 AND d.year = $2", person_id, year)


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
