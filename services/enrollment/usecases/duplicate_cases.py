"""Duplicate enrollments settled: the case opened, the dropped enrollment ended and its refund decided.

Arises when a payment makes a second valid enrollment (`after_payments`, from `mark_paid`) or an
employee-insurance roster overlaps a paid resident enrollment (`after_roster`, from the roster import).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from uuid import uuid4

from services.enrollment import events, store
from services.enrollment.domain import duplicates, refunds
from services.enrollment.domain.duplicates import DuplicateCase, Found
from services.enrollment.domain.enrollment import Enrollment, Home, Key
from services.enrollment.domain.lifecycle import PAID_STATES
from services.enrollment.domain.policy_view import Statuses
from shared.outbox import Outgoing
from shared.uow import UnitOfWork


async def after_payments(uow: UnitOfWork, rows: dict[Key, Enrollment], newly_paid: Collection[Key],
                         people: Sequence[str]) -> set[Key]:
    """Settle the duplicates the newly paid enrollments in `rows` make; `rows` is updated. Returns the
    enrollments the duplicates drop."""
    found = duplicates.find(rows, newly_paid, await store.employee_covers(uow.conn, people),
                            await store.baseline_regions(uow.conn, people))
    if not found:
        return set()
    await settle(uow, rows, found, await store.statuses_of(uow.conn, {(p, r) for p, r, _ in rows}))
    return {f.dropped for f in found}


async def after_roster(uow: UnitOfWork, people: Sequence[str]) -> list[DuplicateCase]:
    """After an employee roster import: paid resident enrollments that overlap it become duplicate cases."""
    covers = await store.employee_covers(uow.conn, people)
    years = await store.paid_years(uow.conn, people)
    if not years:
        return []
    rows = await store.enrollments_of(uow.conn, people, years, for_update=True)
    paid = {k for k, r in rows.items() if r.state in PAID_STATES}
    found = [f for f in duplicates.find(rows, paid, covers, {}) if f.resolution.kept == duplicates.EMPLOYEE]
    opened = await settle(uow, rows, found, await store.statuses_of(uow.conn, {(p, r) for p, r, _ in paid}))
    await store.save_enrollments(uow.conn, [rows[f.dropped] for f in found], uow.now)
    return opened


async def settle(uow: UnitOfWork, rows: dict[Key, Enrollment], found: Sequence[Found],
                 statuses: Mapping[Home, Statuses]) -> list[DuplicateCase]:
    """Open each case, end the dropped enrollment in `rows` and decide its refund; returns the cases opened."""
    opened = []
    for f in found:
        dropped, kept = rows[f.dropped], rows.get(f.kept)
        if dropped.state not in PAID_STATES or (kept is not None and kept.state not in PAID_STATES):
            continue  # an earlier case of this batch settled this pair already
        case = DuplicateCase.of(f, case_id=uuid4(), refund_id=uuid4())
        if not await store.open_case(uow.conn, case, uow.now):
            continue
        settled = refunds.settle(dropped, f.resolution.refund_reason, f.resolution.arose_on,
                                 statuses.get(dropped.home, ()), refund_id=case.refund_id,
                                 requested_by="duplicate_case", case_id=case.id)
        await store.save_refund(uow.conn, settled.refund, uow.now)
        rows[f.dropped] = settled.enrollment
        uow.publish_all([events.duplicate_found(dropped, case, uow.now), *refund_events(settled, uow)])
        opened.append(case)
    return opened


def refund_events(settled: refunds.Settled, uow: UnitOfWork) -> list[Outgoing]:
    """The enrollment's end (when the refund ended it) and the refund's decision."""
    ended = [events.ended(settled.enrollment, uow.now, settled.refund.duplicate_case_id)] if settled.ended else []
    return [*ended, events.refund_decided(settled.enrollment, settled.refund, uow.now)]
