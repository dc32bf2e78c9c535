"""SQL of reconciliation: loading a season for a run, saving runs and discrepancies, imports, reports."""
from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import asyncpg

from services.reconciliation.domain import discrepancies as d
from services.reconciliation.domain.files import AgentRow, Parsed, SettlementRow, TargetRow
from services.reconciliation.domain.progress import UNPLACED, PlaceCount
from shared.db import BatchUpsert
from shared.resident_id import person_key

# Enrolled (已参保): paid, or registered with nothing to pay (fully subsidised); never an ended one.
ENROLLED_SQL = ("(e.state = 'paid' OR (e.state = 'registered' AND d.due_fen = 0 AND d.state = 'active'))")


# Refunds that give back money paid beyond the due: they close an amount difference. A 先缴后补 refund
# (refund_after_subsidy) does not: the person owed the full amount, the township pays the subsidy back.
OVERPAYMENT_REFUNDS = ("duplicate_payment", "overpaid")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _rows_like(shape: type) -> type[asyncpg.Record]:
    """A record class whose columns (selected in `shape`'s field order) read as `shape`'s attributes.

    The pure core then takes database rows in place of its NamedTuples, so a million receipts are not
    copied into new objects before matching; `itemgetter` keeps each attribute read at C speed."""
    fields = {name: property(itemgetter(i)) for i, name in enumerate(shape._fields)}
    return type(f"{shape.__name__}Row", (asyncpg.Record,), fields)


ReceiptRow, BookingRow = _rows_like(d.Receipt), _rows_like(d.Booking)
SettlementLineRow, AgentLineRow = _rows_like(d.SettlementLine), _rows_like(d.AgentLine)


def _lines(text: str) -> tuple[d.SubsidyLine, ...]:
    if text == "[]":
        return ()
    return tuple(d.SubsidyLine(x["category"], x["amount_fen"], x["funding_source"], x["mode"]) for x in json.loads(text))


async def load_season(conn: asyncpg.Connection, region: str, year: int, timezone: str) -> d.Season:
    """Everything held for the region-year, in the pure core's shapes (a few set-based queries)."""
    receipts = await conn.fetch(
        "SELECT receipt_no, person_id, year, amount_fen, channel, agent_id, "
        "(paid_at AT TIME ZONE $3)::date AS paid_on, original_receipt_no FROM receipt WHERE region = $1 AND year = $2",
        region, year, timezone, record_class=ReceiptRow)
    bookings = await conn.fetch(
        "SELECT receipt_no, person_id, year, amount_fen FROM enrollment_payment WHERE region = $1 AND year = $2",
        region, year, record_class=BookingRow)
    dues = await conn.fetch(
        "SELECT person_id, year, due_fen, state, lines::text FROM due WHERE region = $1 AND year = $2", region, year)
    settlement = await conn.fetch(
        "SELECT bank, settlement_ref, line_key, channel, pay_date, receipt_no, amount_fen FROM settlement_line "
        "WHERE region = $1", region, record_class=SettlementLineRow)
    agents = await conn.fetch(
        "SELECT agent_id, line_ref, person_id, year, receipt_no, amount_fen, collected_on, deposited_on "
        "FROM agent_collection WHERE region = $1 AND year = $2", region, year, record_class=AgentLineRow)
    # The region's own status rows only: a subsidy line of this region needs this region's certification.
    statuses = await conn.fetch("SELECT person_id, statuses::text FROM person_status WHERE region = $1", region)
    refunds = await conn.fetch(
        "SELECT person_id, year, sum(amount_fen) AS fen FROM refund_order WHERE region = $1 AND year = $2 "
        "AND reason = ANY($3::text[]) GROUP BY person_id, year", region, year, list(OVERPAYMENT_REFUNDS))
    return d.Season(
        region=region, year=year, receipts=receipts, bookings=bookings,
        dues=[d.Due(r[0], r[1], r[2], r[3], _lines(r[4])) for r in dues],
        settlement=settlement, agent_lines=agents,
        statuses={r[0]: [d.StatusSpan(s["category"], date.fromisoformat(s["certified_on"]), _date(s.get("ended_on")))
                         for s in json.loads(r[1])] for r in statuses},
        refunds_ordered={(r["person_id"], r["year"]): int(r["fen"]) for r in refunds},
    )


DISCREPANCY = BatchUpsert(
    "discrepancy",
    (("id", "uuid"), ("kind", "text"), ("subject", "text"), ("person_id", "text"), ("receipt_no", "text"),
     ("amount_fen", "bigint"), ("detail", "text")),
    stamp=(("region", "text"), ("year", "int"), ("first_run", "bigint"), ("last_run", "bigint"), ("present", "boolean"),
           ("found_at", "timestamptz")),
    conflict=("id",),
    update={"last_run": None, "present": "true", "amount_fen": None, "detail": None, "receipt_no": None},
    returning=("id", "first_run"))


async def lock_region_year(conn: asyncpg.Connection, region: str, year: int) -> None:
    """Hold the region-year's run lock until the transaction ends: its runs never overlap."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(f"reconcile:{region}:{year}".encode()))


async def save_run(conn: asyncpg.Connection, *, region: str, year: int, day: date, trigger: str,
                   started_at: datetime, finished_at: datetime, found: Sequence[d.Discrepancy],
                   counts: dict[str, int], fingerprint: str) -> tuple[int, set[UUID]]:
    """Record the run and its findings; return the run id and the ids found for the first time."""
    run_id = await conn.fetchval(
        "INSERT INTO run (region, year, day, trigger, started_at, finished_at, counts, found, new, fingerprint) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, 0, $9) RETURNING id",
        region, year, day, trigger, started_at, finished_at, json.dumps(counts), len(found), fingerprint)
    rows = await DISCREPANCY.fetch(
        conn, [(x.id(region, year), str(x.kind), x.subject, x.person_id, x.receipt_no, x.amount_fen, x.detail)
               for x in found], region, year, run_id, run_id, True, finished_at)
    new = {r["id"] for r in rows if r["first_run"] == run_id}
    await conn.execute("UPDATE discrepancy SET present = false WHERE region = $1 AND year = $2 AND last_run <> $3 "
                       "AND present", region, year, run_id)
    await conn.execute(
        """
        UPDATE discrepancy x SET township = COALESCE(b.township, e.township), village = COALESCE(b.village, e.village)
        FROM discrepancy y LEFT JOIN baseline_person b ON b.person_id = y.person_id
            LEFT JOIN enrollment_year e ON e.person_id = y.person_id AND e.year = y.year
        WHERE x.id = y.id AND x.first_run = $1 AND x.person_id IS NOT NULL
        """, run_id)
    await conn.execute("UPDATE run SET new = $2 WHERE id = $1", run_id, len(new))
    return run_id, new


async def townships_of(conn: asyncpg.Connection, ids: set[UUID]) -> dict[UUID, str | None]:
    """The township recorded with each of these discrepancies."""
    if not ids:
        return {}
    rows = await conn.fetch("SELECT id, township FROM discrepancy WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"]: r["township"] for r in rows}


async def discrepancy_region(conn: asyncpg.Connection, discrepancy_id: UUID) -> str | None:
    return await conn.fetchval("SELECT region FROM discrepancy WHERE id = $1", discrepancy_id)


async def discrepancies(conn: asyncpg.Connection, region: str, year: int, *, status: str | None = "open",
                        present_only: bool = True, kind: str | None = None, limit: int | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM discrepancy WHERE region = $1 AND year = $2 AND ($3::text IS NULL OR status = $3) "
        "AND (NOT $4 OR present) AND ($5::text IS NULL OR kind = $5) ORDER BY kind, township NULLS LAST, subject "
        "LIMIT $6", region, year, status, present_only, kind, limit)


async def resolve(conn: asyncpg.Connection, discrepancy_id: UUID, note: str, by: str, now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE discrepancy SET status = 'resolved', resolved_note = $2, resolved_by = $3, resolved_at = $4 "
        "WHERE id = $1 RETURNING *", discrepancy_id, note, by, now)


async def runs(conn: asyncpg.Connection, region: str, year: int, limit: int = 20) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM run WHERE region = $1 AND year = $2 ORDER BY id DESC LIMIT $3",
                            region, year, limit)


async def regions_with_data(conn: asyncpg.Connection, year: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT region FROM receipt WHERE year = $1 UNION SELECT region FROM enrollment_year WHERE year = $1 "
        "UNION SELECT region FROM agent_collection WHERE year = $1 ORDER BY 1", year)
    return [r["region"] for r in rows]


# ------------------------------------------------------------------ imports

SETTLEMENT_LINE = BatchUpsert(
    "settlement_line",
    (("settlement_ref", "text"), ("line_key", "text"), ("settled_on", "date"), ("region", "text"), ("channel", "text"),
     ("pay_date", "date"), ("receipt_no", "text"), ("amount_fen", "bigint")),
    stamp=(("bank", "text"), ("file_id", "bigint")), conflict=("bank", "settlement_ref", "line_key"),
    update=dict.fromkeys(("settled_on", "region", "channel", "pay_date", "receipt_no", "amount_fen", "file_id")))
AGENT_COLLECTION = BatchUpsert(
    "agent_collection",
    (("agent_id", "text"), ("line_ref", "text"), ("region", "text"), ("year", "int"), ("township", "text"),
     ("village", "text"), ("person_id", "text"), ("receipt_no", "text"), ("amount_fen", "bigint"),
     ("collected_on", "date"), ("deposited_on", "date"), ("deposit_ref", "text")),
    stamp=(("file_id", "bigint"),), conflict=("agent_id", "line_ref"),
    update=dict.fromkeys(("region", "year", "township", "village", "person_id", "receipt_no", "amount_fen",
                          "collected_on", "deposited_on", "deposit_ref", "file_id")))
TOWNSHIP_TARGET = BatchUpsert(
    "township_target", (("region", "text"), ("year", "int"), ("township", "text"), ("target_people", "int")),
    conflict=("region", "year", "township"), update={"target_people": None})


async def start_import(conn: asyncpg.Connection, kind: str, name: str, text: str, parsed: Parsed[Any],
                       now: datetime) -> tuple[int, bool]:
    """The file's row (new or, for the same bytes sent again, the earlier one) and whether it is new."""
    return await record_import(conn, kind, name, hashlib.sha256(text.encode()).hexdigest(), parsed, now)


async def record_import(conn: asyncpg.Connection, kind: str, name: str, sha: str, parsed: Parsed[Any],
                        now: datetime) -> tuple[int, bool]:
    """An import of `kind` identified by `sha`: its row (or the earlier one of the same `sha`) and whether it is
    new; the rejected lines kept with their reasons."""
    file_id = await conn.fetchval(
        "INSERT INTO import_file (kind, name, sha256, lines_in, accepted, rejected, imported_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, sha256) DO NOTHING RETURNING id",
        kind, name, sha, parsed.lines_in, len(parsed.rows), len(parsed.rejected), now)
    if file_id is None:
        return await conn.fetchval("SELECT id FROM import_file WHERE kind = $1 AND sha256 = $2", kind, sha), False
    if parsed.rejected:
        await conn.executemany("INSERT INTO import_rejection (file_id, line_no, raw, reason) VALUES ($1, $2, $3, $4)",
                               [(file_id, n, raw, reason) for n, raw, reason in parsed.rejected])
    return file_id, True


async def save_settlement(conn: asyncpg.Connection, bank: str, file_id: int, rows: Sequence[SettlementRow]) -> None:
    await SETTLEMENT_LINE.execute(conn, [(x.settlement_ref, x.line_key, x.settled_on, x.region, x.channel, x.pay_date,
                                          x.receipt_no, x.amount_fen) for x in rows], bank, file_id)


async def save_agent_lines(conn: asyncpg.Connection, file_id: int, rows: Sequence[AgentRow]) -> None:
    await AGENT_COLLECTION.execute(conn, [(x.agent_id, x.line_ref, x.region, x.year, x.township, x.village, x.person_id,
                                           x.receipt_no, x.amount_fen, x.collected_on, x.deposited_on, x.deposit_ref)
                                          for x in rows], file_id)


async def save_targets(conn: asyncpg.Connection, rows: Sequence[TargetRow]) -> None:
    await TOWNSHIP_TARGET.execute(conn, [(x.region, x.year, x.township, x.target_people) for x in rows])


# ------------------------------------------------------------------ progress and reports

async def paid_villages(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT township, village, count(*) FILTER (WHERE paid_total_fen > 0) AS paid_people, "
        "sum(paid_total_fen) AS paid_fen FROM enrollment_year WHERE region = $1 AND year = $2 "
        "GROUP BY township, village ORDER BY township NULLS LAST, village NULLS LAST", region, year)


async def place_counts(conn: asyncpg.Connection, region: str, year: int) -> list[PlaceCount]:
    rows = await conn.fetch(
        f"""
        SELECT COALESCE(t, $3) AS township, COALESCE(v, $3) AS village, sum(b)::int AS baseline,
               sum(en)::int AS enrolled, sum(pd)::int AS paid, sum(fen)::bigint AS paid_fen
        FROM (
            SELECT township AS t, village AS v, 1 AS b, 0 AS en, 0 AS pd, 0 AS fen
            FROM baseline_person WHERE region = $1
            UNION ALL
            SELECT COALESCE(bp.township, e.township), COALESCE(bp.village, e.village), 0,
                   ({ENROLLED_SQL})::int, (e.state <> 'ended' AND e.paid_total_fen > 0)::int,
                   CASE WHEN e.state <> 'ended' THEN e.paid_total_fen ELSE 0 END
            FROM enrollment_year e LEFT JOIN baseline_person bp ON bp.person_id = e.person_id
                LEFT JOIN due d ON d.person_id = e.person_id AND d.year = e.year
            WHERE e.region = $1 AND e.year = $2
        ) x GROUP BY 1, 2
        """, region, year, UNPLACED)
    return [PlaceCount(r["township"], r["village"], r["baseline"], r["enrolled"], r["paid"], int(r["paid_fen"]))
            for r in rows]


async def targets(conn: asyncpg.Connection, region: str, year: int) -> dict[str, int]:
    rows = await conn.fetch("SELECT township, target_people FROM township_target WHERE region = $1 AND year = $2",
                            region, year)
    return {r["township"]: r["target_people"] for r in rows}


PROGRESS_SNAPSHOT = BatchUpsert(
    "progress_snapshot",
    (("township", "text"), ("village", "text"), ("baseline_people", "int"), ("enrolled_people", "int"),
     ("paid_people", "int"), ("paid_fen", "bigint")),
    stamp=(("region", "text"), ("year", "int"), ("week", "date"), ("taken_at", "timestamptz")),
    conflict=("region", "year", "week", "township", "village"),
    update=dict.fromkeys(("baseline_people", "enrolled_people", "paid_people", "paid_fen", "taken_at")))


async def save_snapshot(conn: asyncpg.Connection, region: str, year: int, week: date, counts: Sequence[PlaceCount],
                        now: datetime) -> None:
    await PROGRESS_SNAPSHOT.execute(conn, [(c.township, c.village, c.baseline_people, c.enrolled_people, c.paid_people,
                                            c.paid_fen) for c in counts], region, year, week, now)


async def snapshots(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT week, township, sum(baseline_people)::int AS baseline_people, "
        "sum(enrolled_people)::int AS enrolled_people, sum(paid_people)::int AS paid_people, "
        "sum(paid_fen)::bigint AS paid_fen FROM progress_snapshot WHERE region = $1 AND year = $2 "
        "GROUP BY week, township ORDER BY week, township", region, year)


async def vulnerable_people(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """Everyone with a status certified by the region's departments (the region's own status row, whatever
    another region lists), with place, name and whether enrolled for the year."""
    return await conn.fetch(
        f"""
        SELECT s.person_id, s.statuses::text AS statuses, COALESCE(b.township, s.township, e.township) AS township,
               COALESCE(b.village, s.village, e.village) AS village, b.name,
               COALESCE({ENROLLED_SQL}, false) AS enrolled
        FROM person_status s LEFT JOIN baseline_person b ON b.person_id = s.person_id AND b.region = s.region
            LEFT JOIN enrollment_year e ON e.person_id = s.person_id AND e.year = $2
            LEFT JOIN due d ON d.person_id = s.person_id AND d.year = $2
        WHERE s.region = $1
        """, region, year)


async def transfers(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """Subsidy to transfer per funding source, township and mode, for the enrolled."""
    return await conn.fetch(
        f"""
        SELECT l->>'funding_source' AS funding_source, COALESCE(b.township, e.township, $3) AS township,
               l->>'mode' AS mode, count(*)::int AS people, sum((l->>'amount_fen')::bigint)::bigint AS amount_fen
        FROM due d JOIN enrollment_year e ON e.person_id = d.person_id AND e.year = d.year
            LEFT JOIN baseline_person b ON b.person_id = d.person_id
            CROSS JOIN LATERAL jsonb_array_elements(d.lines) AS l
        WHERE d.region = $1 AND d.year = $2 AND {ENROLLED_SQL}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """, region, year, UNPLACED)


async def refunds(conn: asyncpg.Connection, region: str, year: int) -> list[asyncpg.Record]:
    """Refunds owed: ordered by subsidy, or found by a run (paid twice); paid once a reversal of that amount exists."""
    return await conn.fetch(
        """
        WITH owed AS (
            SELECT refund_id::text AS id, 'ordered' AS origin, person_id, year, amount_fen, reason, funding_source,
                   township FROM refund_order WHERE region = $1 AND year = $2
            UNION ALL
            SELECT id::text, 'detected', person_id, year, amount_fen, 'duplicate_payment', NULL, township
            FROM discrepancy WHERE region = $1 AND year = $2 AND kind = 'paid_twice' AND present
        )
        SELECT o.*, CASE WHEN EXISTS (SELECT 1 FROM receipt r WHERE r.person_id = o.person_id AND r.year = o.year
                                       AND r.amount_fen = -o.amount_fen) THEN 'paid' ELSE o.origin END AS state
        FROM owed o ORDER BY township NULLS LAST, person_id
        """, region, year)


async def person_view(conn: asyncpg.Connection, person_id: str, region: str) -> dict[str, Any] | None:
    """What reconciliation holds on one person in `region`; None when the region knows nothing of them."""
    base = await conn.fetchrow("SELECT region, township, village, name FROM baseline_person "
                               "WHERE person_id = $1 AND region = $2", person_id, region)
    years = await conn.fetch("SELECT year, region, state, kind, paid_total_fen, township, village FROM enrollment_year "
                             "WHERE person_id = $1 AND region = $2 ORDER BY year", person_id, region)
    receipts = await conn.fetch("SELECT receipt_no, year, amount_fen, channel, paid_at, original_receipt_no "
                                "FROM receipt WHERE person_id = $1 AND region = $2 ORDER BY paid_at", person_id, region)
    dues = await conn.fetch("SELECT year, due_fen, refund_after_fen, state, lines FROM due "
                            "WHERE person_id = $1 AND region = $2 ORDER BY year", person_id, region)
    statuses = await conn.fetchval("SELECT statuses FROM person_status WHERE person_id = $1 AND region = $2",
                                   person_id, region)
    found = await conn.fetch("SELECT id, kind, receipt_no, amount_fen, detail, status, present FROM discrepancy "
                             "WHERE person_id = $1 AND region = $2 ORDER BY found_at", person_id, region)
    # refused receipts travel with the person's pseudonymous key only: the clerk asking by ID sees them here
    refused = await conn.fetch("SELECT receipt_no, year, amount_fen, reason_code, reason, occurred_at "
                               "FROM receipt_rejected WHERE person_key = $1 AND region = $2 ORDER BY occurred_at",
                               person_key(person_id), region)
    view = {"baseline": dict(base) if base else None, "enrollments": [dict(r) for r in years],
            "receipts": [dict(r) for r in receipts], "refused_receipts": [dict(r) for r in refused],
            "dues": [dict(r) for r in dues], "statuses": statuses or [], "discrepancies": [dict(r) for r in found]}
    return view if any(view.values()) else None


async def regions_under(conn: asyncpg.Connection, prefix: str, year: int) -> list[str]:
    """Every region code starting with `prefix` (a city's first four digits) that holds anything for the year:
    the counties of a city-wide pooling region whose data arrived under their own codes. (A range of six-digit
    codes, not LIKE, so the tables' region indexes serve it.)"""
    rows = await conn.fetch(
        """
        SELECT region FROM baseline_person WHERE region BETWEEN $1 AND $2
        UNION SELECT region FROM enrollment_year WHERE region BETWEEN $1 AND $2 AND year = $3
        UNION SELECT region FROM person_status WHERE region BETWEEN $1 AND $2
        UNION SELECT region FROM prior_enrollment WHERE region BETWEEN $1 AND $2 AND year = $3 - 1
        UNION SELECT region FROM township_target WHERE region BETWEEN $1 AND $2 AND year = $3
        ORDER BY 1
        """, prefix + "00", prefix + "99", year)
    return [r["region"] for r in rows]
