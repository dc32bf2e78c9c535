"""SQL of enrollment: credentials, baseline and rosters, enrollments, refused registrations, payments, dues,
cases, refunds (its own and the subsidy service's).

Credentials are shared.access's (the same machinery as subsidy's and reconciliation's), with
enrollment's roles: agent (village agent 村代办) and agency (the insurance office 医保经办机构).

Every statement works on a whole batch (`BatchUpsert`, unnest arrays or COPY): no round trip per person.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.enrollment.domain.baseline import Employee, Rejection
from services.enrollment.domain.duplicates import DuplicateCase
from services.enrollment.domain.enrollment import Enrollment, Home, Key, Place
from services.enrollment.domain.history import Year as HistoryYear
from services.enrollment.domain.netting import PersonalRefunds, SubsidyRefund
from services.enrollment.domain.policy_view import Statuses
from services.enrollment.domain.refunds import Refund
from services.enrollment.domain.registration import EmployeeCover, Refusal
from shared.access import Roles
from shared.db import BatchUpsert, json_list, keep_text_sets, text_set_id
from shared.messages import DueAssessed, ReceiptAccepted, StatusChanged

ROLES = Roles({"agent": "村代办", "agency": "医保经办机构"})

ENROLLMENT_COLUMNS = (  # every field of domain.enrollment.Enrollment, in order, with its column's type
    ("person_id", "text"), ("region", "text"), ("year", "int"), ("kind", "text"), ("state", "text"),
    ("paid_total_fen", "bigint"), ("township", "text"), ("village", "text"), ("hukou_region", "text"),
    ("residence_region", "text"), ("school_region", "text"), ("event_date", "date"), ("registered_on", "date"),
    ("registered_by", "text"), ("paid_on", "date"), ("benefit_start", "date"), ("benefit_end", "date"),
    ("waiting_months", "int"), ("waiting_days", "int"), ("policy_path", "text"), ("policy_reasons", "jsonb"),
    ("covered_on", "date"), ("ended_on", "date"), ("end_reason", "text"), ("funded_by", "text"),
    ("cap_adjustment_fen", "bigint"), ("enrolled_years", "jsonb"), ("paid_back_years", "jsonb"),
    ("zero_reimbursement_years", "jsonb"),
)
_KEY = ("person_id", "region", "year")
_STAMPED = (("updated_at", "timestamptz"),)

SAVE_ENROLLMENTS = BatchUpsert(
    "enrollment", ENROLLMENT_COLUMNS, stamp=_STAMPED, conflict=_KEY,
    update={name: None for name, _ in (*ENROLLMENT_COLUMNS, *_STAMPED) if name not in _KEY})
SAVE_EMPLOYEES = BatchUpsert(
    "employee_insurance", (("person_id", "text"), ("region", "text"), ("employer", "text"), ("insured_from", "date"),
                           ("insured_to", "date")),
    stamp=(("source", "text"), ("imported_at", "timestamptz")), conflict=("region", "person_id"),
    update=dict.fromkeys(("employer", "insured_from", "insured_to", "source", "imported_at")))
SAVE_REFUSALS = BatchUpsert(  # every refusal is a new row (its own id): a refusal asked again is kept again
    "registration_refusal",
    (("id", "uuid"), ("person_id", "text"), ("region", "text"), ("year", "int"), ("kind", "text"),
     ("hukou_region", "text"), ("residence_region", "text"), ("school_region", "text"), ("event_date", "date"),
     ("registered_on", "date"), ("line_no", "int"), ("reason_code", "text"), ("reasons", "jsonb"),
     ("requested_by", "text")),
    stamp=(("refused_at", "timestamptz"),), conflict=("id",))
SAVE_PAYMENTS = BatchUpsert(
    "payment", (("receipt_no", "text"), ("person_id", "text"), ("region", "text"), ("year", "int"),
                ("amount_fen", "bigint"), ("channel", "text"), ("paid_at", "timestamptz"),
                ("original_receipt_no", "text"), ("item", "text")),
    stamp=(("recorded_at", "timestamptz"),), conflict=("receipt_no",), returning=("receipt_no",))
_DUE_VALUES = ("standard_fen", "subsidy_fen", "due_fen", "refund_after_fen", "lines", "reasons_id", "revision",
               "updated_at")
SAVE_DUES = BatchUpsert(
    "due", (("person_id", "text"), ("region", "text"), ("year", "int"), ("standard_fen", "bigint"),
            ("subsidy_fen", "bigint"), ("due_fen", "bigint"), ("refund_after_fen", "bigint"), ("lines", "jsonb"),
            ("reasons_id", "uuid"), ("revision", "int")),
    stamp=_STAMPED, conflict=_KEY,
    update=dict.fromkeys(_DUE_VALUES), where="due.revision <= EXCLUDED.revision")  # a late older revision changes nothing
SAVE_SUBSIDY_REFUNDS = BatchUpsert(  # an order is kept once, as first decided (by its id)
    "subsidy_refund", (("id", "uuid"), ("person_id", "text"), ("region", "text"), ("year", "int"), ("reason", "text"),
                       ("amount_fen", "bigint"), ("ordered_at", "timestamptz"), ("funding_source", "text"),
                       ("township", "text"), ("withheld_fen", "bigint"), ("note", "text")),
    stamp=(("recorded_at", "timestamptz"),), conflict=("id",))
SAVE_STATUSES = BatchUpsert(
    "person_status", (("person_id", "text"), ("region", "text"), ("statuses", "jsonb")),
    stamp=_STAMPED, conflict=("person_id", "region"), update=dict.fromkeys(("statuses", "updated_at")))


async def create_credential(conn: asyncpg.Connection, region: str, role: str, holder: str) -> str:
    """Issue a credential for one region and role (shared.access); only its hash is stored."""
    return await ROLES.grant(conn, region, role, holder)


# --- baseline and rosters -------------------------------------------------------------------------

async def stage_baseline(conn: asyncpg.Connection) -> None:
    """A staging table for one household register, gone at the end of the transaction."""
    # Finding the people repeated in a register groups millions of rows: with the default 4 MB on disk. For
    # this transaction only.
    await conn.execute("SET LOCAL work_mem = '64MB'")
    await conn.execute("CREATE TEMP TABLE baseline_staged (line_no int NOT NULL, person_id text NOT NULL, "
                       "key text NOT NULL, township text, village text, name text) ON COMMIT DROP")


async def copy_staged(conn: asyncpg.Connection, rows: Iterable[tuple[int, str, str, str | None, str | None,
                                                                     str | None]]) -> None:
    """COPY judged rows (line, ID, Kafka key, township, village, name) into the staging table, as they come:
    PostgreSQL takes in the rows while the next are read and judged."""
    await conn.copy_records_to_table("baseline_staged", records=rows)


async def merge_baseline(conn: asyncpg.Connection, region: str, source: str, now: datetime) -> list[tuple[int, str]]:
    """Merge the staged register into the population in one statement: a person on several lines is taken
    from the first; each later line is returned (line, ID) to be refused as a duplicate. The people go in in ID
    order: the population's indexes by person then take them page after page (measured: 3,000,000 people
    about 15 s instead of 18)."""
    repeated = await conn.fetch(
        "DELETE FROM baseline_staged s USING (SELECT person_id, min(line_no) AS first FROM baseline_staged "
        "GROUP BY person_id HAVING count(*) > 1) d WHERE s.person_id = d.person_id AND s.line_no > d.first "
        "RETURNING s.line_no, s.person_id")
    await conn.execute(
        "INSERT INTO population (person_id, region, township, village, name, source, imported_at) "
        "SELECT person_id, $1, township, village, name, $2, $3 FROM baseline_staged ORDER BY person_id "
        "ON CONFLICT (region, person_id) DO UPDATE SET township = EXCLUDED.township, village = EXCLUDED.village, "
        "name = EXCLUDED.name, source = EXCLUDED.source, imported_at = EXCLUDED.imported_at", region, source, now)
    return [(r[0], r[1]) for r in repeated]


async def announce_staged(conn: asyncpg.Connection, topic: str, payload: str, params: Sequence[str],
                          channel: str) -> int:
    """One outbox row per staged person, its payload built by PostgreSQL from the SQL expression `payload`
    over the staged columns (parameters $2 …): one statement for millions of events. Returns how many."""
    status = await conn.execute(
        f"INSERT INTO outbox (topic, key, payload) SELECT $1, convert_to(key, 'UTF8'), convert_to({payload}, "
        "'UTF8') FROM baseline_staged", topic, *params)
    await conn.execute("SELECT pg_notify($1, '')", channel)
    return int(status.split()[-1])


async def import_employees(conn: asyncpg.Connection, region: str, people: Sequence[Employee], source: str,
                           now: datetime) -> None:
    """Upsert the accepted rows of one region's employee-insurance roster."""
    await SAVE_EMPLOYEES.execute(conn, [(e.person_id, region, e.employer, e.insured_from, e.insured_to)
                                        for e in people], source, now)


async def record_import(conn: asyncpg.Connection, *, import_id: UUID, region: str, list_name: str, source: str,
                        file_name: str | None, accepted: int, rejected: Sequence[Rejection],
                        unknown_headers: Sequence[str], by: str, now: datetime) -> None:
    """Keep the import's counts and every refused row (line, masked ID, code, reason)."""
    await conn.execute(
        "INSERT INTO baseline_import (id, region, list, source, file_name, rows_total, rows_accepted, rows_rejected, "
        "unknown_headers, imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        import_id, region, list_name, source, file_name, accepted + len(rejected), accepted, len(rejected),
        list(unknown_headers), by, now,
    )
    if rejected:
        await conn.copy_records_to_table("baseline_rejected_row", records=[(import_id, *r) for r in rejected],
                                         columns=("import_id", "line_no", "person_masked", "reason_code", "reason"))


async def places(conn: asyncpg.Connection, homes: Iterable[Home]) -> dict[Home, Place]:
    """(person, region) -> where that region's household register places the person."""
    homes = list(homes)
    rows = await conn.fetch(
        "SELECT b.person_id, b.region, b.township, b.village FROM population b "
        "JOIN unnest($1::text[], $2::text[]) AS k(p, r) ON b.person_id = k.p AND b.region = k.r",
        [h[0] for h in homes], [h[1] for h in homes],
    )
    return {(r["person_id"], r["region"]): Place(r["township"], r["village"]) for r in rows}


async def baseline_regions(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, set[str]]:
    rows = await conn.fetch("SELECT person_id, region FROM population WHERE person_id = ANY($1::text[])", list(people))
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["person_id"], set()).add(r["region"])
    return out


async def employee_covers(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, list[EmployeeCover]]:
    rows = await conn.fetch(
        "SELECT person_id, region, insured_from, insured_to FROM employee_insurance WHERE person_id = ANY($1::text[])",
        list(people))
    out: dict[str, list[EmployeeCover]] = {}
    for r in rows:
        out.setdefault(r["person_id"], []).append(EmployeeCover(r["region"], r["insured_from"], r["insured_to"]))
    return out


# --- enrollments -----------------------------------------------------------------------------------

_SELECT_ENROLLMENT = f"SELECT {', '.join(name for name, _ in ENROLLMENT_COLUMNS)} FROM enrollment"


def _j(value: Any) -> Any:
    """A jsonb value as Python: the service pool decodes jsonb already, a bare connection does not."""
    return json.loads(value) if isinstance(value, str) else value


_JSON_FIELDS = ("policy_reasons", "enrolled_years", "paid_back_years", "zero_reimbursement_years")


def _enrollment(record: asyncpg.Record) -> Enrollment:
    values = dict(record)
    for name in _JSON_FIELDS:
        values[name] = tuple(_j(values[name]))
    return Enrollment(**values)


async def enrollments_of(conn: asyncpg.Connection, people: Sequence[str], years: Sequence[int],
                         *, for_update: bool = False) -> dict[Key, Enrollment]:
    """Every region's enrollments of these people for these years, keyed (person, region, year)."""
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.fetch(
        f"{_SELECT_ENROLLMENT} WHERE person_id = ANY($1::text[]) AND year = ANY($2::int[]) "
        f"ORDER BY person_id, region, year{lock}", list(set(people)), list(set(years)))
    return {(r["person_id"], r["region"], r["year"]): _enrollment(r) for r in rows}


async def funded_keys(conn: asyncpg.Connection, keys: Sequence[Key]) -> set[Key]:
    """Which of these enrollments a fund pays for (资助参保), without locking any."""
    if not keys:
        return set()
    rows = await conn.fetch(
        "SELECT e.person_id, e.region, e.year FROM enrollment e JOIN unnest($1::text[], $2::text[], $3::int[]) "
        "AS k(p, r, y) ON e.person_id = k.p AND e.region = k.r AND e.year = k.y "
        "WHERE e.funded_by IS NOT NULL AND e.state IN ('paid', 'covered')",
        [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    return {(r["person_id"], r["region"], r["year"]) for r in rows}


async def lock_enrollments(conn: asyncpg.Connection, keys: Iterable[Key]) -> None:
    """Lock these enrollments (those that exist) until the transaction ends, in the order every other use case
    locks them: a refund decision and the subsidy refunds of the same enrollment then see each other."""
    keys = list(keys)
    await conn.execute(
        "SELECT 1 FROM enrollment e JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(p, r, y) "
        "ON e.person_id = k.p AND e.region = k.r AND e.year = k.y ORDER BY e.person_id, e.region, e.year FOR UPDATE OF e",
        [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])


async def paid_years(conn: asyncpg.Connection, people: Sequence[str]) -> list[int]:
    """The years in which any of these people has a paid (or covered) enrollment."""
    rows = await conn.fetch("SELECT DISTINCT year FROM enrollment WHERE person_id = ANY($1::text[]) "
                            "AND state IN ('paid', 'covered')", list(people))
    return [r["year"] for r in rows]


async def coverable(conn: asyncpg.Connection, region: str, as_of: date) -> list[Enrollment]:
    """The region's paid enrollments whose benefit window has begun by `as_of`, locked."""
    rows = await conn.fetch(
        f"{_SELECT_ENROLLMENT} WHERE region = $1 AND state = 'paid' AND benefit_start <= $2 "
        "ORDER BY person_id, year FOR UPDATE", region, as_of)
    return [_enrollment(r) for r in rows]


def _enrollment_row(e: Enrollment) -> list[Any]:
    values = list(e)  # the fields are the columns, in order; the tuples travel as JSON text
    for at in _JSON_AT:
        values[at] = json_list(tuple(values[at]))
    return values


_JSON_AT = tuple(Enrollment._fields.index(name) for name in _JSON_FIELDS)


async def save_enrollments(conn: asyncpg.Connection, items: Sequence[Enrollment], now: datetime) -> None:
    await SAVE_ENROLLMENTS.execute(conn, [_enrollment_row(e) for e in items], now)


_REFUSAL_REASONS_AT = Refusal._fields.index("reasons")


async def save_refusals(conn: asyncpg.Connection, items: Sequence[Refusal], now: datetime) -> None:
    """Keep refused registrations with their reasons, the whole request's in one statement."""
    at = _REFUSAL_REASONS_AT  # the fields are the columns, in order; the reasons travel as JSON text
    await SAVE_REFUSALS.execute(conn, [(*r[:at], json.dumps(list(r.reasons), ensure_ascii=False), *r[at + 1:])
                                       for r in items], now)


# --- what other services tell us -----------------------------------------------------------------

async def save_payments(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted], now: datetime) -> set[str]:
    """Record accepted receipts; returns the receipt numbers not seen before."""
    rows = await SAVE_PAYMENTS.fetch(conn, [(r.receipt_no, r.person_id, r.region, r.year, r.amount_fen, r.channel,
                                             r.paid_at, r.original_receipt_no, r.item) for r in receipts], now)
    return {r["receipt_no"] for r in rows}


async def save_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed], now: datetime) -> None:
    """Upsert one due per (person, region, year); a stored later revision stays. Its reasons are kept once per
    distinct list (`text_set`)."""
    reasons = [tuple(d.reasons) for d in dues]
    await keep_text_sets(conn, reasons)
    await SAVE_DUES.execute(conn, [
        (d.person_id, d.region, d.year, d.standard_fen, d.subsidy_fen, d.due_fen, d.refund_after_fen,
         json.dumps([line.model_dump() for line in d.lines], ensure_ascii=False),
         text_set_id(why), d.revision) for d, why in zip(dues, reasons, strict=True)], now)


async def due_revisions(conn: asyncpg.Connection, keys: Iterable[Key]) -> dict[Key, int]:
    """(person, region, year) -> the revision of the due kept for it (none kept: absent)."""
    keys = list(keys)
    rows = await conn.fetch(
        "SELECT d.person_id, d.region, d.year, d.revision FROM due d "
        "JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(p, r, y) ON d.person_id = k.p AND d.region = k.r "
        "AND d.year = k.y", [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    return {(r["person_id"], r["region"], r["year"]): r["revision"] for r in rows}


async def save_statuses(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    """Upsert one status set per (person, region)."""
    await SAVE_STATUSES.execute(conn, [(e.person_id, e.region, e.model_dump_json(include={"statuses"}))
                                       for e in events], now)


async def statuses_of(conn: asyncpg.Connection, homes: Iterable[Home]) -> dict[Home, Statuses]:
    """(person, region) -> the statuses that region's departments certified."""
    homes = list(homes)
    rows = await conn.fetch(
        "SELECT s.person_id, s.region, s.statuses FROM person_status s "
        "JOIN unnest($1::text[], $2::text[]) AS k(p, r) ON s.person_id = k.p AND s.region = k.r",
        [h[0] for h in homes], [h[1] for h in homes])
    return {(r["person_id"], r["region"]): tuple(_j(r["statuses"]).get("statuses", [])) for r in rows}


# --- duplicate cases and refunds -----------------------------------------------------------------

async def open_case(conn: asyncpg.Connection, case: DuplicateCase, now: datetime) -> bool:
    """Open a duplicate case; False when one for this dropped enrollment exists already."""
    inserted = await conn.fetchval(
        "INSERT INTO duplicate_case (id, person_id, year, kept, dropped_region, rule, explanation, arose_on, refund_id, "
        "opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (person_id, year, dropped_region) DO NOTHING RETURNING id",
        case.id, case.person_id, case.year, case.kept, case.dropped_region, case.rule,
        case.explanation, case.arose_on, case.refund_id, now)
    return inserted is not None


async def save_refund(conn: asyncpg.Connection, refund: Refund, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO refund (id, person_id, region, year, reason, requested_on, approved, amount_fen, explanation, "
        "policy_reasons, requested_by, duplicate_case_id, paid_fen, subsidy_refunded_fen, decided_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12, $13, $14, $15)",
        refund.id, refund.person_id, refund.region, refund.year, refund.reason, refund.requested_on,
        refund.approved, refund.amount_fen, refund.explanation,
        json.dumps(list(refund.policy_reasons), ensure_ascii=False), refund.requested_by,
        refund.duplicate_case_id, refund.paid_fen, refund.subsidy_refunded_fen, now)


_KEYS_JOIN = "JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(p, r, y) ON t.person_id = k.p AND t.region = k.r AND t.year = k.y"


def _key_arrays(keys: Iterable[Key]) -> list[list[Any]]:
    keys = list(keys)
    return [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]]


async def personal_refunds(conn: asyncpg.Connection, keys: Iterable[Key]) -> dict[Key, PersonalRefunds]:
    """(person, region, year) -> its approved personal refunds (none approved: absent)."""
    rows = await conn.fetch(
        "SELECT t.person_id, t.region, t.year, max(coalesce(t.paid_fen, t.amount_fen)) AS paid_fen, "
        f"sum(t.amount_fen) AS refunded_fen, max(t.requested_on) AS requested_on FROM refund t {_KEYS_JOIN} "
        "WHERE t.approved GROUP BY t.person_id, t.region, t.year", *_key_arrays(keys))
    return {(r["person_id"], r["region"], r["year"]): PersonalRefunds(int(r["paid_fen"]), int(r["refunded_fen"]),
                                                                        r["requested_on"]) for r in rows}


_SUBSIDY_REFUND_COLUMNS = tuple(name for name, _ in SAVE_SUBSIDY_REFUNDS.columns)


async def subsidy_refunds(conn: asyncpg.Connection, keys: Iterable[Key]) -> dict[Key, list[SubsidyRefund]]:
    """(person, region, year) -> the subsidy service's refunds known for it, oldest first."""
    rows = await conn.fetch(
        f"SELECT {', '.join('t.' + c for c in _SUBSIDY_REFUND_COLUMNS)} FROM subsidy_refund t {_KEYS_JOIN} "
        "ORDER BY t.ordered_at, t.id", *_key_arrays(keys))
    out: dict[Key, list[SubsidyRefund]] = {}
    for r in rows:
        order = SubsidyRefund(**dict(r))
        out.setdefault(order.key, []).append(order)
    return out


async def save_subsidy_refunds(conn: asyncpg.Connection, orders: Sequence[SubsidyRefund], now: datetime) -> None:
    """Keep new subsidy refunds with their withheld part; one already kept stays as it was."""
    await SAVE_SUBSIDY_REFUNDS.execute(conn, [tuple(getattr(o, c) for c in _SUBSIDY_REFUND_COLUMNS) for o in orders],
                                       now)


# --- the person's record (一人一档), one region's view -----------------------------------------------

async def person_record(conn: asyncpg.Connection, person_id: str, region: str) -> dict[str, Any]:
    """Everything this region holds about the person; nothing another region holds."""
    one, many = conn.fetchrow, conn.fetch
    base = await one("SELECT township, village, name, source, imported_at FROM population "
                     "WHERE person_id = $1 AND region = $2", person_id, region)
    employee = await one("SELECT employer, insured_from, insured_to FROM employee_insurance "
                         "WHERE person_id = $1 AND region = $2", person_id, region)
    statuses = await conn.fetchval("SELECT statuses FROM person_status WHERE person_id = $1 AND region = $2",
                                   person_id, region)
    years = await many(
        "SELECT year, kind, state, paid_total_fen, township, village, hukou_region, residence_region, school_region, "
        "event_date, registered_on, registered_by, paid_on, benefit_start, benefit_end, waiting_months, waiting_days, "
        "policy_path, policy_reasons, covered_on, ended_on, end_reason, funded_by, cap_adjustment_fen, enrolled_years, "
        "paid_back_years, zero_reimbursement_years FROM enrollment "
        "WHERE person_id = $1 AND region = $2 ORDER BY year", person_id, region)
    dues = await many("SELECT d.year, d.standard_fen, d.subsidy_fen, d.due_fen, d.refund_after_fen, d.lines, "
                      "t.texts AS reasons, d.revision FROM due d JOIN text_set t ON t.id = d.reasons_id "
                      "WHERE d.person_id = $1 AND d.region = $2 ORDER BY d.year", person_id, region)
    history = await many("SELECT year, covered, zero_reimbursement, paid_back_receipt, source, recorded_at "
                         "FROM coverage_history WHERE person_id = $1 ORDER BY year", person_id)
    payments = await many("SELECT receipt_no, year, amount_fen, channel, paid_at, original_receipt_no, item FROM payment "
                          "WHERE person_id = $1 AND region = $2 ORDER BY paid_at, receipt_no", person_id, region)
    refunds = await many("SELECT id, year, reason, requested_on, approved, amount_fen, explanation, requested_by, "
                         "duplicate_case_id, paid_fen, subsidy_refunded_fen, decided_at FROM refund "
                         "WHERE person_id = $1 AND region = $2 ORDER BY decided_at", person_id, region)
    subsidy_refunds = await many("SELECT id, year, reason, amount_fen, withheld_fen, funding_source, township, "
                                 "ordered_at, note, recorded_at FROM subsidy_refund WHERE person_id = $1 AND region = $2 "
                                 "ORDER BY ordered_at, id", person_id, region)
    cases = await many("SELECT id, year, kept, dropped_region, rule, explanation, arose_on, refund_id FROM duplicate_case "
                       "WHERE person_id = $1 AND (kept = $2 OR dropped_region = $2) ORDER BY opened_at", person_id, region)
    refused = await many("SELECT year, kind, hukou_region, residence_region, school_region, event_date, registered_on, "
                         "line_no, reason_code, reasons, requested_by, refused_at FROM registration_refusal "
                         "WHERE person_id = $1 AND region = $2 ORDER BY refused_at, line_no", person_id, region)
    return {
        "baseline": dict(base) if base else None,
        "employee_insurance": dict(employee) if employee else None,
        "statuses": _j(statuses).get("statuses", []) if statuses else [],
        "enrollments": [{**dict(r), **{k: _j(r[k]) for k in _JSON_FIELDS}} for r in years],
        "dues": [{**dict(r), "lines": _j(r["lines"]), "reasons": _j(r["reasons"])} for r in dues],
        "payments": [dict(r) for r in payments],
        "history": [dict(r) for r in history],
        "refunds": [dict(r) for r in refunds],
        "subsidy_refunds": [dict(r) for r in subsidy_refunds],
        "duplicate_cases": [dict(r) for r in cases],
        "refused_registrations": [{**dict(r), "reasons": _j(r["reasons"])} for r in refused],
    }


# --- history of cover (waiting periods, the critical-illness cap) -------------------------------------

SAVE_HISTORY = BatchUpsert(  # a declared year keeps a payback it had, and a payback keeps what was declared
    "coverage_history", (("person_id", "text"), ("year", "int"), ("covered", "bool"), ("zero_reimbursement", "bool"),
                         ("paid_back_receipt", "text"), ("source", "text")),
    stamp=(("recorded_at", "timestamptz"),), conflict=("person_id", "year"),
    update={"covered": "coverage_history.covered OR EXCLUDED.covered",
            "zero_reimbursement": "coverage_history.zero_reimbursement OR EXCLUDED.zero_reimbursement",
            "paid_back_receipt": "coalesce(coverage_history.paid_back_receipt, EXCLUDED.paid_back_receipt)",
            "source": None, "recorded_at": None})


async def save_history(conn: asyncpg.Connection, rows: Sequence[tuple[str, HistoryYear, str | None, str]],
                       now: datetime) -> None:
    """(person, year row, paid-back receipt, source) each; what a row says is added to what is kept."""
    await SAVE_HISTORY.execute(conn, [(p, y.year, y.covered, y.zero_reimbursement, receipt, source)
                                      for p, y, receipt, source in rows], now)


async def histories(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, tuple[list[HistoryYear], list[int]]]:
    """Each person's stored history years and the years enrollment saw them paid or covered (any region)."""
    found: dict[str, tuple[list[HistoryYear], list[int]]] = {p: ([], []) for p in people}
    for r in await conn.fetch("SELECT person_id, year, covered, zero_reimbursement, paid_back_receipt IS NOT NULL AS "
                              "paid_back FROM coverage_history WHERE person_id = ANY($1::text[])", list(people)):
        found[r["person_id"]][0].append(HistoryYear(r["year"], r["covered"], r["zero_reimbursement"], r["paid_back"]))
    for r in await conn.fetch("SELECT DISTINCT person_id, year FROM enrollment WHERE person_id = ANY($1::text[]) "
                              "AND (state IN ('paid', 'covered') OR (state = 'ended' AND covered_on IS NOT NULL))",
                              list(people)):
        found[r["person_id"]][1].append(r["year"])
    return found


async def drop_paybacks(conn: asyncpg.Connection, reversed_: Sequence[tuple[str, str]]) -> None:
    """A reversed payback receipt repairs nothing: its year is no longer paid back."""
    if reversed_:
        await conn.execute(
            "UPDATE coverage_history h SET paid_back_receipt = NULL FROM unnest($1::text[], $2::text[]) AS k(p, r) "
            "WHERE h.person_id = k.p AND h.paid_back_receipt = k.r",
            [p for p, _ in reversed_], [r for _, r in reversed_])


async def enrollments_after(conn: asyncpg.Connection, people: Sequence[str], year: int,
                            *, for_update: bool = False) -> dict[Key, Enrollment]:
    """Every region's enrollments of these people for coverage years after `year`."""
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.fetch(f"{_SELECT_ENROLLMENT} WHERE person_id = ANY($1::text[]) AND year > $2 "
                            f"ORDER BY person_id, region, year{lock}", list(people), year)
    return {(r["person_id"], r["region"], r["year"]): _enrollment(r) for r in rows}
