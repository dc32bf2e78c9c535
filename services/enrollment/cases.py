"""Duplicate cases and refunds inside the caller's transaction: decide (pure), save, return events.

Used by the receipt handler (a payment that makes a second valid enrollment), the
employee-roster import (a roster that overlaps a paid resident enrollment) and
the refund requests of the HTTP API.
"""
from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import asyncpg

from services.enrollment import events, store
from services.enrollment.domain import duplicates, lifecycle, refunds
from services.enrollment.domain.registration import EmployeeCover
from shared.outbox import Outgoing

PAID = lifecycle.PAID_STATES


def _paid(row: dict) -> duplicates.Paid | None:
    if row["state"] not in PAID or row["benefit_start"] is None or row["paid_on"] is None:
        return None
    return duplicates.Paid(row["region"], row["kind"], row["paid_on"], row["benefit_start"], row["benefit_end"])


def residence_of(rows: list[dict], baseline_regions: set[str]) -> str | None:
    """The declared residence permit region, else the one household register that lists the person."""
    declared = sorted({r["residence_region"] for r in rows if r.get("residence_region")})
    if declared:
        return declared[0]
    return next(iter(baseline_regions)) if len(baseline_regions) == 1 else None


def find(rows: dict[tuple[str, str, int], dict], newly_paid: set[tuple[str, str, int]],
         covers: dict[str, list[EmployeeCover]], baseline: dict[str, set[str]]) -> list[duplicates.Resolution | None]:
    """For each newly paid enrollment, the duplicate it makes (if any): pure, over in-memory rows."""
    found = []
    by_person_year: dict[tuple[str, int], list[dict]] = {}
    for (p, _, y), r in rows.items():  # grouped once: no scan of the whole batch per receipt
        by_person_year.setdefault((p, y), []).append(r)
    for key in sorted(newly_paid):
        person, region, year = key
        row = rows[key]
        mine = _paid(row)
        if mine is None or row["state"] not in PAID:
            continue
        resolution = next(filter(None, (duplicates.against_employee(mine, c) for c in covers.get(person, []))), None)
        if resolution is None:
            same_year = by_person_year[(person, year)]
            residence = residence_of(same_year, baseline.get(person, set()))
            for other in same_year:
                theirs = _paid(other)
                if other is not row and theirs is not None:
                    resolution = duplicates.between_regions(theirs, mine, residence)
                    if resolution:
                        break
        if resolution:
            found.append((person, year, resolution))
    return found


async def settle(conn: asyncpg.Connection, rows: dict[tuple[str, str, int], dict],
                 found: list, statuses: dict, now: datetime) -> list[Outgoing]:
    """Open each case, end the dropped enrollment, decide its refund; rows are updated in place."""
    outgoing: list[Outgoing] = []
    for person, year, r in found:
        dropped = rows[(person, r.dropped, year)]
        kept = rows.get((person, r.kept, year))
        if dropped["state"] not in PAID or (kept is not None and kept["state"] not in PAID):
            continue  # an earlier case of this batch settled this pair already
        case = {"id": uuid4(), "person_id": person, "year": year, "kept": r.kept, "dropped_region": r.dropped,
                "rule": r.rule, "explanation": r.explanation, "arose_on": r.arose_on, "refund_id": uuid4()}
        if not await store.open_case(conn, case, now):
            continue
        refund, more = await _refund_and_end(conn, dropped, r.refund_reason, r.arose_on, statuses, "duplicate_case",
                                             now, case_id=case["id"], refund_id=case["refund_id"])
        outgoing += [events.duplicate_found(dropped, case, now), *more]
    return outgoing


async def _refund_and_end(conn, row: dict, reason: str, requested_on: date, statuses: dict, by: str,
                          now: datetime, *, case_id=None, refund_id=None, end_anyway: bool = True):
    outcome = refunds.decide(_paid_enrollment(row, statuses), reason, requested_on)
    refund = {"id": refund_id or uuid4(), "person_id": row["person_id"], "region": row["region"], "year": row["year"],
              "reason": reason, "requested_on": requested_on, "approved": outcome.approved,
              "amount_fen": outcome.amount_fen, "explanation": outcome.explanation,
              "policy_reasons": outcome.reasons, "requested_by": by, "duplicate_case_id": case_id}
    await store.save_refund(conn, refund, now)
    out = []
    if outcome.approved or end_anyway:
        lifecycle.end(row, reason, requested_on)
        out.append(events.ended(row, now, case_id))
    out.append(events.refund_decided(row, refund, now))
    return refund, out


def _paid_enrollment(row: dict, statuses: dict) -> refunds.PaidEnrollment:
    return refunds.PaidEnrollment(
        person_id=row["person_id"], region=row["region"], year=row["year"], kind=row["kind"], paid_on=row["paid_on"],
        paid_total_fen=row["paid_total_fen"],
        event_date=row["event_date"] if row["event_date"] and row["event_date"] <= row["paid_on"] else None,
        hukou_region=row["hukou_region"], residence_region=row["residence_region"],
        statuses=statuses.get((row["person_id"], row["region"]), ()),
    )


async def request_refund(conn: asyncpg.Connection, row: dict, reason: str, requested_on: date, by: str,
                         now: datetime) -> tuple[dict, list[Outgoing]]:
    """A refund asked for at the counter: approved ends the enrollment; refused leaves it as it is."""
    statuses = await store.statuses_of(conn, [(row["person_id"], row["region"])])
    return await _refund_and_end(conn, row, reason, requested_on, statuses, by, now, end_anyway=False)


async def settle_employees(conn: asyncpg.Connection, people: list[str], now: datetime) -> list[Outgoing]:
    """After an employee roster import: paid resident enrollments that overlap it become duplicate cases."""
    covers = await store.employee_covers(conn, people)
    rows = await conn.fetch("SELECT DISTINCT year FROM enrollment WHERE person_id = ANY($1::text[]) "
                            "AND state IN ('paid', 'covered')", people)
    if not rows:
        return []
    current = await store.enrollments_of(conn, people, [r["year"] for r in rows], for_update=True)
    paid_keys = {k for k, r in current.items() if r["state"] in PAID}
    found = find(current, paid_keys, covers, {})
    found = [f for f in found if f[2].kept == duplicates.EMPLOYEE]
    statuses = await store.statuses_of(conn, {(p, r) for p, r, _ in paid_keys})
    outgoing = await settle(conn, current, found, statuses, now)
    await store.save_enrollments(conn, [current[(p, f.dropped, y)] for p, y, f in found], now)
    return outgoing
