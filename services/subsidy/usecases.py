"""What the subsidy service does, one function per use case, each on a unit of work (shared.uow).

The entry points only translate: the Kafka subscribers (handlers.py), the HTTP routes
(api.py) and the command line (cli.py) decode their input, call one of these and encode
the answer. A use case reads and writes through `uow.conn` (store.py), decides with the
pure core (domain/), raises its events with `uow.publish` (written to the outbox on
commit) and refreshes the due cache once the transaction has committed.

- facts in: `record_statuses`, `record_enrollments`, `record_receipts` save what another
  service announced and `reassess` every person-year it touches (statuses per person and
  region, the due on its own region's: domain/regions.py; one reassessment of a person at a
  time, whichever consumer or instance: store.lock_person_years); `reassess_year` decides
  everyone known for a year afresh (a new campaign);
- reads: `quote`, `person_lines`, `ledger_totals`, `find_refunds`, `refund`;
- changes: `move_refund`, `grant_credential`.

What a caller has to answer for is raised as `NotInRegion`, `Unassessable`, `UnknownRefund`
or `domain.refunds.RefundStepRefused`; none of them knows of HTTP.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args
from uuid import UUID, uuid4

import asyncpg

from services.subsidy import due_json, store
from services.subsidy.access import ROLES
from services.subsidy.cache import DueCache
from services.subsidy.domain.cases import Case, Decision, Enrollment, decide, due_on
from services.subsidy.domain.dues import Due
from services.subsidy.domain.refunds import advance
from services.subsidy.domain.regions import due_region
from services.subsidy.store import line_json
from services.subsidy.views import due_body
from shared import audit
from shared.access import Caller
from shared.db import text_set_id
from shared.logging import get_logger
from shared.messages import (
    EnrollmentEnded,
    EnrollmentRegistered,
    ReceiptAccepted,
    RefundOrdered,
    StatusChanged,
)
from shared.messages.enrollment import EnrollmentEvent
from shared.metrics import MESSAGES
from shared.policy import PolicyError
from shared.policy.dates import local_date
from shared.resident_id import mask, person_key
from shared.topics import DUE_ASSESSED, ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, REFUND_ORDERED, STATUS_CHANGED
from shared.uow import UnitOfWork

log = get_logger(__name__)
SERVICE = "subsidy"
Key = store.Key
# Opens a unit of work: for use cases that need none (a cached quote) or several (one per batch).
Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class NotInRegion(LookupError):
    """No row of the caller's region for this person and year. `foreign`: the ID is of another region."""

    def __init__(self, person_id: str, year: int, region: str) -> None:
        super().__init__(f"{mask(person_id)} {year}: nothing in region {region}")
        self.person_id, self.year, self.region = person_id, year, region

    @property
    def foreign(self) -> bool:
        return self.person_id[:6] != self.region


class Unassessable(LookupError):
    """The rules could not judge this person-year; `reason` says why."""

    def __init__(self, person_id: str, year: int, reason: str) -> None:
        super().__init__(f"{mask(person_id)} {year}: {reason}")
        self.person_id, self.year, self.reason = person_id, year, reason


class UnknownRefund(LookupError):
    """No refund order of this id in the caller's region (another region's is unknown too)."""

    def __init__(self, refund_id: UUID) -> None:
        super().__init__(str(refund_id))
        self.refund_id = refund_id


# -- facts in ---------------------------------------------------------------------------------------------------


async def record_statuses(uow: UnitOfWork, events: Sequence[StatusChanged], *, campaign_year: int,
                          dues: DueCache | None = None) -> None:
    """Status changes: each region's statuses of the person as that region last announced them (another
    region's set stays as it was); the campaign year and every year the person already has a due are
    reassessed."""
    if not events:
        return
    await store.save_people(uow.conn, events, uow.now)
    people = list(dict.fromkeys(e.person_id for e in events))
    keys = [(p, campaign_year) for p in people] + await store.due_years(uow.conn, people)
    await reassess(uow, keys, source=STATUS_CHANGED.name, dues=dues)


_FACTS = (EnrollmentRegistered, EnrollmentEnded)
# The other enrollment event types, by their wire name: the subscriber does not even decode them.
NOT_FACTS = tuple(m.model_fields["event_type"].default for m in get_args(get_args(EnrollmentEvent)[0])
                  if m not in _FACTS)


def enrollment_facts(events: Sequence[EnrollmentEvent]) -> list[EnrollmentEvent]:
    """The enrollment events that are facts here: registrations (a due, with or without a status) and endings
    (stop collecting). The others are not, not even claimed in the inbox: a payment counts by its accepted
    receipt, with its date, and at the December peak nearly every enrollment event is a payment."""
    return [e for e in events if isinstance(e, _FACTS)]


async def record_enrollments(uow: UnitOfWork, events: Sequence[EnrollmentEvent], *, dues: DueCache | None = None) -> None:
    """Registrations and endings (`enrollment_facts`) reassess the person-year's due."""
    kept = enrollment_facts(events)
    if not kept:
        return
    await store.save_enrollments(uow.conn, kept, uow.now)
    await reassess(uow, [(e.person_id, e.year) for e in kept], regions={(e.person_id, e.year): e.region for e in kept},
                   source=ENROLLMENT_EVENTS.name, dues=dues)


async def record_receipts(uow: UnitOfWork, receipts: Sequence[ReceiptAccepted], *, dues: DueCache | None = None) -> None:
    """Accepted receipts: who paid what and when, for the after-payment rules and 先缴后补 refunds. A gap year
    paid back (补缴) pays for no due: enrollment keeps it in the person's history. A receipt number counts
    once, ever: its payment row is its inbox record (a redelivered receipt reassesses no one)."""
    receipts = [r for r in receipts if not r.payback]
    if not receipts:
        return
    fresh = await store.save_payments(uow.conn, receipts, uow.now)
    receipts = [r for r in receipts if r.receipt_no in fresh]
    if not receipts:
        return
    await reassess(uow, [(r.person_id, r.year) for r in receipts], regions={(r.person_id, r.year): r.region for r in receipts},
                   source=RECEIPT_ACCEPTED.name, dues=dues)


async def reassess(uow: UnitOfWork, keys: Sequence[Key], *, source: str, regions: Mapping[Key, str] | None = None,
                   dues: DueCache | None = None) -> list[due_json.CurrentDue]:
    """Decide every person-year in `keys` afresh from all its facts; save dues, lines, refund orders and what
    could not be judged; raise the events; refresh `dues` after the commit. `regions`: where a person-year
    belongs when no fact says (the event that touched it); `source` names the trigger in the metrics.
    Returns the current due of each person-year assessed.

    The person-years are locked first, before their facts and dues are read: three consumers and every
    instance of the service reassess, and two doing the same person-year at once would both raise the
    same revision with different money."""
    await store.lock_person_years(uow.conn, keys)
    facts = await store.load_facts(uow.conn, keys)
    decided = decide_cases(uow, keys, facts, regions=regions or {}, source=source)
    await store.save_dues(uow.conn, decided.dues, uow.now)
    await store.clear_unassessed(uow.conn, [(d.person_id, d.year) for d in decided.current])
    await store.save_unassessed(uow.conn, decided.unassessed, uow.now)
    await store.save_refund_orders(uow.conn, decided.refunds, uow.now)
    if dues is not None:
        current = decided.current
        uow.after_commit(lambda: dues.put_dues(current))
    return decided.current


async def reassess_year(units: Units, year: int, *, batch: int, source: str,
                        dues: DueCache | None = None) -> tuple[int, int]:
    """Everyone known (a status, or an enrollment for `year`) decided afresh for `year`, `batch` people per
    unit of work: a new due revision only where the money changed. Returns (people, events raised)."""
    async with units() as uow:
        people = await store.people_of_year(uow.conn, year)
    raised = 0
    for start in range(0, len(people), batch):
        async with units() as uow:
            await reassess(uow, [(p, year) for p in people[start:start + batch]], source=source, dues=dues)
            raised += len(uow.events)
    return len(people), raised


# -- the decision, without I/O ----------------------------------------------------------------------------------


@dataclass
class Decided:
    """What deciding a batch of person-years gives: rows to save, and the current dues (for the cache)."""
    dues: list[store.DueRow] = field(default_factory=list)
    unassessed: list[store.Unassessed] = field(default_factory=list)
    refunds: list[store.NewRefund] = field(default_factory=list)
    current: list[due_json.CurrentDue] = field(default_factory=list)


def decide_cases(uow: UnitOfWork, keys: Sequence[Key], facts: store.Facts, *, regions: Mapping[Key, str],
                 source: str) -> Decided:
    """Each person-year's case decided on `uow.now`: due.assessed raised when the money, state or region
    changed (a new revision), refund.ordered for each refund now owed. A person-year of which not even
    a region is known is skipped; one the rules cannot judge is kept with the reason."""
    decided = Decided()
    for key in dict.fromkeys(keys):
        case = build_case(key, facts, regions.get(key))
        if case is None:
            continue
        try:
            decision = decide(case, local_date(uow.now))
        except PolicyError as err:
            MESSAGES.labels(SERVICE, source, "unassessed").inc()
            log.warning("no due assessed", region=case.region, year=case.year, error=err.one_line())
            decided.unassessed.append(store.Unassessed(case.person_id, case.year, case.region, err.one_line()))
            continue
        previous = facts.due.get(key)
        row, changed = due_row(case, decision, previous)
        if changed or not as_saved(row, previous):
            decided.dues.append(row)
        decided.current.append(due_json.cached(row))
        if changed:
            uow.publish(DUE_ASSESSED.name, due_key(case.person_id, case.year), due_json.event(row, uuid4(), uow.now))
        for refund in decision.refunds:
            order = store.NewRefund(uuid4(), case.person_id, case.year, case.region, case.township,
                                    refund.funding_source, refund.amount_fen, refund.reason)
            decided.refunds.append(order)
            uow.publish(REFUND_ORDERED.name, person_key(case.person_id),
                        RefundOrdered(message_id=uuid4(), occurred_at=uow.now, **order._asdict()))
    return decided


def build_case(key: Key, facts: store.Facts, fallback_region: str | None) -> Case | None:
    """All facts of one person-year as the pure core wants them, with the statuses of the region whose due it
    is (domain/regions.py); None when not even a region is known."""
    person, year = key
    e, pay, before = facts.enrollment.get(key), facts.payment.get(key), facts.due.get(key)
    listed = facts.person.get(person, {})
    region = due_region(enrolled=e["region"] if e else None, paid=pay["region"] if pay else None, listed=list(listed),
                        assessed=before["region"] if before else None, fallback=fallback_region)
    if region is None:
        return None
    p = listed.get(region)
    return Case(
        person_id=person, year=year, region=region,
        township=(e["township"] if e else None) or (p["township"] if p else None),
        statuses=tuple(p["statuses"]) if p else (),
        enrollment=Enrollment(e["kind"], e["state"], e["ended_on"], e["end_reason"], e["event_date"],
                              e["registered_on"]) if e else None,
        enrolled_years=frozenset(e.get("enrolled_years") or ()) if e else frozenset(),
        paid_back_years=frozenset(e.get("paid_back_years") or ()) if e else frozenset(),
        paid_fen=pay["paid_fen"] if pay else 0,
        first_paid_on=local_date(pay["first_paid_at"]) if pay and pay["first_paid_at"] else None,
        ordered_fen={r: amt for (pp, yy, r), amt in facts.ordered.items() if (pp, yy) == key},
    )


def due_row(case: Case, decision: Decision, previous: store.Row | None) -> tuple[store.DueRow, bool]:
    """The due to save, and whether it is a new revision: only when what the tax side acts on changed
    (money, state, region, or the payer's facts while it collects); reasons are kept current regardless."""
    due = decision.due
    payer = payer_of(case)
    changed = previous is None or previous["state"] != decision.state or Due(
        previous["standard_fen"], previous["subsidy_fen"], previous["due_fen"], previous["refund_after_fen"],
        tuple((x["category"], x["amount_fen"], x["funding_source"], x["mode"]) for x in previous["lines"]), (),
    ).money() != due.money() or previous["region"] != case.region or (
        decision.state == "active" and previous.get("payer") != payer)  # an ended due collects nothing: facts moot
    revision = (previous["revision"] if previous else 0) + (1 if changed else 0)
    return store.DueRow(case.person_id, case.year, case.region, case.township, due, revision, decision.state,
                        payer), changed


def as_saved(row: store.DueRow, previous: store.Row | None) -> bool:
    """The due is already saved as it is (the same revision, township, reasons and payer's facts): nothing to
    write. A person-year is often decided twice over, once on the receipt and once on the registration that
    follows it, or on a list's status and then the funded enrollment it brings, and the second decision is
    nearly always the first, and rewriting the row, its lines and their WAL would change nothing."""
    return (previous is not None and previous["revision"] == row.revision and previous.get("township") == row.township
            and previous.get("reasons_id") == text_set_id(row.due.reasons) and previous.get("payer") == row.payer)


def payer_of(case: Case) -> dict[str, Any]:
    """What the rules read about the person, for the tax side to judge each receipt on its own date: the kind and
    its event (from the registration), the statuses of the due's region, the history (from the registration) —
    as JSON in the shape of `PayerFacts` (stored with the due, compared for a new revision: no model per case)."""
    e = case.enrollment
    return {"kind": e.kind if e else "general", "event_date": _iso(e.event_date) if e else None,
            "statuses": [{"category": s["category"], "certified_on": _iso(s["certified_on"]),
                          "ended_on": _iso(s.get("ended_on"))} for s in case.statuses],
            "enrolled_years": sorted(case.enrolled_years), "paid_back_years": sorted(case.paid_back_years)}


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


def due_key(person_id: str, year: int) -> str:
    """The Kafka key of a due: one person-year's revisions stay in order on one partition."""
    return f"{person_key(person_id)}:{year}"


# -- reads ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """A due as the tax side asks for it: the cached JSON object as it is, or the row read from PostgreSQL."""
    source: Literal["cache", "database"]
    cached: str | None = None             # the cache's JSON text (an object)
    due: dict[str, Any] | None = None     # views.due_body of the stored due


async def quote(units: Units, dues: DueCache, person_id: str, year: int, region: str) -> Quote:
    """What `person_id` owes for `year`, asked by a caller of `region`: from the due cache, else from PostgreSQL
    (then cached for the next ask), so a unit of work is opened on a miss only. Raises NotInRegion, Unassessable."""
    cached = await dues.get_raw(person_id, year)
    cached_in = _cached_region(cached) if cached is not None else None
    if cached_in is not None:
        if cached_in != region:
            raise NotInRegion(person_id, year, region)
        return Quote("cache", cached=cached)
    async with units() as uow:
        row = await store.current_due(uow.conn, person_id, year)
        problem = None if row else await store.unassessed(uow.conn, person_id, year)
    found = row or problem
    if found is None or found["region"] != region:
        raise NotInRegion(person_id, year, region)
    if row is None:
        raise Unassessable(person_id, year, found["reason"])
    answer = due_body(row)
    await dues.put(person_id, year, answer)
    return Quote("database", due=answer)


async def quote_on(units: Units, person_id: str, year: int, region: str, day: date) -> dict[str, Any]:
    """What `person_id` owes for `year` if paying on `day`, asked by a caller of `region`: the rules on that day
    with everything known (a person nobody told us of is a general resident of the caller's region). Not
    cached: the tax side asks this for a payment outside the collection period, where the day decides (a
    later path, a surcharge, a subsidy lost). Raises NotInRegion, Unassessable."""
    key = (person_id, year)
    async with units() as uow:
        facts = await store.load_facts(uow.conn, [key])
        held = facts.due.get(key)
        if held is not None and held["state"] == "active" and held["due_fen"] == 0:
            held = await store.current_due(uow.conn, person_id, year)  # the same row, with its reasons
    case = build_case(key, facts, region)
    if case is None or case.region != region:
        raise NotInRegion(person_id, year, region)
    if held is not None and held["state"] == "active" and held["due_fen"] == 0:
        # fully subsidised: the fund paid and enrollment enrolled them on that due; nothing is collected, any day
        return {**due_body(held), "paid_on": day.isoformat(), "payable": True, "path": None, "benefit_start": None}
    if case.enrollment is not None and case.enrollment.state == "ended":  # nothing more is collected
        stopped = decide(case, day).due
        return {"region": region, "year": year, "paid_on": day.isoformat(), "payable": False, "path": None,
                "benefit_start": None, "standard_fen": stopped.standard_fen, "subsidy_fen": 0, "due_fen": None,
                "refund_after_fen": 0, "lines": [], "reasons": list(stopped.reasons)}
    try:
        a = due_on(case, day)
    except PolicyError as err:
        raise Unassessable(person_id, year, err.one_line()) from None
    due = Due.from_assessment(a)
    return {"region": region, "year": year, "paid_on": day.isoformat(), "payable": a.allowed,
            "path": a.path, "benefit_start": a.benefit_start.isoformat() if a.benefit_start else None,
            "standard_fen": due.standard_fen, "subsidy_fen": due.subsidy_fen,
            "due_fen": due.due_fen if a.allowed else None, "refund_after_fen": due.refund_after_fen,
            "lines": [line_json(x) for x in due.lines], "reasons": list(due.reasons)}


def _cached_region(cached: str) -> str | None:
    """The region of a cached due (whose region the answer belongs to), None if the entry is unreadable."""
    try:
        region: str | None = json.loads(cached).get("region")
        return region
    except (ValueError, AttributeError):  # not a JSON object: a miss, answered from PostgreSQL
        return None


async def person_lines(uow: UnitOfWork, person_id: str, year: int, region: str) -> list[asyncpg.Record]:
    """One person's subsidy lines of a year in `region`; NotInRegion when there are none and the ID is of
    another region (none for a person of the region is an empty answer)."""
    lines = await store.person_lines(uow.conn, person_id, year, region)
    if not lines and person_id[:6] != region:
        raise NotInRegion(person_id, year, region)
    return lines


async def ledger_totals(uow: UnitOfWork, region: str, year: int) -> list[asyncpg.Record]:
    """Subsidy totals per township, funding source and mode: what each fund owes the pool."""
    return await store.line_totals(uow.conn, region, year)


async def find_refunds(uow: UnitOfWork, *, person_id: str | None = None, region: str | None = None,
                       year: int | None = None, township: str | None = None,
                       state: str | None = None) -> list[asyncpg.Record]:
    """Refund orders matching every filter given (at most 1000, oldest first)."""
    return await store.refund_orders(uow.conn, person_id=person_id, region=region, year=year, township=township,
                                     state=state)


async def refund(uow: UnitOfWork, region: str, refund_id: UUID) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """A refund order of `region` and its steps; UnknownRefund for one of another region, as for none."""
    row = await store.refund_order(uow.conn, refund_id)
    if row is None or row["region"] != region:
        raise UnknownRefund(refund_id)
    return row, await store.refund_history(uow.conn, refund_id)


# -- changes ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundMove:
    """A step asked for: the state wanted, who takes it (name or office), the paying township, a note."""
    to: str
    actor: str
    township: str | None = None
    note: str | None = None


async def move_refund(uow: UnitOfWork, caller: Caller, refund_id: UUID, step: RefundMove) -> asyncpg.Record:
    """ordered → paid (by the order's township) → confirmed, on an order of the caller's region; the step is kept
    with who took it and whose credential recorded it, and audited. Returns the order as it now is.
    Raises UnknownRefund, RefundStepRefused."""
    row = await store.refund_order(uow.conn, refund_id, for_update=True)
    if row is None or row["region"] != caller.region:
        raise UnknownRefund(refund_id)
    moved = advance(row["state"], step.to, order_township=row["township"], actor_township=step.township)
    await store.move_refund(uow.conn, refund_id, moved.from_state, moved.to_state, step.actor, step.note, uow.now,
                            recorded_by=caller.holder)
    await audit.record(uow.conn, actor=f"{caller.role}/{caller.region}/{caller.holder}", action="refund.moved",
                       subject=f"refund:{refund_id}",
                       detail={"from": moved.from_state, "to": moved.to_state, "actor": step.actor})
    moved_row = await store.refund_order(uow.conn, refund_id)
    assert moved_row is not None, "locked in this transaction"
    return moved_row


async def grant_credential(uow: UnitOfWork, region: str, role: str, holder: str) -> str:
    """A credential for the subsidy HTTP API (roles: access.py); its token is returned once, only its hash kept.
    Raises ValueError for a region that is not 6 digits or an unknown role."""
    return await ROLES.grant(uow.conn, region, role, holder)
