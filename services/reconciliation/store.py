"""SQL of reconciliation: loading a season for a run, saving runs and discrepancies, imports, reports."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from operator import itemgetter
from uuid import UUID

import asyncpg

from services.reconciliation.domain import discrepancies as d
from services.reconciliation.domain.files import AgentRow, Parsed, SettlementRow, TargetRow
from services.reconciliation.domain.progress import UNPLACED, PlaceCount

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


async def save_run(conn: asyncpg.Connection, *, region: str, year: int, day: date, trigger: str,
                   started_at: datetime, finished_at: datetime, found: Sequence[d.Discrepancy],
                   counts: dict[str, int], fingerprint: str) -> tuple[int, set[UUID]]:
    """Record the run and its findings; return the run id and the ids found for the first time."""
    run_id = await conn.fetchval(
        "INSERT INTO run (region, year, day, trigger, started_at, finished_at, counts, found, new, fingerprint) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, 0, $9) RETURNING id",
        region, year, day, trigger, started_at, finished_at, json.dumps(counts), len(found), fingerprint)
    rows = await conn.fetch(
        """
        INSERT INTO discrepancy (id, region, year, kind, subject, person_id, receipt_no, amount_fen, detail,
                                 first_run, last_run, present, found_at)
        SELECT i, $1, $2, k, s, p, r, a, t, $3, $3, true, $4
        FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])
            AS u(i, k, s, p, r, a, t)
        ON CONFLICT (id) DO UPDATE SET last_run = EXCLUDED.last_run, present = true,
            amount_fen = EXCLUDED.amount_fen, detail = EXCLUDED.detail, receipt_no = EXCLUDED.receipt_no
        RETURNING id, first_run = $3 AS is_new
        """,
        region, year, run_id, finished_at, [x.id(region, year) for x in found], [str(x.kind) for x in found],
        [x.subject for x in found], [x.person_id for x in found], [x.receipt_no for x in found],
        [x.amount_fen for x in found], [x.detail for x in found])
    new = {r["id"] for r in rows if r["is_new"]}
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


async def discrepancies(conn: asyncpg.Connection, region: str, year: int, *, status: str | None = "open",
                        present_only: bool = True, kind: str | None = None, limit: int | None = None) -> list:
    return await conn.fetch(
        "SELECT * FROM discrepancy WHERE region = $1 AND year = $2 AND ($3::text IS NULL OR status = $3) "
        "AND (NOT $4 OR present) AND ($5::text IS NULL OR kind = $5) ORDER BY kind, township NULLS LAST, subject "
        "LIMIT $6", region, year, status, present_only, kind, limit)


async def resolve(conn: asyncpg.Connection, discrepancy_id: UUID, note: str, by: str, now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE discrepancy SET status = 'resolved', resolved_note = $2, resolved_by = $3, resolved_at = $4 "
        "WHERE id = $1 RETURNING *", discrepancy_id, note, by, now)


async def runs(conn: asyncpg.Connection, region: str, year: int, limit: int = 20) -> list:
    return await conn.fetch("SELECT * FROM run WHERE region = $1 AND year = $2 ORDER BY id DESC LIMIT $3",
                            region, year, limit)


async def regions_with_data(conn: asyncpg.Connection, year: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT region FROM receipt WHERE year = $1 UNION SELECT region FROM enrollment_year WHERE year = $1 "
        "UNION SELECT region FROM agent_collection WHERE year = $1 ORDER BY 1", year)
    return [r["region"] for r in rows]


# ------------------------------------------------------------------ imports

async def _start_import(conn: asyncpg.Connection, kind: str, name: str, text: str, parsed: Parsed,
                        now: datetime) -> tuple[int, bool]:
    """The file's row (new or, for the same bytes sent again, the earlier one) and whether it is new."""
    sha = hashlib.sha256(text.encode()).hexdigest()
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


def import_summary(file_id: int, new: bool, parsed: Parsed) -> dict:
    return {"file_id": file_id, "already_imported": not new, "lines_in": parsed.lines_in,
            "accepted": len(parsed.rows), "rejected": len(parsed.rejected),
            "rejections": [{"line": n, "reason": reason} for n, _, reason in parsed.rejected]}


async def import_settlement(conn: asyncpg.Connection, bank: str, name: str, text: str,
                            parsed: Parsed[SettlementRow], now: datetime) -> dict:
    file_id, new = await _start_import(conn, "bank_settlement", name, text, parsed, now)
    if new and parsed.rows:
        rows = parsed.rows
        await conn.execute(
            """
            INSERT INTO settlement_line (bank, settlement_ref, line_key, settled_on, region, channel, pay_date,
                                         receipt_no, amount_fen, file_id)
            SELECT $1, s, k, o, r, c, p, n, a, $2 FROM unnest($3::text[], $4::text[], $5::date[], $6::text[],
                $7::text[], $8::date[], $9::text[], $10::bigint[]) AS u(s, k, o, r, c, p, n, a)
            ON CONFLICT (bank, settlement_ref, line_key) DO UPDATE SET settled_on = EXCLUDED.settled_on,
                region = EXCLUDED.region, channel = EXCLUDED.channel, pay_date = EXCLUDED.pay_date,
                receipt_no = EXCLUDED.receipt_no, amount_fen = EXCLUDED.amount_fen, file_id = EXCLUDED.file_id
            """,
            bank, file_id, [x.settlement_ref for x in rows], [x.line_key for x in rows],
            [x.settled_on for x in rows], [x.region for x in rows], [x.channel for x in rows],
            [x.pay_date for x in rows], [x.receipt_no for x in rows], [x.amount_fen for x in rows])
    return import_summary(file_id, new, parsed)


async def import_agent_deposits(conn: asyncpg.Connection, name: str, text: str, parsed: Parsed[AgentRow],
                                now: datetime) -> dict:
    file_id, new = await _start_import(conn, "agent_deposit", name, text, parsed, now)
    if new and parsed.rows:
        rows = parsed.rows
        await conn.execute(
            """
            INSERT INTO agent_collection (agent_id, line_ref, region, year, township, village, person_id, receipt_no,
                                          amount_fen, collected_on, deposited_on, deposit_ref, file_id)
            SELECT g, l, r, y, t, v, p, n, a, c, o, f, $1 FROM unnest($2::text[], $3::text[], $4::text[], $5::int[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::date[], $12::date[], $13::text[])
                AS u(g, l, r, y, t, v, p, n, a, c, o, f)
            ON CONFLICT (agent_id, line_ref) DO UPDATE SET region = EXCLUDED.region, year = EXCLUDED.year,
                township = EXCLUDED.township, village = EXCLUDED.village, person_id = EXCLUDED.person_id,
                receipt_no = EXCLUDED.receipt_no, amount_fen = EXCLUDED.amount_fen,
                collected_on = EXCLUDED.collected_on, deposited_on = EXCLUDED.deposited_on,
                deposit_ref = EXCLUDED.deposit_ref, file_id = EXCLUDED.file_id
            """,
            file_id, [x.agent_id for x in rows], [x.line_ref for x in rows], [x.region for x in rows],
            [x.year for x in rows], [x.township for x in rows], [x.village for x in rows],
            [x.person_id for x in rows], [x.receipt_no for x in rows], [x.amount_fen for x in rows],
            [x.collected_on for x in rows], [x.deposited_on for x in rows], [x.deposit_ref for x in rows])
    return import_summary(file_id, new, parsed)


async def import_targets(conn: asyncpg.Connection, name: str, text: str, parsed: Parsed[TargetRow],
                         now: datetime) -> dict:
    file_id, new = await _start_import(conn, "township_target", name, text, parsed, now)
    if new and parsed.rows:
        rows = parsed.rows
        await conn.execute(
            "INSERT INTO township_target (region, year, township, target_people) "
            "SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[]) "
            "ON CONFLICT (region, year, township) DO UPDATE SET target_people = EXCLUDED.target_people",
            [x.region for x in rows], [x.year for x in rows], [x.township for x in rows],
            [x.target_people for x in rows])
    return import_summary(file_id, new, parsed)


# ------------------------------------------------------------------ progress and reports

async def legacy_paid_villages(conn: asyncpg.Connection, region: str, year: int) -> list:
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


async def save_snapshot(conn: asyncpg.Connection, region: str, year: int, week: date, counts: Sequence[PlaceCount],
                        now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO progress_snapshot (region, year, week, township, village, baseline_people, enrolled_people,
                                       paid_people, paid_fen, taken_at)
        SELECT $1, $2, $3, t, v, b, e, p, f, $4 FROM unnest($5::text[], $6::text[], $7::int[], $8::int[], $9::int[],
                                                             $10::bigint[]) AS u(t, v, b, e, p, f)
        ON CONFLICT (region, year, week, township, village) DO UPDATE SET baseline_people = EXCLUDED.baseline_people,
            enrolled_people = EXCLUDED.enrolled_people, paid_people = EXCLUDED.paid_people,
            paid_fen = EXCLUDED.paid_fen, taken_at = EXCLUDED.taken_at
        """,
        region, year, week, now, [c.township for c in counts], [c.village for c in counts],
        [c.baseline_people for c in counts], [c.enrolled_people for c in counts], [c.paid_people for c in counts],
        [c.paid_fen for c in counts])


async def snapshots(conn: asyncpg.Connection, region: str, year: int) -> list:
    return await conn.fetch(
        "SELECT week, township, sum(baseline_people)::int AS baseline_people, "
        "sum(enrolled_people)::int AS enrolled_people, sum(paid_people)::int AS paid_people, "
        "sum(paid_fen)::bigint AS paid_fen FROM progress_snapshot WHERE region = $1 AND year = $2 "
        "GROUP BY week, township ORDER BY week, township", region, year)


async def vulnerable_people(conn: asyncpg.Connection, region: str, year: int) -> list:
    """Everyone with a certified status in the region, with place, name and whether enrolled for the year."""
    return await conn.fetch(
        f"""
        SELECT s.person_id, s.statuses::text AS statuses, COALESCE(b.township, s.township, e.township) AS township,
               COALESCE(b.village, s.village, e.village) AS village, b.name,
               COALESCE({ENROLLED_SQL}, false) AS enrolled
        FROM person_status s LEFT JOIN baseline_person b ON b.person_id = s.person_id
            LEFT JOIN enrollment_year e ON e.person_id = s.person_id AND e.year = $2
            LEFT JOIN due d ON d.person_id = s.person_id AND d.year = $2
        WHERE s.region = $1
        """, region, year)


async def transfers(conn: asyncpg.Connection, region: str, year: int) -> list:
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


async def refunds(conn: asyncpg.Connection, region: str, year: int) -> list:
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


async def person_view(conn: asyncpg.Connection, person_id: str, region: str) -> dict | None:
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
    view = {"baseline": dict(base) if base else None, "enrollments": [dict(r) for r in years],
            "receipts": [dict(r) for r in receipts], "dues": [dict(r) for r in dues], "statuses": statuses or [],
            "discrepancies": [dict(r) for r in found]}
    return view if any(view.values()) else None
