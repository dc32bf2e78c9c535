"""Kafka handlers of the subsidy service: every fact about a person reassesses their due at once.

Three topics feed the same step. A status change (identity), a registration or
an ending (enrollment) and an accepted receipt (payment ingest) are first saved
as facts; then each touched person-year is decided afresh from all its facts
(`domain.cases.decide`), in one transaction with the inbox and the outbox: a new
due revision when the money changed, refund orders when one is owed. Redis gets
the new dues after the commit, for quotes.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.subsidy import cache, store
from services.subsidy.domain.cases import Case, Decision, Enrollment, decide
from services.subsidy.domain.dues import Due
from shared.kafka import batch_subscriber
from shared.logging import get_logger
from shared.messages import (
    DueAssessed,
    EnrollmentEnded,
    EnrollmentRegistered,
    ReceiptAccepted,
    RefundOrdered,
    StatusChanged,
    SubsidyLine,
)
from shared.messages.enrollment import EnrollmentEvent
from shared.metrics import MESSAGES
from shared.outbox import Outgoing
from shared.policy import PolicyError
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, REFUND_ORDERED, STATUS_CHANGED

log = get_logger(__name__)
SERVICE = "subsidy"
Key = tuple[str, int]


def due_key(person_id: str, year: int) -> str:
    return f"{person_key(person_id)}:{year}"


def due_event(person_id: str, region: str, year: int, due: Due, revision: int, now: datetime,
              state: str = "active") -> DueAssessed:
    return DueAssessed(
        message_id=uuid4(), occurred_at=now, person_id=person_id, region=region, year=year,
        standard_fen=due.standard_fen, subsidy_fen=due.subsidy_fen, due_fen=due.due_fen,
        refund_after_fen=due.refund_after_fen, revision=revision, reasons=list(due.reasons), state=state,
        lines=[SubsidyLine(category=c, amount_fen=a, funding_source=f, mode=m) for c, a, f, m in due.lines],
    )


def build_case(key: Key, facts: dict, fallback_region: str | None) -> Case | None:
    """All facts of one person-year as the pure core wants them; None when not even a region is known."""
    person, year = key
    p, e, pay = facts["person"].get(person), facts["enrollment"].get(key), facts["payment"].get(key)
    region = (e and e["region"]) or (p and p["region"]) or (pay and pay["region"]) or fallback_region
    if region is None:
        return None
    return Case(
        person_id=person, year=year, region=region,
        township=(e and e["township"]) or (p and p["township"]),
        statuses=tuple(p["statuses"]) if p else (),
        enrollment=Enrollment(e["kind"], e["state"], e["ended_on"], e["end_reason"]) if e else None,
        paid_fen=pay["paid_fen"] if pay else 0,
        first_paid_on=pay["first_paid_at"].date() if pay and pay["first_paid_at"] else None,
        ordered_fen={r: amt for (pp, yy, r), amt in facts["ordered"].items() if (pp, yy) == key},
    )


async def reassess(conn: asyncpg.Connection, keys: Sequence[Key], now: datetime, topic: str,
                   regions: dict[Key, str] | None = None) -> tuple[list[Outgoing], list[DueAssessed]]:
    """Decide every person-year in `keys` afresh; save dues, lines and refund orders; return what to publish."""
    facts = await store.load_facts(conn, keys)
    dues, unassessed, orders, outgoing, current = [], [], [], [], []
    for key in dict.fromkeys(keys):
        case = build_case(key, facts, (regions or {}).get(key))
        if case is None:
            continue
        try:
            decision = decide(case, now.date())
        except PolicyError as err:
            MESSAGES.labels(SERVICE, topic, "unassessed").inc()
            log.warning("no due assessed", region=case.region, year=case.year, error=err.one_line())
            unassessed.append((case.person_id, case.year, case.region, err.one_line()))
            continue
        row, event = _due_row(case, decision, facts["due"].get(key), now)
        dues.append(row)
        current.append(event)
        if row["changed"]:
            outgoing.append(Outgoing(DUE_ASSESSED.name, due_key(case.person_id, case.year), event))
        for refund in decision.refunds:
            order = {"refund_id": uuid4(), "person_id": case.person_id, "year": case.year, "region": case.region,
                     "township": case.township, "funding_source": refund.funding_source,
                     "amount_fen": refund.amount_fen, "reason": refund.reason}
            orders.append(order)
            outgoing.append(Outgoing(REFUND_ORDERED.name, person_key(case.person_id), RefundOrdered(
                message_id=uuid4(), occurred_at=now, **order)))
    await store.save_dues(conn, dues, now)
    await store.save_unassessed(conn, unassessed, now)
    await store.save_refund_orders(conn, orders, now)
    return outgoing, current


def _due_row(case: Case, decision: Decision, previous, now: datetime) -> tuple[dict, DueAssessed]:
    """A new revision only when what the tax side acts on changed; reasons are kept current regardless."""
    due = decision.due
    changed = previous is None or previous["state"] != decision.state or Due(
        previous["standard_fen"], previous["subsidy_fen"], previous["due_fen"], previous["refund_after_fen"],
        tuple((x["category"], x["amount_fen"], x["funding_source"], x["mode"]) for x in previous["lines"]), (),
    ).money() != due.money() or previous["region"] != case.region
    revision = (previous["revision"] if previous else 0) + (1 if changed else 0)
    row = {"person_id": case.person_id, "year": case.year, "region": case.region, "township": case.township,
           "due": due, "revision": revision, "state": decision.state, "changed": changed}
    return row, due_event(case.person_id, case.region, case.year, due, revision, now, decision.state)


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    async def run(consumer: str, topic: str, events: list, message: KafkaMessage, save, keys_of) -> None:
        async with runtime.consuming(topic=topic, consumer=consumer, events=events,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if not fresh:
                return
            await save(uow.conn, fresh, uow.now)
            keys, regions = await keys_of(uow.conn, fresh)
            outgoing, current = await reassess(uow.conn, keys, uow.now, topic, regions)
            uow.publish_all(outgoing)
            uow.after_commit(lambda: cache.put_dues(runtime.redis, settings.topic_prefix, current))

    async def status_keys(conn: asyncpg.Connection, fresh: list[StatusChanged]):
        people = list(dict.fromkeys(e.person_id for e in fresh))
        keys = [(p, settings.campaign_year) for p in people] + await store.due_years(conn, people)
        return keys, {}

    async def enrollment_keys(_conn: asyncpg.Connection, fresh: list):
        return [(e.person_id, e.year) for e in fresh], {(e.person_id, e.year): e.region for e in fresh}

    async def receipt_keys(_conn: asyncpg.Connection, fresh: list[ReceiptAccepted]):
        return [(r.person_id, r.year) for r in fresh], {(r.person_id, r.year): r.region for r in fresh}

    async def save_enrollments(conn: asyncpg.Connection, fresh: list, now: datetime) -> None:
        # enrollment.paid is not a fact for us: accepted receipts (with their date) are.
        kept = [e for e in fresh if isinstance(e, EnrollmentRegistered | EnrollmentEnded)]
        fresh[:] = kept
        await store.save_enrollments(conn, kept, now)

    @batch_subscriber(router, settings, STATUS_CHANGED.name, group=settings.group(SERVICE, "statuses"),
                      model=StatusChanged, description="Status changes: reassess the person's due at once.")
    async def on_status_changed(events: list[StatusChanged], message: KafkaMessage) -> None:
        await run("statuses", STATUS_CHANGED.name, events, message, store.save_people, status_keys)

    @batch_subscriber(router, settings, ENROLLMENT_EVENTS.name, group=settings.group(SERVICE, "enrollment"),
                      model=EnrollmentEvent, description="Registered: assess a due (with or without a status); "
                      "ended: stop collecting, refund what the rules allow.")
    async def on_enrollment(events: list, message: KafkaMessage) -> None:
        await run("enrollment", ENROLLMENT_EVENTS.name, events, message, save_enrollments, enrollment_keys)

    @batch_subscriber(router, settings, RECEIPT_ACCEPTED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptAccepted, description="Accepted receipts: who paid what, for the after-payment "
                      "rules and 先缴后补 refunds.")
    async def on_receipt_accepted(events: list[ReceiptAccepted], message: KafkaMessage) -> None:
        await run("receipts", RECEIPT_ACCEPTED.name, events, message, store.save_payments, receipt_keys)

    router.publisher(settings.topic(DUE_ASSESSED.name), schema=DueAssessed, description=DUE_ASSESSED.description)
    router.publisher(settings.topic(REFUND_ORDERED.name), schema=RefundOrdered, description=REFUND_ORDERED.description)
