"""SQL of reconciliation: loading a season for a run, saving runs and discrepancies, imports, reports.

A run reads its region-year part by part (`season_parts`): a range of person IDs at a time, holding at most
about `rows` rows of each of the season's tables, so its memory does not grow with the region.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
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
    """Everything held for the region-year at once, in the pure core's shapes: for checks and tests of the core
    on a whole season (a run reads it part by part: `season_parts`)."""
    receipts = await conn.fetch(_RECEIPTS.format(where="region = $1 AND year = $2"), region, year, timezone,
                                record_class=ReceiptRow)
    bookings = await conn.fetch(_BOOKINGS.format(where="region = $1 AND year = $2"), region, year,
                                record_class=BookingRow)
    dues = await conn.fetch(_DUES.format(where="region = $1 AND year = $2"), region, year)
    settlement = await conn.fetch(f"{_LINES} WHERE region = $1", region, record_class=SettlementLineRow)
    agents = await conn.fetch(_AGENTS.format(where="region = $1 AND year = $2"), region, year,
                              record_class=AgentLineRow)
    # The region's own status rows only: a subsidy line of this region needs this region's certification.
    statuses = await conn.fetch("SELECT person_id, statuses::text FROM person_status WHERE region = $1", region)
    refunds = await conn.fetch(_REFUNDS.format(where="region = $1 AND year = $2"), region, year,
                               list(OVERPAYMENT_REFUNDS))
    return d.Season(region=region, year=year, receipts=receipts, bookings=bookings, dues=_dues(dues),
                    settlement=settlement, agent_lines=agents, statuses=_statuses(statuses),
                    refunds_ordered={(r["person_id"], r["year"]): int(r["fen"]) for r in refunds})


_RECEIPTS = ("SELECT receipt_no, person_id, year, amount_fen, channel, agent_id, (paid_at AT TIME ZONE $3)::date "
             "AS paid_on, original_receipt_no FROM receipt WHERE {where}")
_BOOKINGS = "SELECT receipt_no, person_id, year, amount_fen FROM enrollment_payment WHERE {where}"
_DUES = "SELECT person_id, year, due_fen, state, lines::text FROM due WHERE {where}"
_LINES = "SELECT bank, settlement_ref, line_key, channel, pay_date, receipt_no, amount_fen FROM settlement_line"
# The settlement lines of a part's receipts (and of its family's, $5): looked up receipt by receipt in the index
# on the receipt number, on the server. Asked for as "receipt_no = ANY(the part's numbers)" or as a plain join,
# the planner scanned the whole region's lines for each part (a run's time grew with the square of the region);
# OFFSET 0 keeps the subquery a per-receipt lookup. A receipt number is one receipt, so no line comes twice.
_PART_LINES = f"""
SELECT l.* FROM receipt r CROSS JOIN LATERAL (
    SELECT s.bank, s.settlement_ref, s.line_key, s.channel, s.pay_date, s.receipt_no, s.amount_fen
    FROM settlement_line s WHERE s.receipt_no = r.receipt_no AND s.region = $1 OFFSET 0) l
WHERE r.region = $1 AND r.year = $2 AND r.person_id > $3 AND r.person_id <= $4
UNION ALL
{_LINES} WHERE region = $1 AND receipt_no = ANY($5::text[])"""
_AGENTS = ("SELECT agent_id, line_ref, person_id, year, receipt_no, amount_fen, collected_on, deposited_on "
           "FROM agent_collection WHERE {where}")
# The status rows of the part's subsidised people, looked up person by person (as `_PART_LINES`: asked for as
# "person_id = ANY(…)", the planner scanned the region's whole table for each part).
_PART_STATUSES = """
SELECT x.person_id, x.statuses::text FROM unnest($2::text[]) AS k(person_id) CROSS JOIN LATERAL (
    SELECT person_id, statuses FROM person_status s WHERE s.person_id = k.person_id AND s.region = $1 OFFSET 0) x"""
_REFUNDS = ("SELECT person_id, year, sum(amount_fen) AS fen FROM refund_order WHERE {where} "
            "AND reason = ANY($3::text[]) GROUP BY person_id, year")
# The tables whose rows a part's size is counted in (each indexed by region, year, person).
_PART_TABLES = ("receipt", "enrollment_payment", "due", "agent_collection")


def _dues(rows: Iterable[asyncpg.Record]) -> list[d.Due]:
    return [d.Due(r[0], r[1], r[2], r[3], _lines(r[4])) for r in rows]


def _statuses(rows: Iterable[asyncpg.Record]) -> dict[str, list[d.StatusSpan]]:
    return {r[0]: [d.StatusSpan(s["category"], date.fromisoformat(s["certified_on"]), _date(s.get("ended_on")))
                   for s in json.loads(r[1])] for r in rows}


async def part_bounds(conn: asyncpg.Connection, region: str, year: int, rows: int) -> AsyncIterator[tuple[str, str]]:
    """The parts of a region-year as ranges of person IDs (lo, hi], in order: each holds at most `rows` rows of
    each table in `_PART_TABLES`, beyond the rows of its last person (a person's rows are never split)."""
    per_table = [f"(SELECT person_id AS p FROM {t} WHERE region = $1 AND year = $2 AND person_id > $3 "
                 "ORDER BY person_id OFFSET $4 LIMIT 1)" for t in _PART_TABLES]
    last_of = [f"(SELECT max(person_id) AS p FROM {t} WHERE region = $1 AND year = $2)" for t in _PART_TABLES]
    last = await conn.fetchval(f"SELECT max(p) FROM ({' UNION ALL '.join(last_of)}) x", region, year)
    lo = ""  # sorts before every ID
    while last is not None:
        hi = await conn.fetchval(f"SELECT min(p) FROM ({' UNION ALL '.join(per_table)}) x", region, year, lo,
                                 rows - 1) or last
        yield lo, hi
        if hi == last:
            return
        lo = hi


async def load_part(conn: asyncpg.Connection, region: str, year: int, timezone: str, lo: str, hi: str) -> d.Part:
    """Everything of the people in (lo, hi] for the region-year, with what other parts' rows say about them."""
    receipts = await conn.fetch(_RECEIPTS.format(where=_in_part(4)), region, year, timezone, lo, hi,
                                record_class=ReceiptRow)
    bookings = await conn.fetch(_BOOKINGS.format(where=_in_part(3)), region, year, lo, hi, record_class=BookingRow)
    dues = await conn.fetch(_DUES.format(where=_in_part(3)), region, year, lo, hi)
    agents = await conn.fetch(_AGENTS.format(where=_in_part(3)), region, year, lo, hi, record_class=AgentLineRow)
    refunds = await conn.fetch(_REFUNDS.format(where=_in_part(4)), region, year, list(OVERPAYMENT_REFUNDS), lo, hi)
    statuses = await conn.fetch(_PART_STATUSES, region, [r[0] for r in dues if r[4] != "[]"])
    own = {r["receipt_no"] for r in receipts}
    family = await _family(conn, region, year, timezone, lo, hi, receipts)
    lines = await conn.fetch(_PART_LINES, region, year, lo, hi, [r["receipt_no"] for r in family],
                             record_class=SettlementLineRow)
    # Bookings and agents' lines of these people naming someone else's receipt, and these receipts booked
    # under someone else: rare, so asked for by number.
    named = {b["receipt_no"] for b in bookings} | {a["receipt_no"] for a in agents if a["receipt_no"]}
    elsewhere = await conn.fetch("SELECT receipt_no FROM receipt WHERE receipt_no = ANY($1::text[]) "
                                 "AND region = $2 AND year = $3", list(named - own), region, year)
    unbooked = own - {b["receipt_no"] for b in bookings}
    booked_elsewhere = await conn.fetch("SELECT DISTINCT receipt_no FROM enrollment_payment "
                                        "WHERE receipt_no = ANY($1::text[]) AND region = $2 AND year = $3",
                                        list(unbooked), region, year)
    return d.Part(receipts=receipts, bookings=bookings, dues=_dues(dues), agent_lines=agents,
                  statuses=_statuses(statuses), refunds_ordered={(r[0], r[1]): int(r[2]) for r in refunds},
                  lines=lines, family=family, accepted_elsewhere={r[0] for r in elsewhere},
                  booked_elsewhere={r[0] for r in booked_elsewhere})


def _in_part(n: int) -> str:
    """The rows of a part's people, (lo, hi] given as parameters $n and $n+1."""
    return f"region = $1 AND year = $2 AND person_id > ${n} AND person_id <= ${n + 1}"


async def _family(conn: asyncpg.Connection, region: str, year: int, timezone: str, lo: str, hi: str,
                  receipts: Sequence[asyncpg.Record]) -> list[asyncpg.Record]:
    """Other people's receipts in the families of these: the originals their reversals name, and every
    reversal of these receipts or of those originals."""
    own = {r["receipt_no"] for r in receipts}
    originals = {r["original_receipt_no"] for r in receipts if r["original_receipt_no"]}
    roots = [r["receipt_no"] for r in receipts if r["amount_fen"] > 0] + list(originals)
    return await conn.fetch(
        _RECEIPTS.format(where="region = $1 AND year = $2 AND NOT (person_id > $4 AND person_id <= $5) "
                               "AND (receipt_no = ANY($6::text[]) OR original_receipt_no = ANY($7::text[]))"),
        region, year, timezone, lo, hi, list(originals - own), roots, record_class=ReceiptRow)


async def day_totals(conn: asyncpg.Connection, region: str) -> dict[tuple[str, date], d.DayTotal]:
    """The banks' day totals of the region per channel and day (lines without a receipt number)."""
    rows = await conn.fetch(
        "SELECT channel, pay_date, sum(amount_fen)::bigint, array_agg(DISTINCT bank || settlement_ref) "
        "FROM settlement_line WHERE region = $1 AND receipt_no IS NULL GROUP BY channel, pay_date", region)
    return {(r[0], r[1]): d.DayTotal(r[0], r[1], r[2], tuple(sorted(r[3]))) for r in rows}


async def lines_without_receipt(conn: asyncpg.Connection, region: str, year: int,
                                page: int) -> AsyncIterator[list[asyncpg.Record]]:
    """The region's settlement lines naming a receipt number no accepted receipt of the region-year has,
    `page` at a time (in the order of the lines' key)."""
    after: tuple[str, str, str] = ("", "", "")
    while True:
        rows = await conn.fetch(
            f"{_LINES} s WHERE region = $1 AND receipt_no IS NOT NULL AND (bank, settlement_ref, line_key) > "
            "($3, $4, $5) AND NOT EXISTS (SELECT 1 FROM receipt r WHERE r.receipt_no = s.receipt_no "
            "AND r.region = $1 AND r.year = $2) ORDER BY bank, settlement_ref, line_key LIMIT $6",
            region, year, *after, page, record_class=SettlementLineRow)
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = (rows[-1]["bank"], rows[-1]["settlement_ref"], rows[-1]["line_key"])


async def lock_region_year(conn: asyncpg.Connection, region: str, year: int) -> None:
    """Hold the region-year's run lock until the transaction ends: its runs never overlap."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(f"reconcile:{region}:{year}".encode()))


async def start_run(conn: asyncpg.Connection, *, region: str, year: int, day: date, trigger: str,
                    started_at: datetime) -> int:
    """The run's row, its figures filled in by `finish_run` once every part is saved."""
    return await conn.fetchval(
        "INSERT INTO run (region, year, day, trigger, started_at, finished_at, counts, found, new, fingerprint) "
        "VALUES ($1, $2, $3, $4, $5, $5, '{}', 0, 0, '') RETURNING id", region, year, day, trigger, started_at)


# A discrepancy found for the first time takes the township and village of its person (the population
# baseline, else this year's enrollment); one found again keeps its own and its first run.
_SAVE_FOUND = """
INSERT INTO discrepancy (id, kind, subject, person_id, receipt_no, amount_fen, detail, township, village, region, year,
                         first_run, last_run, present, found_at)
SELECT u.id, u.kind, u.subject, u.person_id, u.receipt_no, u.amount_fen, u.detail, COALESCE(b.township, e.township),
       COALESCE(b.village, e.village), $8, $9, $10, $10, true, $11
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
         AS u(id, kind, subject, person_id, receipt_no, amount_fen, detail)
    LEFT JOIN baseline_person b ON b.person_id = u.person_id
    LEFT JOIN enrollment_year e ON e.person_id = u.person_id AND e.year = $9
ON CONFLICT (id) DO UPDATE SET last_run = EXCLUDED.last_run, present = true, amount_fen = EXCLUDED.amount_fen,
    detail = EXCLUDED.detail, receipt_no = EXCLUDED.receipt_no
RETURNING id, township, first_run = $10 AS new
"""


async def save_found(conn: asyncpg.Connection, *, run_id: int, region: str, year: int,
                     found: Sequence[d.Discrepancy], now: datetime) -> dict[UUID, str | None]:
    """Record a batch of the run's findings; return those found for the first time, with their township."""
    if not found:
        return {}
    rows = await conn.fetch(
        _SAVE_FOUND, [x.id(region, year) for x in found], [str(x.kind) for x in found], [x.subject for x in found],
        [x.person_id for x in found], [x.receipt_no for x in found], [x.amount_fen for x in found],
        [x.detail for x in found], region, year, run_id, now)
    return {r["id"]: r["township"] for r in rows if r["new"]}


async def finish_run(conn: asyncpg.Connection, *, run_id: int, region: str, year: int, finished_at: datetime,
                     counts: dict[str, int], found: int, new: int) -> str:
    """Mark what this run no longer found, fill in the run's figures; return the run's fingerprint
    (`discrepancies.fingerprint` of its findings, read back in id order a page at a time)."""
    await conn.execute("UPDATE discrepancy SET present = false WHERE region = $1 AND year = $2 AND last_run <> $3 "
                       "AND present", region, year, run_id)
    h = hashlib.sha256()
    # uuid order is the order of the ids' text; ids are unique, so this is the sorted order of the lines
    async for r in conn.cursor("SELECT id, amount_fen FROM discrepancy WHERE region = $1 AND year = $2 "
                               "AND last_run = $3 ORDER BY id", region, year, run_id, prefetch=5000):
        h.update(f"{r[0]}|{r[1]}".encode())
    fingerprint = h.hexdigest()
    await conn.execute("UPDATE run SET finished_at = $2, counts = $3::text::jsonb, found = $4, new = $5, "
                       "fingerprint = $6 WHERE id = $1", run_id, finished_at, json.dumps(counts), found, new,
                       fingerprint)
    return fingerprint


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


# Per place (township, village): the baseline's people, and this year's enrolled and paid people and money.
_PLACE_COUNTS = f"""
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
"""


def _place_count(r: asyncpg.Record) -> PlaceCount:
    return PlaceCount(r["township"], r["village"], r["baseline"], r["enrolled"], r["paid"], int(r["paid_fen"]))


async def place_counts(conn: asyncpg.Connection, region: str, year: int) -> list[PlaceCount]:
    return [_place_count(r) for r in await conn.fetch(_PLACE_COUNTS, region, year, UNPLACED)]


async def targets(conn: asyncpg.Connection, region: str, year: int) -> dict[str, int]:
    rows = await conn.fetch("SELECT township, target_people FROM township_target WHERE region = $1 AND year = $2",
                            region, year)
    return {r["township"]: r["target_people"] for r in rows}


async def save_snapshot(conn: asyncpg.Connection, region: str, year: int, week: date,
                        now: datetime) -> list[PlaceCount]:
    """Count the places and keep the counts as the week's snapshot, in one statement: the people are counted
    where they are (set-based, in PostgreSQL), only a row per village comes back."""
    # The region's people, enrollments and dues joined: with the default 4 MB the hash joins of a million
    # people go to disk in batches. For this transaction only (it ends with the snapshot).
    await conn.execute("SET LOCAL work_mem = '64MB'")
    rows = await conn.fetch(
        f"""
        INSERT INTO progress_snapshot (township, village, baseline_people, enrolled_people, paid_people, paid_fen,
                                       region, year, week, taken_at)
        SELECT township, village, baseline, enrolled, paid, paid_fen, $1, $2, $4, $5 FROM ({_PLACE_COUNTS}) c
        ON CONFLICT (region, year, week, township, village) DO UPDATE SET
            baseline_people = EXCLUDED.baseline_people, enrolled_people = EXCLUDED.enrolled_people,
            paid_people = EXCLUDED.paid_people, paid_fen = EXCLUDED.paid_fen, taken_at = EXCLUDED.taken_at
        RETURNING township, village, baseline_people AS baseline, enrolled_people AS enrolled, paid_people AS paid,
                  paid_fen
        """, region, year, UNPLACED, week, now)
    return [_place_count(r) for r in rows]


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
