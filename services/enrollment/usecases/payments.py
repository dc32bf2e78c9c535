"""What other services tell enrollment: receipts make enrollments paid; statuses and dues are kept for the record,
and a due of 0 enrolls a fully subsidised person (`zero_dues`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.enrollment import events, store
from services.enrollment.domain import lifecycle
from services.enrollment.domain.enrollment import Enrollment, Home, Key, Place
from services.enrollment.domain.policy_view import Statuses
from services.enrollment.usecases import duplicate_cases, history, zero_dues
from shared.messages import DueAssessed, ReceiptAccepted, StatusChanged
from shared.uow import UnitOfWork


async def mark_paid(uow: UnitOfWork, receipts: Sequence[ReceiptAccepted]) -> None:
    """Add each accepted receipt to its (person, region, year); the first positive total makes it paid,
    the policy gives the benefit window, and a second valid enrollment opens a duplicate case.
    A receipt number counts once, ever."""
    first = list({r.receipt_no: r for r in reversed(receipts)}.values())[::-1]  # first of each number
    fresh = await store.save_payments(uow.conn, first, uow.now)
    paybacks = [r for r in first if r.receipt_no in fresh and r.payback]
    if paybacks:  # a gap year paid back repairs a later year's wait: no payment for the gap year's cover
        await history.paid_back(uow, paybacks)
    receipts = [r for r in first if r.receipt_no in fresh and not r.payback]
    if not receipts:
        return
    people = sorted({r.person_id for r in receipts})
    rows = await store.enrollments_of(uow.conn, people, sorted({r.year for r in receipts}), for_update=True)
    kept = await store.histories(uow.conn, people)
    history.refreshed(rows, kept, [(r.person_id, r.region, r.year) for r in receipts])
    homes = {(r.person_id, r.region) for r in receipts}
    touched, newly_paid = apply_receipts(uow, receipts, rows, await store.places(uow.conn, homes),
                                         await store.statuses_of(uow.conn, homes), kept)
    if newly_paid:
        touched |= await duplicate_cases.after_payments(uow, rows, newly_paid, people)
    await store.save_enrollments(uow.conn, [rows[k] for k in sorted(touched)], uow.now)


def apply_receipts(uow: UnitOfWork, receipts: Sequence[ReceiptAccepted], rows: dict[Key, Enrollment],
                   places: Mapping[Home, Place], statuses: Mapping[Home, Statuses],
                   kept: history.Kept | None = None) -> tuple[set[Key], set[Key]]:
    """The decision of `mark_paid`, in memory: each receipt applied to its enrollment in `rows` (created when
    missing, with the person's history of cover in `kept`) and announced; returns the enrollments touched and
    those this batch made paid."""
    touched: set[Key] = set()
    newly_paid: set[Key] = set()
    for receipt in receipts:
        key = (receipt.person_id, receipt.region, receipt.year)
        home = (receipt.person_id, receipt.region)
        row = rows.get(key) or lifecycle.new(*key, places.get(home)).with_history(
            history.current(kept or {}, receipt.person_id, receipt.year))
        rows[key], paid_now = lifecycle.apply_payment(row, receipt.amount_fen, receipt.paid_at, statuses.get(home, ()))
        touched.add(key)
        if paid_now:
            newly_paid.add(key)
        uow.publish_all([events.paid(rows[key], receipt, uow.now)])
    return touched, newly_paid


async def record_statuses(uow: UnitOfWork, changes: Sequence[StatusChanged]) -> None:
    """Keep each person's certified statuses per region; each event carries the full set, so the last one wins."""
    latest = {(e.person_id, e.region): e for e in changes}
    await store.save_statuses(uow.conn, list(latest.values()), uow.now)


async def record_dues(uow: UnitOfWork, dues: Sequence[DueAssessed]) -> None:
    """Keep each person's latest assessed due per region and year (the highest revision); a current due of 0
    enrolls and covers a fully subsidised person without a receipt, a later rise is judged (`zero_dues`).
    An older revision arriving late is neither kept nor acted on, nor is one kept already (a redelivery:
    the revision kept is this consumer's inbox record)."""
    latest: dict[Key, DueAssessed] = {}
    for d in dues:
        key = (d.person_id, d.region, d.year)
        if key not in latest or d.revision >= latest[key].revision:
            latest[key] = d
    kept = await store.due_revisions(uow.conn, latest)
    await store.save_dues(uow.conn, list(latest.values()), uow.now)
    await zero_dues.apply_dues(uow, [d for k, d in latest.items() if d.revision > kept.get(k, 0)])
