"""Use cases of the consumed topics: record what the other services publish in reconciliation's own copy.

One function per topic, each given the batch's new events (the inbox has dropped what was
seen before) inside the batch's unit of work. None publishes anything: discrepancies are
announced by a run.
"""
from __future__ import annotations

from collections.abc import Sequence

from services.reconciliation import ledgers
from services.reconciliation.domain.enrollments import fold
from shared.messages import DueAssessed, PersonBaselined, ReceiptAccepted, ReceiptRejected, RefundOrdered, StatusChanged
from shared.messages.enrollment import EnrollmentEvent, EnrollmentRefundOrdered, RefundDecided
from shared.messages.subsidy import newest_per_person_year
from shared.uow import UnitOfWork


async def record_enrollment_events(uow: UnitOfWork, events: Sequence[EnrollmentEvent]) -> None:
    """enrollment.events: who is registered, paid or ended, where; and each receipt enrollment booked."""
    known = await ledgers.enrollment_years(uow.conn, ((e.person_id, e.year) for e in events))
    rows, bookings = fold(known, events)
    await ledgers.save_enrollment_years(uow.conn, rows, uow.now)
    await ledgers.save_bookings(uow.conn, bookings)


async def record_receipts_accepted(uow: UnitOfWork, receipts: Sequence[ReceiptAccepted]) -> None:
    """payment.receipt-accepted: the money side of the books (a receipt number is kept once)."""
    await ledgers.save_receipts(uow.conn, receipts)


async def record_receipts_rejected(uow: UnitOfWork, events: Sequence[ReceiptRejected]) -> None:
    """payment.receipt-rejected: refused receipts, counted beside settled money."""
    await ledgers.save_rejections(uow.conn, events)


async def record_dues_assessed(uow: UnitOfWork, dues: Sequence[DueAssessed]) -> None:
    """subsidy.due-assessed: the newest revision of each person-year's due (the topic is compacted and
    redeliveries may be older)."""
    await ledgers.save_dues(uow.conn, newest_per_person_year(list(dues)))


async def record_refunds_ordered(uow: UnitOfWork, events: Sequence[RefundOrdered]) -> None:
    """subsidy.refund-ordered: refunds of the subsidy service (先缴后补)."""
    await ledgers.save_refunds(uow.conn, events)


async def record_enrollment_refunds(uow: UnitOfWork, events: Sequence[RefundDecided]) -> None:
    """enrollment.refunds: the refunds enrollment ordered; a refused request is enrollment's answer to the
    person and owes nothing."""
    await ledgers.save_enrollment_refunds(uow.conn, [e for e in events if isinstance(e, EnrollmentRefundOrdered)])


async def record_statuses_changed(uow: UnitOfWork, events: Sequence[StatusChanged]) -> None:
    """identity.status-changed: each event carries the person's full current set in its region, so the last
    one of each person and region wins; another region's event leaves this region's set as it was."""
    latest = {(e.person_id, e.region): e for e in events}
    await ledgers.save_statuses(uow.conn, list(latest.values()), uow.now)


async def record_baseline(uow: UnitOfWork, events: Sequence[PersonBaselined]) -> None:
    """population.baseline: the denominator of coverage, the last event of a person winning."""
    await ledgers.save_baseline(uow.conn, list({e.person_id: e for e in events}.values()), uow.now)
