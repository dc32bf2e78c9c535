"""The differential check: the running system's final record of each person against the policy engine's answer.

For a generated population (tests/support/population.py), three things kept apart:

- `expect(person, today)` — the engine's answer for the person's facts (`shared.policy.assess` on a
  `Scenario` built from them), as the final record should show it. Pure. What ties the two together,
  each from DOMAIN.md or the seeds:
    * a registration is the engine's question on the registration day, with the statuses posted by then
      (refused when not allowed, with the engine's last reason code; `policy_error` when it cannot be
      judged, e.g. an event after that day); an accepted one brings the kind, its event and the declared
      history (years of cover, zero-reimbursement years); a refused one brings nothing, so a payment after
      it is a general resident's;
    * someone fully subsidised (资助参保, §3: due 0, subsidy lines paying all of it) by the statuses posted
      before they come to the counter is enrolled by the fund then, as a general resident; a registration
      after that is answered 'already';
    * a payment is judged on the person's local pay day (Asia/Shanghai, §3), with every status and the
      years paid back: allowed, it is paid — covered once the benefit start has come — and the due of that
      day is what is collected and what the record says; refused, the person stays unpaid;
    * nobody pays a due of 0: the fund pays on its day, and then the person is covered with nothing paid,
      `funded_by` naming the funds. Its day, which is also the day an unpaid person's due is judged on: a
      day of the collection period (today, or its nearest end), or for a registration made after it — or
      whose event or birth comes after it — the registration day (the day the counter answered on);
    * whoever the subsidy service knows (registered, or with a status) and has not paid shows the due of
      that day; someone it does not know shows none.
- `drive(chain, people)` — the same facts through the running services by their public interfaces only
  (tests/support/chain.py): the household register; the departments' lists in three instalments, as each
  person met them (what was posted before they came to the counter or paid, then before they paid, then
  the rest); the registrations in bulk; the gap years paid back; the quote the tax gateway asks for each
  payer and their receipts in one batch on the gateway's topic, each of the amount the quote answered (the
  standard when it answers nothing); the office's coverage step; every person's record (一人一档).
- `compare(...)` — field by field (FIELDS: state, due, refund after (先缴后补), subsidy lines, paid total,
  benefit start and end, waiting months and days, critical-illness cap, funded_by, path, refused reason);
  each divergence a row (person masked, field, system, engine, fact group); `report` groups them.

`PENDING` names the fact groups found diverging whose fix is pending, each with why (none today): a run leaves
them out unless `Selection` switches them on, so that the check passes on what the system handles and fails on
anything new; switch a group on to check a fix against it.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.policy import Assessment, PolicyError, assess, load_pack, parse_scenario
from shared.resident_id import mask, person_key
from shared.topics import RECEIPT_RECEIVED
from tests.support.chain import Chain
from tests.support.kafka import produce
from tests.support.people import encode, receipt
from tests.support.population import YEAR, Certified, Resident, channel_of, collection, generate
from tests.support.system import SERVICES

PAYBACK = "resident_medical_insurance_payback"   # the receipt item of a gap year paid back (补缴)
FIELDS = ("state", "due_fen", "refund_after_fen", "lines", "paid_total_fen", "benefit_start", "benefit_end",
          "waiting_months", "waiting_days", "cap_adjustment_fen", "funded_by", "path", "refused")
Outcome = dict[str, Any]   # one value per FIELDS


# -- the engine's answer ----------------------------------------------------------------------------------------


def _blank() -> Outcome:
    return {"state": "none", "due_fen": None, "refund_after_fen": None, "lines": None, "paid_total_fen": 0, "benefit_start": None, "benefit_end": None,
            "waiting_months": 0, "waiting_days": 0, "cap_adjustment_fen": 0, "funded_by": None, "path": None,
            "refused": None}


def ask(r: Resident, day: date, *, kind: str, event: date | None, statuses: Sequence[Certified],
        hukou: str | None = None, residence: str | None = None, history: bool = False) -> Assessment:
    """The engine's question for `r` paying on `day` (raises PolicyError when it cannot be judged); `history`: the
    earlier years the registration declared and the gap years paid back count (they reach the system only with an
    accepted registration)."""
    data: dict[str, Any] = {
        "region": r.region, "year": YEAR, "kind": kind, "payment_date": day.isoformat(),
        "person": {"id": r.id, "hukou_region": hukou, "residence_region": residence},
        "statuses": [{"category": s.category, "certified_on": s.certified_on.isoformat(),
                      "ended_on": s.ended_on.isoformat() if s.ended_on else None} for s in statuses],
    }
    if history:
        data.update(enrolled_years=list(r.enrolled_years), paid_back_years=list(r.paid_back_years),
                    zero_reimbursement_years=list(r.zero_reimbursement_years))
    if event is not None:
        data["event_date"] = event.isoformat()
    return assess(parse_scenario(data))


def _asked(question: Callable[[], Assessment]) -> Assessment | None:
    try:
        return question()
    except PolicyError:
        return None


def fully_subsidised(a: Assessment | None) -> bool:
    """Nothing to pay because subsidy lines pay the whole contribution (DOMAIN.md §3: 资助参保)."""
    return (a is not None and a.allowed and a.due_fen == 0 and bool(a.subsidies)
            and a.subsidy_total_fen >= a.standard_fen > 0)


def fund_day(r: Resident, today: date, registered: bool) -> date:
    """The day the fund pays for someone who owes nothing, and the day an unpaid person's due is judged on: a
    day of the collection period (today, or its nearest end); for an accepted registration made after it, or
    whose event or birth comes after it, the registration day (never before the event or birth) — the day the
    registration itself was judged on, so that what the counter answered is what the record says."""
    start, end = collection(r.region)
    day = min(max(today, start), end)
    if registered and r.registered_on is not None:
        later = max(r.registered_on, r.birth_date, r.event_date or r.birth_date)
        if later > day:
            return later
    return day


def _before(event: date | None, day: date) -> date | None:
    return event if event is not None and event <= day else None


def _due(a: Assessment | None) -> Outcome:
    """The due's fields: what the tax side collects, what is refunded later (先缴后补), and the subsidy lines as
    `category:amount:funding source:mode` (category `kind` for a line a welfare institution pays)."""
    if a is None:
        return {"due_fen": None, "refund_after_fen": None, "lines": None}
    return {"due_fen": a.due_fen, "refund_after_fen": a.refund_after_fen,
            "lines": lines_of((str(x.category or "kind"), x.amount_fen, str(x.funding_source), str(x.mode))
                              for x in a.subsidies)}


def lines_of(lines: Iterable[tuple[str, int, str, str]]) -> str:
    return " ".join(sorted(f"{c}:{a}:{f}:{m}" for c, a, f, m in lines)) or "-"


def _enrolled(a: Assessment, today: date, *, paid: int, funded_by: str | None) -> Outcome:
    start = a.benefit_start
    return {**_blank(), **_due(a), "state": "covered" if start is not None and start <= today else "paid",
            "paid_total_fen": paid, "benefit_start": start, "benefit_end": a.benefit_end,
            "waiting_months": a.waiting_months, "waiting_days": a.waiting_days,
            "cap_adjustment_fen": a.critical_illness_cap_adjustment_fen, "funded_by": funded_by, "path": a.path}


@dataclass(frozen=True)
class AtCounter:
    """What the counter and the funds made of the person before any payment (the first steps of `expect`)."""

    registered: bool             # the registration was accepted: the kind and event reach the system
    refused: str | None          # the refused registration's reason code
    funded_first: bool           # enrolled by a fund before coming to the counter (the registration: 'already')
    kind: str
    event: date | None
    known: bool                  # the subsidy service assesses the person (registered, or with a status)
    day: date                    # the fund's day, and the day an unpaid person's due is judged on


def at_the_counter(r: Resident, today: date) -> AtCounter:
    # Fully subsidised by what was certified before the person came to the counter or paid: enrolled by the fund
    # (as a general resident, on the fund's day); a registration after that is answered 'already'.
    first = r.statuses_as_of(r.first_act)
    funded_first = bool(first) and fully_subsidised(_asked(lambda: ask(
        r, fund_day(r, today, False), kind="general", event=None, statuses=first)))
    registered, refused = False, None
    if r.registered_on is not None and not funded_first:
        hukou = r.hukou_region or (r.region if r.in_baseline else None)
        try:
            a = ask(r, r.registered_on, kind=r.kind, event=r.event_date, statuses=r.statuses_as_of(r.registered_on),
                    hukou=hukou, residence=r.residence_region, history=True)
            registered = a.allowed
            if not a.allowed:
                refused = a.reasons[-1].code if a.reasons else "policy_refused"
        except PolicyError:
            refused = "policy_error"
    return AtCounter(registered, refused, funded_first, r.kind if registered else "general",
                    r.event_date if registered else None, registered or bool(r.statuses),
                    fund_day(r, today, registered))


def season_due(r: Resident, c: AtCounter) -> Assessment | None:
    """The due the subsidy service holds for the person before they pay (what the quote answers), on the fund's
    day with the statuses posted by then; None when it knows nothing of them or cannot judge them."""
    if not c.known:
        return None
    return _asked(lambda: ask(r, c.day, kind=c.kind, event=_before(c.event, c.day), statuses=r.statuses_as_of(r.pay_day),
                              history=c.registered))


def on_pay_day(r: Resident, c: AtCounter) -> Assessment | None:
    """The engine's answer for the payment on the person's local pay day (None: no payment, or not judgeable)."""
    pay = r.pay_day
    if pay is None:
        return None
    place = ((r.hukou_region or (r.region if r.in_baseline else None)), r.residence_region) if c.registered \
        else ((r.region if r.in_baseline else None), None)
    return _asked(lambda: ask(r, pay, kind=c.kind, event=_before(c.event, pay), statuses=r.statuses,
                              hukou=place[0], residence=place[1], history=c.registered))


def expect(r: Resident, today: date) -> Outcome:
    """What the final record should say of `r`, by the engine (see the module's conventions)."""
    c = at_the_counter(r, today)
    if r.pay_day is not None and not fully_subsidised(season_due(r, c)):
        paid = on_pay_day(r, c)
        if paid is not None and paid.allowed:
            return {**_enrolled(paid, today, paid=paid.due_fen, funded_by=None), "refused": c.refused}

    unpaid = _asked(lambda: ask(r, c.day, kind=c.kind, event=_before(c.event, c.day), statuses=r.statuses,
                                history=c.registered)) if c.known else None
    if fully_subsidised(unpaid):
        assert unpaid is not None
        funds = "+".join(dict.fromkeys(str(line.funding_source) for line in unpaid.subsidies))
        return {**_enrolled(unpaid, today, paid=0, funded_by=funds), "refused": c.refused}
    return {**_blank(), **_due(unpaid), "refused": c.refused,
            "state": "registered" if c.registered else ("refused" if c.refused else "none")}


# -- the fact groups the system does not handle yet -----------------------------------------------------------------



@dataclass(frozen=True)
class Pending:
    """A fact group the system does not (yet) decide as the engine does: left out of a run unless switched on."""

    name: str
    holds: Callable[[Resident], bool]
    why: str


# Fact groups found diverging are listed here, with why, while their fix is pending (switched on by name to see
# them). The three found first (a late payer told the collection-period due, a fund's day after the period read
# from the event only, equal subsidies decided by the statuses' order) were fixed and are compared in every run.
PENDING: tuple[Pending, ...] = ()
PENDING_NAMES = tuple(p.name for p in PENDING)


@dataclass(frozen=True)
class Selection:
    """Which people a run takes: every fact group but the pending ones not switched on; `history`: people come with
    earlier years of cover, zero-reimbursement years and gap years paid back (off: everyone enrols for the first
    time, as a build before history reached the engine needs)."""

    pending: frozenset[str] = frozenset()
    history: bool = True

    @classmethod
    def of(cls, pending: Iterable[str] = (), *, history: bool = True) -> Selection:
        names = {n.strip() for n in pending if n.strip()}
        if "all" in names:
            names = set(PENDING_NAMES)
        unknown = names - set(PENDING_NAMES)
        if unknown:
            raise ValueError(f"unknown fact groups {sorted(unknown)}; known: {', '.join(PENDING_NAMES)}, all")
        return cls(frozenset(names), history)

    def takes(self, r: Resident) -> bool:
        return all(p.name in self.pending or not p.holds(r) for p in PENDING)

    def people(self, seed: int, size: int) -> list[Resident]:
        return generate(seed, size, history=self.history, keep=self.takes)


def pending_groups(r: Resident) -> list[str]:
    """The pending groups `r` belongs to (none: the system is expected to agree with the engine)."""
    return [p.name for p in PENDING if p.holds(r)]


# -- the system's answer ------------------------------------------------------------------------------------------


def observed(record: dict[str, Any] | None) -> Outcome:
    """The same fields, read from the person's record (None: the region holds nothing on the person)."""
    out = _blank()
    if record is None:
        return out
    refused = [x for x in record.get("refused_registrations", []) if x["year"] == YEAR]
    if refused:
        out["state"], out["refused"] = "refused", refused[-1]["reason_code"]
    due = next((d for d in record.get("dues", []) if d["year"] == YEAR), None)
    if due is not None:
        out.update(due_fen=due["due_fen"], refund_after_fen=due["refund_after_fen"], lines=lines_of(
            (x["category"], x["amount_fen"], x["funding_source"], x["mode"]) for x in due["lines"]))
    e = next((x for x in record.get("enrollments", []) if x["year"] == YEAR), None)
    if e is not None:
        out.update(state=e["state"], paid_total_fen=e["paid_total_fen"], benefit_start=_date(e["benefit_start"]),
                   benefit_end=_date(e["benefit_end"]), waiting_months=e["waiting_months"],
                   waiting_days=e["waiting_days"], cap_adjustment_fen=e.get("cap_adjustment_fen", 0),
                   funded_by=e["funded_by"], path=e["policy_path"])
    return out


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# -- the comparison -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    index: int
    person: str          # masked
    group: str
    field: str
    system: Any
    engine: Any


def compare(people: Sequence[Resident], expected: dict[int, Outcome], seen: dict[int, Outcome]) -> list[Divergence]:
    out = []
    for r in people:
        want, got = expected[r.index], seen[r.index]
        for name in FIELDS:
            if want[name] != got[name]:
                out.append(Divergence(r.index, f"#{r.index} {mask(r.id)}", " / ".join(r.group), name, got[name],
                                      want[name]))
    return out


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def table(found: Sequence[Divergence], limit: int = 200) -> str:
    """The divergences as a table: person (masked), field, system, engine, the person's fact group."""
    rows = [("person", "field", "system", "engine", "fact group")]
    rows += [(d.person, d.field, _shown(d.system), _shown(d.engine), d.group) for d in found[:limit]]
    widths = [max(_width(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(_pad(cell, widths[i]) if i < 4 else cell for i, cell in enumerate(row)) for row in rows]
    if len(found) > limit:
        lines.append(f"… and {len(found) - limit} more")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def summary(people: Sequence[Resident], found: Sequence[Divergence], expected: dict[int, Outcome],
            seen: dict[int, Outcome], done: Drive | None = None) -> list[dict[str, Any]]:
    """One entry per (fact group, the set of fields that diverge): how many people, and the first as example."""
    by_person: dict[int, list[Divergence]] = defaultdict(list)
    for d in found:
        by_person[d.index].append(d)
    size = Counter(" / ".join(r.group) for r in people)
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for index, ds in by_person.items():
        groups[(ds[0].group, tuple(d.field for d in ds))].append(index)
    people_by_index = {r.index: r for r in people}
    out = []
    for (group, fields), indexes in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        r = people_by_index[indexes[0]]
        out.append({
            "group": group, "fields": list(fields), "people": len(indexes), "of": size[group],
            "pending": pending_groups(r),
            "example": {"person": f"#{r.index} {mask(r.id)}", "facts": facts_of(r),
                        "quoted_fen": done.quotes.get(r.index) if done else None,
                        "receipt_fen": done.receipts.get(r.index) if done else None,
                        "system": {f: _shown(seen[r.index][f]) for f in fields},
                        "engine": {f: _shown(expected[r.index][f]) for f in fields}},
        })
    return out


def facts_of(r: Resident) -> dict[str, Any]:
    """The person's facts as the report shows them (ID masked)."""
    return {
        "region": r.region, "kind": r.kind, "born": r.birth_date.isoformat(),
        "event_date": _iso(r.event_date), "registered_on": _iso(r.registered_on),
        "pay_day": _iso(r.pay_day), "paid_at": r.paid_at.isoformat() if r.paid_at else None,
        "in_baseline": r.in_baseline, "hukou_region": r.hukou_region, "residence_region": r.residence_region,
        "statuses": [{"category": s.category, "certified_on": s.certified_on.isoformat(),
                      "ended_on": _iso(s.ended_on)} for s in r.statuses],
        "enrolled_years": list(r.enrolled_years), "zero_reimbursement_years": list(r.zero_reimbursement_years),
        "paid_back_years": list(r.paid_back_years),
    }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def corrupt(expected: dict[int, Outcome], index: int, name: str = "due_fen") -> dict[int, Outcome]:
    """The negative control: a copy of the expectations with one value of one person made wrong."""
    wrong = {i: dict(o) for i, o in expected.items()}
    value = wrong[index][name]
    wrong[index][name] = (value or 0) + 1 if isinstance(value, int) or value is None else f"not {value}"
    return wrong


# -- the drive ------------------------------------------------------------------------------------------------------


@dataclass
class Drive:
    records: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    quotes: dict[int, int | None] = field(default_factory=dict)       # what the quote answered (None: no due)
    receipts: dict[int, int] = field(default_factory=dict)            # amount sent, per payer who paid
    registrations: Counter[str] = field(default_factory=Counter)      # outcomes of the bulk registrations
    lists: Counter[str] = field(default_factory=Counter)              # status rows accepted / rejected
    seconds: dict[str, float] = field(default_factory=dict)           # per step


class _Clock:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.last = into, time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.into[name] = round(now - self.last, 1)
        self.last = now


async def bounded(calls: Iterable[Callable[[], Awaitable[Any]]], limit: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()
    return await asyncio.gather(*(one(c) for c in calls))


def registration(r: Resident) -> dict[str, Any]:
    """The registration as the office enters it: the kind, its event, the places declared, and the years of cover
    the national platform shows (with those nothing was reimbursed in)."""
    assert r.registered_on is not None
    body: dict[str, Any] = {"id": r.id, "year": YEAR, "kind": r.kind, "registered_on": r.registered_on.isoformat()}
    for name, value in (("hukou_region", r.hukou_region), ("residence_region", r.residence_region),
                        ("school_region", r.school_region), ("event_date", _iso(r.event_date))):
        if value is not None:
            body[name] = value
    if r.enrolled_years:
        body["enrolled_years"] = list(r.enrolled_years)
    if r.zero_reimbursement_years:
        body["zero_reimbursement_years"] = list(r.zero_reimbursement_years)
    return body


Stage = Callable[[Resident], Sequence[Certified]]
STAGES: tuple[tuple[str, Stage], ...] = (   # what each of the three lists brings, per person
    ("before the counter", lambda r: r.statuses_as_of(r.first_act)),
    ("before the payment", lambda r: r.statuses_as_of(r.pay_day)),
    ("all", lambda r: r.statuses),
)


def status_rows(people: Iterable[Resident], stage: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The departments' list rows of `stage`, per (department, region), in the order each person met them:
    what was certified (and ended) by the day they first came to the counter or paid (everything, for someone
    who never did), then by their pay day (everything, for someone who never pays), then the rest — each list
    only what the one before had not posted."""
    lists: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in people:
        posted = set(STAGES[stage - 1][1](r)) if stage else set()
        for s in STAGES[stage][1](r):
            if s in posted:
                continue
            row = {"id": r.id, "category": s.category, "certified_on": s.certified_on.isoformat(),
                   "township": r.township, "village": r.village}
            if s.ended_on is not None:
                row["ended_on"] = s.ended_on.isoformat()
            lists[(s.department, r.region)].append(row)
    return lists


async def _certify(chain: Chain, lists: dict[tuple[str, str], list[dict[str, Any]]], period: str,
                   counts: Counter[str]) -> None:
    for (department, region), rows in sorted(lists.items()):
        answer = await chain.certify(department, region, period, rows)
        counts["accepted"] += answer["rows_accepted"]
        counts["rejected"] += answer["rows_rejected"]


_METRIC = re.compile(r"^(yibao_messages_total|yibao_outbox_published_total|yibao_outbox_backlog)\{[^}]*\} (\S+)$", re.M)


async def _activity(chain: Chain) -> tuple[float, float]:
    """(messages consumed + outbox rows published, outbox backlog) over the five services' /metrics."""
    moved = backlog = 0.0
    for service in SERVICES:
        answer = await chain.client.get(chain.system.url(service, "/metrics/"))
        for name, value in _METRIC.findall(answer.text):
            if name == "yibao_outbox_backlog":
                backlog += float(value)
            else:
                moved += float(value)
    return moved, backlog


async def settle(chain: Chain, *, quiet_for: float = 2.0, timeout: float = 600.0) -> None:
    """Until the services have stopped moving messages: nothing consumed or published for `quiet_for` seconds and
    no outbox backlog (what each service's /metrics says)."""
    deadline = time.monotonic() + timeout
    last, since = await _activity(chain), time.monotonic()
    while True:
        await asyncio.sleep(0.5)
        now = await _activity(chain)
        if now != last:
            last, since = now, time.monotonic()
        elif now[1] == 0 and time.monotonic() - since >= quiet_for:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the services did not settle within {timeout:.0f}s (activity {now})")


async def _received(chain: Chain) -> float:
    return await chain.metric("payment_ingest", "yibao_messages_total", topic=RECEIPT_RECEIVED.name,
                              outcome="receipt_received")


async def _stream(chain: Chain, records: list[tuple[bytes, bytes]]) -> None:
    """The gateway's receipts in one batch on its topic; then until payment ingest has decided every one and the
    services have settled."""
    before = await _received(chain)
    await produce(chain.system.servers.kafka_bootstrap, chain.system.topic(RECEIPT_RECEIVED.name), records)
    deadline = time.monotonic() + 600
    while await _received(chain) < before + len(records):
        if time.monotonic() > deadline:
            raise AssertionError(f"payment ingest took {await _received(chain) - before:.0f} of {len(records)} receipts")
        await asyncio.sleep(0.5)
    await settle(chain)


async def drive(chain: Chain, people: Sequence[Resident]) -> Drive:
    """The facts of `people` through the running system by its public interfaces; returns every record."""
    done = Drive()
    clock = _Clock(done.seconds)
    regions = sorted({r.region for r in people})

    for region in regions:   # the household register (public security)
        await chain.baseline(region, [(r.id, r.township, r.village) for r in people
                                      if r.region == region and r.in_baseline])
    await _certify(chain, status_rows(people, 0), "2025-10", done.lists)
    await settle(chain)      # the funds enrol whoever owes nothing before anyone comes to the counter
    for region in regions:   # the insurance office's counter, one list per region
        rows = [r for r in people if r.region == region and r.registered_on is not None]
        for start in range(0, len(rows), 5000):
            answer = await chain.register_bulk(region, [registration(r) for r in rows[start:start + 5000]])
            done.registrations.update(x["outcome"] for x in answer["results"])
    await _certify(chain, status_rows(people, 1), "2025-11", done.lists)
    clock.lap("register, lists, registrations")
    await settle(chain)
    clock.lap("settle before quotes")

    # Gap years paid back (补缴, where the pack provides for it) the day before paying for the year.
    paybacks = []
    for r in people:
        if r.paid_back_at is None:
            continue
        channel, agent = channel_of(r)
        for gap_year in r.paid_back_years:
            sent = receipt(r.id, load_pack(r.region, YEAR).money.individual_contribution,
                           receipt_no=f"34{r.region}{gap_year}{r.index:07d}", region=r.region, year=gap_year,
                           channel=channel, paid_at=r.paid_back_at, item=PAYBACK,
                           **({"agent_id": agent} if agent else {}))
            paybacks.append((person_key(r.id).encode(), encode(sent)))
    if paybacks:
        await _stream(chain, paybacks)
        clock.lap("paybacks")

    # The tax side: the quote for each payer, then the receipts of the amount quoted, in one batch on the topic.
    payers = [r for r in people if r.paid_at is not None]
    # The gateway asks for the due on the day of payment (the rules of that day with all the person's facts).
    answers = await bounded([lambda r=r: chain.quote_on(r.region, r.id, YEAR, r.pay_day.isoformat())
                             for r in payers if r.pay_day is not None])
    records: list[tuple[bytes, bytes]] = []
    for r, answer in zip(payers, answers, strict=True):
        body = answer.json() if answer.status_code == 200 else None
        if body is not None and not body["payable"]:
            done.quotes[r.index] = None
            continue      # the rules take no payment that day: the gateway collects nothing
        due = body["due_fen"] if body is not None else None
        done.quotes[r.index] = due
        amount = due if due is not None else load_pack(r.region, YEAR).money.individual_contribution
        if amount <= 0:
            continue      # nothing to collect: a fund pays
        channel, agent = channel_of(r)
        assert r.paid_at is not None
        sent = receipt(r.id, amount, receipt_no=f"33{r.region}{YEAR}{r.index:07d}", region=r.region, year=YEAR,
                       channel=channel, paid_at=r.paid_at, **({"agent_id": agent} if agent else {}))
        records.append((person_key(r.id).encode(), encode(sent)))
        done.receipts[r.index] = amount
    clock.lap("quotes")
    await _stream(chain, records)
    clock.lap("receipts decided, settle")

    # What the departments certified (or ended) after people paid, then the office's daily coverage step.
    await _certify(chain, status_rows(people, 2), "2025-12", done.lists)
    await settle(chain)
    for region in regions:
        await chain.advance_coverage(region)
    await settle(chain)
    clock.lap("later lists, coverage")
    done.records = await read_records(chain, people)
    clock.lap("records")
    return done


async def read_records(chain: Chain, people: Sequence[Resident]) -> dict[int, dict[str, Any] | None]:
    async def one(r: Resident) -> dict[str, Any] | None:
        answer = await chain.record(r.region, r.id)
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body
    found = await bounded([lambda r=r: one(r) for r in people])
    return {r.index: rec for r, rec in zip(people, found, strict=True)}


async def converged(chain: Chain, people: Sequence[Resident], expected: dict[int, Outcome], done: Drive, *,
                    patience: float = 20.0) -> list[Divergence]:
    """Compare; people who diverge are read again until their records stop changing for `patience` seconds (a
    chain still catching up is not a divergence), then the divergences left."""
    seen = {i: observed(rec) for i, rec in done.records.items()}
    found = compare(people, expected, seen)
    quiet_since = time.monotonic()
    while found and time.monotonic() - quiet_since < patience:
        await asyncio.sleep(2.0)
        again = [r for r in people if r.index in {d.index for d in found}]
        fresh = await read_records(chain, again)
        changed = {i for i, rec in fresh.items() if observed(rec) != seen[i]}
        for i, rec in fresh.items():
            done.records[i] = rec
            seen[i] = observed(rec)
        if changed:
            quiet_since = time.monotonic()
        found = compare(people, expected, seen)
    return found


def report(people: Sequence[Resident], expected: dict[int, Outcome], done: Drive,
           found: Sequence[Divergence]) -> dict[str, Any]:
    """What a run found, for artifacts/ (JSON): sizes, times, and the divergences by fact group."""
    seen = {i: observed(rec) for i, rec in done.records.items()}
    diverging = {d.index for d in found}
    groups = {r.index: pending_groups(r) for r in people}
    return {
        "people": len(people),
        "pending_groups": {p.name: {"people": sum(p.name in g for g in groups.values()),
                                    "diverging": sum(p.name in groups[i] for i in diverging), "why": p.why}
                           for p in PENDING},
        "diverging_outside_pending_groups": sum(not groups[i] for i in diverging),
        "receipts": len(done.receipts),
        "registrations": dict(done.registrations),
        "status_rows": dict(done.lists),
        "expected_states": dict(Counter(o["state"] for o in expected.values())),
        "system_states": dict(Counter(o["state"] for o in seen.values())),
        "seconds": done.seconds,
        "divergent_people": len({d.index for d in found}),
        "divergences": len(found),
        "by_group": summary(people, found, expected, seen, done),
        "table": table(found, limit=10_000).splitlines(),
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, default=str)
