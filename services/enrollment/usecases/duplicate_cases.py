"""Duplicate enrollments settled: the case opened, the dropped enrollment ended and its refund decided.

Arises when a payment makes a second valid enrollment (`after_payments`, from `mark_paid`; `found_after`
and `settle_found` when a fund pays a fully subsidised person's contribution, from `record_dues`) or an
employee-insurance roster overlaps a paid resident enrollment (`after_roster`, from the roster import).
A funded enrollment (资助参保) counts as paid like any other; when it is the one dropped there is no
personal payment to give back, so it ends without a refund and its fund stops paying.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from uuid import uuid4

from services.enrollment import events, store
from services.enrollment.domain import duplicates, lifecycle, netting, refunds
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
    found = await found_after(uow, rows, newly_paid, people)
    if not found:
        return set()
    await settle_found(uow, rows, found)
    return {f.dropped for f in found}


async def found_after(uow: UnitOfWork, rows: Mapping[Key, Enrollment], newly_paid: Collection[Key],
                      people: Sequence[str]) -> list[Found]:
    """The duplicates the newly paid (or funded) enrollments in `rows` make, not yet settled."""
    return duplicates.find(rows, newly_paid, await store.employee_covers(uow.conn, people),
                           await store.baseline_regions(uow.conn, people))


async def settle_found(uow: UnitOfWork, rows: dict[Key, Enrollment], found: Sequence[Found]) -> list[DuplicateCase]:
    """`settle` with the statuses of every region in `rows`."""
    return await settle(uow, rows, found, await store.statuses_of(uow.conn, {(p, r) for p, r, _ in rows}))


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
    """Open each case, end the dropped enrollment in `rows` and decide its refund, net of the subsidy service's
    refunds (先缴后补) already ordered; returns the cases opened."""
    opened: list[DuplicateCase] = []
    if not found:
        return opened
    subsidy = await store.subsidy_refunds(uow.conn, [f.dropped for f in found])
    for f in found:
        dropped, kept = rows[f.dropped], rows.get(f.kept)
        if dropped.state not in PAID_STATES or (kept is not None and kept.state not in PAID_STATES):
            continue  # an earlier case of this batch settled this pair already
        if dropped.funded and dropped.paid_total_fen <= 0:
            opened.extend(await _drop_funded(uow, rows, f))
            continue
        refund_id = uuid4()
        case = DuplicateCase.of(f, case_id=uuid4(), refund_id=refund_id)
        if not await store.open_case(uow.conn, case, uow.now):
            continue
        settled = refunds.settle(dropped, f.resolution.refund_reason, f.resolution.arose_on,
                                 statuses.get(dropped.home, ()), refund_id=refund_id,
                                 requested_by="duplicate_case", case_id=case.id,
                                 subsidy_refunded_fen=netting.returned(subsidy.get(f.dropped, ())))
        await store.save_refund(uow.conn, settled.refund, uow.now)
        rows[f.dropped] = settled.enrollment
        uow.publish_all([events.duplicate_found(dropped, case, uow.now), *refund_events(settled, uow),
                         *kept_again(kept, uow)])
        opened.append(case)
    return opened


def kept_again(kept: Enrollment | None, uow: UnitOfWork) -> list[Outgoing]:
    """A funded enrollment (资助参保) the duplicate keeps, announced again after the other's end: the services
    that hold one enrollment per person and year (subsidy, reconciliation) then hold the one kept, enrolled
    with nothing to pay, not the one dropped."""
    return [events.registered(kept, 0, uow.now)] if kept is not None and kept.funded else []


async def _drop_funded(uow: UnitOfWork, rows: dict[Key, Enrollment], f: Found) -> list[DuplicateCase]:
    """A funded enrollment dropped: nobody paid, so nothing is refunded; it ends, and with it the fund's
    payment (the subsidy service stops assessing it). The case is opened once."""
    dropped = rows[f.dropped]
    case = DuplicateCase.of(f, case_id=uuid4(), refund_id=None)
    if not await store.open_case(uow.conn, case, uow.now):
        return []
    rows[f.dropped] = ended = lifecycle.end(dropped, f.resolution.refund_reason, f.resolution.arose_on)
    uow.publish_all([events.duplicate_found(dropped, case, uow.now), events.ended(ended, uow.now, case.id),
                     *kept_again(rows.get(f.kept), uow)])
    return [case]


def refund_events(settled: refunds.Settled, uow: UnitOfWork) -> list[Outgoing]:
    """The enrollment's end (when the refund ended it) and the refund's decision."""
    ended = [events.ended(settled.enrollment, uow.now, settled.refund.duplicate_case_id)] if settled.ended else []
    return [*ended, events.refund_decided(settled.enrollment, settled.refund, uow.now)]
