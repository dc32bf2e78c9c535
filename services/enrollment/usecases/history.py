"""A person's history of cover, read once per batch: what the rules judge a payment's waiting period and
critical-illness cap by (domain.history), and gap years paid back (补缴) that repair the waiting period.

`paid_back` takes the accepted payback receipts: each is kept in the person's history, and the
person's later enrollments in the receipt's region are judged again with it (one paid and not yet
covered may start earlier), announced as `enrollment.paid-back` — which also books the receipt to
its gap year for reconciliation. A reversal of a payback takes the year out again.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.enrollment import events, store
from services.enrollment.domain import history, lifecycle
from services.enrollment.domain.enrollment import Enrollment, Key
from services.enrollment.domain.history import History
from services.enrollment.domain.history import Year as HistoryYear
from shared.messages import ReceiptAccepted
from shared.resident_id import birth_date_of
from shared.uow import UnitOfWork

Kept = Mapping[str, tuple[list[HistoryYear], list[int]]]  # person -> (stored years, years enrollment saw paid)


def current(kept: Kept, person_id: str, year: int) -> History:
    """The history that counts for `year`, from what `store.histories` read."""
    stored, paid = kept.get(person_id, ([], []))
    return history.history_for(year, stored, paid, born_in=birth_date_of(person_id).year)


def refreshed(rows: dict[Key, Enrollment], kept: Kept, keys: Sequence[Key]) -> None:
    """Each enrollment of `keys` not yet paid takes the person's history as it is now (a payment judges by it)."""
    for key in keys:
        row = rows.get(key)
        if row is not None and row.state == "registered":
            rows[key] = row.with_history(current(kept, key[0], key[2]))


async def paid_back(uow: UnitOfWork, receipts: Sequence[ReceiptAccepted]) -> None:
    """Keep each payback in the history (a reversal takes it out) and judge the person's later enrollments in
    that region again; one event per payback receipt."""
    conn = uow.conn
    await store.save_history(conn, [(r.person_id, HistoryYear(r.year, paid_back=True), r.receipt_no, "payback")
                                    for r in receipts if r.amount_fen > 0], uow.now)
    await store.drop_paybacks(conn, [(r.person_id, r.original_receipt_no) for r in receipts
                                     if r.amount_fen < 0 and r.original_receipt_no])
    people = sorted({r.person_id for r in receipts})
    kept = await store.histories(conn, people)
    later = await store.enrollments_after(conn, people, min(r.year for r in receipts), for_update=True)
    statuses = await store.statuses_of(conn, {(k[0], k[1]) for k in later})
    changed: dict[Key, Enrollment] = {}
    for r in receipts:
        mine = sorted(k for k in later if k[0] == r.person_id and k[1] == r.region and k[2] > r.year)
        for key in mine:
            row = changed.get(key, later[key])
            changed[key] = lifecycle.repaired(row, statuses.get((key[0], key[1]), ()), current(kept, key[0], key[2]))
        if mine:
            uow.publish_all([events.paid_back(changed[mine[-1]], r, uow.now)])
        else:  # no later enrollment here yet: the history keeps it for when there is one
            uow.publish_all([events.paid_back_alone(r, uow.now)])
    await store.save_enrollments(conn, [changed[k] for k in sorted(changed)], uow.now)
