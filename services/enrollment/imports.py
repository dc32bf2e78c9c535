"""Importing a region's household register (the coverage denominator) or employee-insurance roster.

One transaction per list: accepted rows upserted in one statement, refused rows kept
with their reason, the counts recorded (in = accepted + refused). Household rows
are announced on population.baseline for reconciliation's coverage rates; a roster
that overlaps a paid resident enrollment opens duplicate cases at once.
"""
from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import asyncpg

from services.enrollment import cases, events, store
from services.enrollment.domain import baseline
from shared.outbox import Outgoing


async def run(conn: asyncpg.Connection, who: store.Caller, list_name: str, rows: list[dict], source: str,
              file_name: str | None, unknown_headers: list[str], now: datetime) -> tuple[dict, list[Outgoing]]:
    outgoing: list[Outgoing] = []
    if list_name == "household":
        judged = baseline.households(rows, who.region)
        people = judged.accepted
        await store.import_baseline(conn, [(h.person_id, who.region, h.township, h.village, h.name) for h in people],
                                    source, now)
        outgoing = [events.baselined(h.person_id, who.region, h.township, h.village, h.name, source, now)
                    for h in people]
    else:
        judged = baseline.employees(rows, who.region)
        people = judged.accepted
        await store.import_employees(conn, [(e.person_id, who.region, e.employer, e.insured_from, e.insured_to)
                                            for e in people], source, now)
        if people:
            outgoing = await cases.settle_employees(conn, [e.person_id for e in people], now)
    import_id = uuid4()
    await store.record_import(conn, import_id=import_id, region=who.region, list_name=list_name, source=source,
                              file_name=file_name, accepted=len(people), rejected=judged.rejected,
                              unknown_headers=unknown_headers, by=who.holder, now=now)
    result = {
        "import_id": str(import_id), "list": list_name, "region": who.region,
        "rows_total": len(people) + len(judged.rejected), "rows_accepted": len(people),
        "rows_rejected": len(judged.rejected), "imported": len(people),
        "rejected": [{"line_no": line, "person": masked, "reason_code": code, "reason": reason}
                     for line, masked, code, reason in judged.rejected],
        "unknown_headers": unknown_headers,
        "duplicate_cases": sum(o.message.event_type == "enrollment.duplicate-found" for o in outgoing),
    }
    return result, outgoing
