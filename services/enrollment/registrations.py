"""Registration requests (one from a village agent, or thousands from the CLI) in one transaction.

Loads the facts for all people of the request at once, decides each request in
order (so a bulk list sees its own earlier rows), saves the registered rows and
returns one answer per request with the policy's reasons.
"""
from __future__ import annotations

from datetime import date, datetime

import asyncpg

from services.enrollment import events, store
from services.enrollment.domain import lifecycle, registration
from services.enrollment.domain.registration import Facts, Request
from shared.outbox import Outgoing
from shared.resident_id import mask


def request_of(body: dict, region: str, today: date) -> Request:
    return Request(
        person_id=body["id"], region=region, year=body["year"], kind=str(body["kind"]),
        registered_on=body.get("registered_on") or today, hukou_region=body.get("hukou_region"),
        residence_region=body.get("residence_region"), school_region=body.get("school_region"),
        event_date=body.get("event_date"),
    )


async def run(conn: asyncpg.Connection, requests: list[Request], who: store.Caller,
              now: datetime) -> tuple[list[dict], list[Outgoing]]:
    people = sorted({r.person_id for r in requests})
    rows = await store.enrollments_of(conn, people, sorted({r.year for r in requests}), for_update=True)
    homes = {(p, who.region) for p in people}
    places = await store.places(conn, homes)
    covers = await store.employee_covers(conn, people)
    statuses = await store.statuses_of(conn, homes)
    answers, outgoing, changed = [], [], []
    states: dict[tuple[str, int], dict[str, str]] = {}  # (person, year) -> region -> state, grouped once
    for (p, r, y), row in rows.items():
        states.setdefault((p, y), {})[r] = row["state"]
    for line, req in enumerate(requests, start=1):
        facts = Facts(
            in_baseline=(req.person_id, req.region) in places,
            states=dict(states.get((req.person_id, req.year), {})),
            employee=tuple(covers.get(req.person_id, ())), statuses=statuses.get((req.person_id, req.region), ()),
        )
        decision = registration.decide(req, facts)
        if decision.outcome == "registered":
            row = _registered_row(req, decision, places.get((req.person_id, req.region)), who)
            rows[(req.person_id, req.region, req.year)] = row
            states.setdefault((req.person_id, req.year), {})[req.region] = row["state"]
            changed.append(row)
            outgoing.append(events.registered(row, decision.due_fen, now))
        answers.append({
            "line_no": line, "person": mask(req.person_id), "year": req.year, "kind": req.kind,
            "outcome": decision.outcome, "reason_code": decision.reason_code, "reasons": list(decision.reasons),
            "expected_due_fen": decision.due_fen, "expected_benefit_start": decision.benefit_start,
            "benefit_end": decision.benefit_end, "path": decision.path,
        })
    await store.save_enrollments(conn, changed, now)
    return answers, outgoing


def _registered_row(req: Request, decision: registration.Decision, place: dict | None, who: store.Caller) -> dict:
    row = lifecycle.new_row(req.person_id, req.region, req.year, place)
    row.update(kind=req.kind, hukou_region=decision.hukou_region, residence_region=req.residence_region,
               school_region=req.school_region, event_date=req.event_date, registered_on=req.registered_on,
               registered_by=who.holder)
    return row
