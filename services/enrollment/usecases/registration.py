"""Registering people (one from a village agent, or thousands from the CLI) in one transaction.

Loads the facts for all people of the request at once, decides each registration in
order (so a bulk list sees its own earlier rows), saves the registered enrollments, keeps
every refusal with its reason (the office finds it in the person's record) and answers
each registration with the policy's reasons. Once committed, each answer is counted by
region, outcome and reason code (`yibao_registrations_total`): count in = accepted + refused.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from uuid import uuid4

from services.enrollment import events, store
from services.enrollment.domain import history, lifecycle, registration
from services.enrollment.domain.enrollment import Enrollment, Home, Key, Place
from services.enrollment.domain.history import Year as HistoryYear
from services.enrollment.domain.policy_view import Statuses
from services.enrollment.domain.registration import Decision, EmployeeCover, Facts, Refusal, Request
from shared.access import Caller
from shared.logging import get_logger
from shared.metrics import REGISTRATIONS
from shared.resident_id import birth_date_of
from shared.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Application:
    """A registration as asked for: the region is the caller's; the day defaults to today in China."""

    person_id: str
    year: int
    kind: str = "general"
    hukou_region: str | None = None
    residence_region: str | None = None
    school_region: str | None = None
    event_date: date | None = None
    registered_on: date | None = None
    enrolled_years: tuple[int, ...] = ()
    zero_reimbursement_years: tuple[int, ...] = ()

    def request(self, region: str, today: date) -> Request:
        return Request(person_id=self.person_id, region=region, year=self.year, kind=self.kind,
                       registered_on=self.registered_on or today, hukou_region=self.hukou_region,
                       residence_region=self.residence_region, school_region=self.school_region,
                       event_date=self.event_date, enrolled_years=self.enrolled_years,
                       zero_reimbursement_years=self.zero_reimbursement_years)


class Answer(NamedTuple):
    line_no: int          # from 1, in the order asked
    request: Request
    decision: Decision


class Known(NamedTuple):
    """What the store holds about the people of a registration list."""

    enrollments: Mapping[Key, Enrollment]
    places: Mapping[Home, Place]
    covers: Mapping[str, Sequence[EmployeeCover]]
    statuses: Mapping[Home, Statuses]
    histories: Mapping[str, tuple[list[HistoryYear], list[int]]] = {}  # person -> (kept years, paid years)


async def register(uow: UnitOfWork, caller: Caller, applications: Sequence[Application]) -> list[Answer]:
    """Register each application in the caller's region; one answer per application, in order."""
    requests = [a.request(caller.region, lifecycle.china_day(uow.now)) for a in applications]
    people = sorted({r.person_id for r in requests})
    homes = {(p, caller.region) for p in people}
    known = Known(
        enrollments=await store.enrollments_of(uow.conn, people, sorted({r.year for r in requests}), for_update=True),
        places=await store.places(uow.conn, homes), covers=await store.employee_covers(uow.conn, people),
        statuses=await store.statuses_of(uow.conn, homes), histories=await store.histories(uow.conn, people),
    )
    answers, changed = decide(uow, caller, requests, known)
    await store.save_enrollments(uow.conn, changed, uow.now)
    await store.save_history(uow.conn, declared_history(caller, answers), uow.now)
    await store.save_refusals(uow.conn, refusals(caller, answers), uow.now)
    uow.after_commit(lambda: _count(caller.region, answers))
    return answers


def declared_history(caller: Caller, answers: Sequence[Answer]) -> list[tuple[str, HistoryYear, str | None, str]]:
    """The history years registrations that were accepted declared, kept for every later year's rules."""
    return [(a.request.person_id, y, None, f"registration:{caller.holder}") for a in answers
            if a.decision.outcome == "registered"
            for y in history.declared(a.request.enrolled_years, a.request.zero_reimbursement_years)]


def history_of(req: Request, kept: tuple[list[HistoryYear], list[int]] | None) -> history.History:
    """The history the rules read for this request: what is kept, what enrollment saw paid, what it declares."""
    stored, paid = kept or ([], [])
    born = birth_date_of(req.person_id).year
    return history.history_for(req.year, [*stored, *history.declared(req.enrolled_years, req.zero_reimbursement_years)],
                               paid, born_in=born)


def refusals(caller: Caller, answers: Sequence[Answer]) -> list[Refusal]:
    """The refused answers as the rows to keep, each with its own id, the line it stood on and who asked."""
    return [registration.refusal(a.request, a.decision, refusal_id=uuid4(), line_no=a.line_no, by=caller.holder)
            for a in answers if a.decision.outcome == "refused"]


async def _count(region: str, answers: Sequence[Answer]) -> None:
    """Counted after the commit only: a rolled-back request kept nothing, so it counts nothing. The log line
    names no person (the refusals are in the store, by person); it says how many, and why."""
    tally = registration.tally(a.decision for a in answers)
    for (outcome, reason_code), n in tally.items():
        REGISTRATIONS.labels(region, outcome, reason_code).inc(n)
    refused = {code: n for (outcome, code), n in sorted(tally.items()) if outcome == "refused"}
    if refused:
        log.info("registrations refused", region=region, asked=len(answers), refused=refused)


def decide(uow: UnitOfWork, caller: Caller, requests: Sequence[Request],
           known: Known) -> tuple[list[Answer], list[Enrollment]]:
    """The decision of `register`, in memory: each request judged against what is known and the rows
    registered before it; registered enrollments announced. Returns the answers and the new enrollments."""
    states: dict[tuple[str, int], dict[str, str]] = {}  # (person, year) -> region -> state, grouped once
    for (person, region, year), row in known.enrollments.items():
        states.setdefault((person, year), {})[region] = row.state
    answers, changed = [], []
    for line, req in enumerate(requests, start=1):
        home = (req.person_id, req.region)
        had = history_of(req, known.histories.get(req.person_id))
        facts = Facts(in_baseline=home in known.places, states=dict(states.get((req.person_id, req.year), {})),
                      employee=tuple(known.covers.get(req.person_id, ())), statuses=known.statuses.get(home, ()),
                      history=had)
        decision = registration.decide(req, facts)
        if decision.outcome == "registered":
            row = lifecycle.registered(req, decision, known.places.get(home), caller.holder, had)
            states.setdefault((req.person_id, req.year), {})[req.region] = row.state
            changed.append(row)
            uow.publish_all([events.registered(row, decision.due_fen, uow.now)])
        answers.append(Answer(line, req, decision))
    return answers, changed
