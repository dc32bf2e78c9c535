"""SQL of enrollment: credentials, baseline and rosters, enrollments, payments, dues, cases, refunds.

Credentials are shared.access's (the same machinery as subsidy's and reconciliation's), with
enrollment's roles: agent (village agent 村代办) and agency (the insurance office 医保经办机构).

Every statement works on a whole batch (unnest arrays or COPY): no round trip per person.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.enrollment.domain.registration import EmployeeCover
from shared.access import Caller, Roles, authenticate, token_hash  # noqa: F401 - the API and imports use these
from shared.messages import DueAssessed, ReceiptAccepted, StatusChanged

ENROLLMENT_COLUMNS = (
    ("person_id", "text"), ("region", "text"), ("year", "int"), ("kind", "text"), ("state", "text"),
    ("paid_total_fen", "bigint"), ("township", "text"), ("village", "text"), ("hukou_region", "text"),
    ("residence_region", "text"), ("school_region", "text"), ("event_date", "date"), ("registered_on", "date"),
    ("registered_by", "text"), ("paid_on", "date"), ("benefit_start", "date"), ("benefit_end", "date"),
    ("waiting_months", "int"), ("waiting_days", "int"), ("policy_path", "text"), ("policy_reasons", "jsonb"),
    ("covered_on", "date"), ("ended_on", "date"), ("end_reason", "text"),
)


ROLES = Roles({"agent": "村代办", "agency": "医保经办机构"})


async def create_credential(conn: asyncpg.Connection, region: str, role: str, holder: str) -> str:
    """Issue a credential for one region and role (shared.access); only its hash is stored."""
    return await ROLES.grant(conn, region, role, holder)


# --- baseline and rosters -------------------------------------------------------------------------

async def import_baseline(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str | None, str | None, str | None]],
                          source: str, now: datetime) -> int:
    """Upsert (person_id, region, township, village, name) rows of one region's household register."""
    await conn.execute(
        """
        INSERT INTO population (person_id, region, township, village, name, source, imported_at)
        SELECT p, r, t, v, n, $6, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            AS u(p, r, t, v, n)
        ON CONFLICT (region, person_id) DO UPDATE SET township = EXCLUDED.township,
            village = EXCLUDED.village, name = EXCLUDED.name, source = EXCLUDED.source,
            imported_at = EXCLUDED.imported_at
        """,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        [r[4] for r in rows], source, now,
    )
    return len(rows)


async def import_employees(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str | None, date, date | None]],
                           source: str, now: datetime) -> int:
    """Upsert (person_id, region, employer, insured_from, insured_to) rows of an employee-insurance roster."""
    await conn.execute(
        """
        INSERT INTO employee_insurance (person_id, region, employer, insured_from, insured_to, source, imported_at)
        SELECT p, r, e, f, t, $6, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::date[])
            AS u(p, r, e, f, t)
        ON CONFLICT (region, person_id) DO UPDATE SET employer = EXCLUDED.employer,
            insured_from = EXCLUDED.insured_from, insured_to = EXCLUDED.insured_to, source = EXCLUDED.source,
            imported_at = EXCLUDED.imported_at
        """,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        [r[4] for r in rows], source, now,
    )
    return len(rows)


async def record_import(conn: asyncpg.Connection, *, import_id: UUID, region: str, list_name: str, source: str,
                        file_name: str | None, accepted: int, rejected: Sequence[tuple[int, str, str, str]],
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


async def places(conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """(person, region) -> the baseline row (township, village) of that region's household register."""
    keys = list(keys)
    rows = await conn.fetch(
        "SELECT b.person_id, b.region, b.township, b.village FROM population b "
        "JOIN unnest($1::text[], $2::text[]) AS k(p, r) ON b.person_id = k.p AND b.region = k.r",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["person_id"], r["region"]): dict(r) for r in rows}


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

def _j(value):
    """A jsonb value as Python: the service pool decodes jsonb already, a bare connection does not."""
    return json.loads(value) if isinstance(value, str) else value


def _row(record: asyncpg.Record) -> dict:
    row = dict(record)
    row.pop("updated_at", None)
    row["policy_reasons"] = _j(row["policy_reasons"])
    return row


async def enrollments_of(conn: asyncpg.Connection, people: Sequence[str], years: Sequence[int],
                         *, for_update: bool = False) -> dict[tuple[str, str, int], dict]:
    """Every region's enrollment rows of these people for these years, keyed (person, region, year)."""
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.fetch(
        f"SELECT * FROM enrollment WHERE person_id = ANY($1::text[]) AND year = ANY($2::int[]) "
        f"ORDER BY person_id, region, year{lock}", list(set(people)), list(set(years)))
    return {(r["person_id"], r["region"], r["year"]): _row(r) for r in rows}


async def save_enrollments(conn: asyncpg.Connection, items: Sequence[dict], now: datetime) -> None:
    if not items:
        return
    names = [c for c, _ in ENROLLMENT_COLUMNS]
    params = []
    for name, _ in ENROLLMENT_COLUMNS:
        values = [i.get(name) for i in items]
        if name == "policy_reasons":
            values = [json.dumps(v or [], ensure_ascii=False) for v in values]
        params.append(values)
    arrays = ", ".join(f"${n + 1}::{'text' if t == 'jsonb' else t}[]" for n, (_, t) in enumerate(ENROLLMENT_COLUMNS))
    selects = ", ".join(f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}" for c, t in ENROLLMENT_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c not in ("person_id", "region", "year"))
    await conn.execute(
        f"INSERT INTO enrollment ({', '.join(names)}, updated_at) "
        f"SELECT {selects}, ${len(names) + 1} FROM unnest({arrays}) AS u({', '.join(names)}) "
        f"ON CONFLICT (person_id, region, year) DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at",
        *params, now,
    )


async def coverable(conn: asyncpg.Connection, region: str, as_of: date) -> list[dict]:
    rows = await conn.fetch(
        "SELECT * FROM enrollment WHERE region = $1 AND state = 'paid' AND benefit_start <= $2 "
        "ORDER BY person_id, year FOR UPDATE", region, as_of)
    return [_row(r) for r in rows]


# --- what other services tell us -----------------------------------------------------------------

async def save_payments(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted], now: datetime) -> set[str]:
    """Record accepted receipts; returns the receipt numbers not seen before."""
    rows = await conn.fetch(
        """
        INSERT INTO payment (receipt_no, person_id, region, year, amount_fen, channel, paid_at, original_receipt_no,
                             recorded_at)
        SELECT n, p, r, y, a, c, t, o, $9 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[],
            $6::text[], $7::timestamptz[], $8::text[]) AS u(n, p, r, y, a, c, t, o)
        ON CONFLICT (receipt_no) DO NOTHING RETURNING receipt_no
        """,
        [r.receipt_no for r in receipts], [r.person_id for r in receipts], [r.region for r in receipts],
        [r.year for r in receipts], [r.amount_fen for r in receipts], [r.channel for r in receipts],
        [r.paid_at for r in receipts], [r.original_receipt_no for r in receipts], now,
    )
    return {r["receipt_no"] for r in rows}


async def save_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed], now: datetime) -> None:
    latest: dict[tuple[str, str, int], DueAssessed] = {}
    for d in dues:
        key = (d.person_id, d.region, d.year)
        if key not in latest or d.revision >= latest[key].revision:
            latest[key] = d
    items = list(latest.values())
    await conn.execute(
        """
        INSERT INTO due (person_id, region, year, standard_fen, subsidy_fen, due_fen, refund_after_fen, lines, reasons,
                         revision, updated_at)
        SELECT p, r, y, s, b, d, a, l::jsonb, x::jsonb, v, $11 FROM unnest($1::text[], $2::text[], $3::int[],
            $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::int[])
            AS u(p, r, y, s, b, d, a, l, x, v)
        ON CONFLICT (person_id, region, year) DO UPDATE SET standard_fen = EXCLUDED.standard_fen,
            subsidy_fen = EXCLUDED.subsidy_fen, due_fen = EXCLUDED.due_fen, refund_after_fen = EXCLUDED.refund_after_fen,
            lines = EXCLUDED.lines, reasons = EXCLUDED.reasons, revision = EXCLUDED.revision,
            updated_at = EXCLUDED.updated_at
        WHERE due.revision <= EXCLUDED.revision
        """,
        [d.person_id for d in items], [d.region for d in items], [d.year for d in items],
        [d.standard_fen for d in items], [d.subsidy_fen for d in items], [d.due_fen for d in items],
        [d.refund_after_fen for d in items],
        [json.dumps([line.model_dump() for line in d.lines], ensure_ascii=False) for d in items],
        [json.dumps(d.reasons, ensure_ascii=False) for d in items], [d.revision for d in items], now,
    )


async def save_statuses(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    latest = {(e.person_id, e.region): e for e in events}  # each event carries the full set: the last one wins
    await conn.execute(
        """
        INSERT INTO person_status (person_id, region, statuses, updated_at)
        SELECT p, r, s::jsonb, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(p, r, s)
        ON CONFLICT (person_id, region) DO UPDATE SET statuses = EXCLUDED.statuses, updated_at = EXCLUDED.updated_at
        """,
        [k[0] for k in latest], [k[1] for k in latest],
        [e.model_dump_json(include={"statuses"}) for e in latest.values()], now,
    )


async def statuses_of(conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[dict, ...]]:
    """(person, region) -> the statuses that region's departments certified."""
    keys = list(keys)
    rows = await conn.fetch(
        "SELECT s.person_id, s.region, s.statuses FROM person_status s "
        "JOIN unnest($1::text[], $2::text[]) AS k(p, r) ON s.person_id = k.p AND s.region = k.r",
        [k[0] for k in keys], [k[1] for k in keys])
    return {(r["person_id"], r["region"]): tuple(_j(r["statuses"]).get("statuses", [])) for r in rows}


# --- duplicate cases and refunds -----------------------------------------------------------------

async def open_case(conn: asyncpg.Connection, case: dict, now: datetime) -> bool:
    """Open a duplicate case; False when one for this dropped enrollment exists already."""
    inserted = await conn.fetchval(
        "INSERT INTO duplicate_case (id, person_id, year, kept, dropped_region, rule, explanation, arose_on, refund_id, "
        "opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (person_id, year, dropped_region) DO NOTHING RETURNING id",
        case["id"], case["person_id"], case["year"], case["kept"], case["dropped_region"], case["rule"],
        case["explanation"], case["arose_on"], case["refund_id"], now)
    return inserted is not None


async def save_refund(conn: asyncpg.Connection, refund: dict, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO refund (id, person_id, region, year, reason, requested_on, approved, amount_fen, explanation, "
        "policy_reasons, requested_by, duplicate_case_id, decided_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)",
        refund["id"], refund["person_id"], refund["region"], refund["year"], refund["reason"], refund["requested_on"],
        refund["approved"], refund["amount_fen"], refund["explanation"],
        list(refund["policy_reasons"]), refund["requested_by"],
        refund.get("duplicate_case_id"), now)


# --- the person's record (一人一档), one region's view -----------------------------------------------

async def person_record(conn: asyncpg.Connection, person_id: str, region: str) -> dict:
    """Everything this region holds about the person; nothing another region holds."""
    one = conn.fetchrow
    many = conn.fetch
    base = await one("SELECT township, village, name, source, imported_at FROM population "
                     "WHERE person_id = $1 AND region = $2", person_id, region)
    employee = await one("SELECT employer, insured_from, insured_to FROM employee_insurance "
                         "WHERE person_id = $1 AND region = $2", person_id, region)
    statuses = await conn.fetchval("SELECT statuses FROM person_status WHERE person_id = $1 AND region = $2",
                                   person_id, region)
    years = await many(
        "SELECT year, kind, state, paid_total_fen, township, village, hukou_region, residence_region, school_region, "
        "event_date, registered_on, registered_by, paid_on, benefit_start, benefit_end, waiting_months, waiting_days, "
        "policy_path, policy_reasons, covered_on, ended_on, end_reason FROM enrollment "
        "WHERE person_id = $1 AND region = $2 ORDER BY year", person_id, region)
    dues = await many("SELECT year, standard_fen, subsidy_fen, due_fen, refund_after_fen, lines, reasons, revision "
                      "FROM due WHERE person_id = $1 AND region = $2 ORDER BY year", person_id, region)
    payments = await many("SELECT receipt_no, year, amount_fen, channel, paid_at, original_receipt_no FROM payment "
                          "WHERE person_id = $1 AND region = $2 ORDER BY paid_at, receipt_no", person_id, region)
    refunds = await many("SELECT id, year, reason, requested_on, approved, amount_fen, explanation, requested_by, "
                         "duplicate_case_id, decided_at FROM refund WHERE person_id = $1 AND region = $2 "
                         "ORDER BY decided_at", person_id, region)
    cases = await many("SELECT id, year, kept, dropped_region, rule, explanation, arose_on, refund_id FROM duplicate_case "
                       "WHERE person_id = $1 AND (kept = $2 OR dropped_region = $2) ORDER BY opened_at", person_id, region)
    return {
        "baseline": dict(base) if base else None,
        "employee_insurance": dict(employee) if employee else None,
        "statuses": _j(statuses).get("statuses", []) if statuses else [],
        "enrollments": [{**dict(r), "policy_reasons": _j(r["policy_reasons"])} for r in years],
        "dues": [{**dict(r), "lines": _j(r["lines"]), "reasons": _j(r["reasons"])} for r in dues],
        "payments": [dict(r) for r in payments],
        "refunds": [dict(r) for r in refunds],
        "duplicate_cases": [dict(r) for r in cases],
    }
