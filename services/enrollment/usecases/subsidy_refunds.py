"""The subsidy service's refunds (先缴后补, `subsidy.refund-ordered`), kept so that no one is refunded twice.

A personal refund decided later nets them (`domain.netting` rule 1: `request_refund`, `duplicate_cases.settle`);
one that arrives after the personal refund was approved keeps only what the person still bore, the rest
withheld (rule 2, here). The refund decision and this consumer lock the enrollment first, so each sees
what the other committed. The person's record shows each order and the balance of every year (rule 3).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from services.enrollment import store
from services.enrollment.domain import netting
from services.enrollment.domain.enrollment import Key
from services.enrollment.domain.netting import PersonalRefunds, SubsidyRefund
from shared.logging import get_logger
from shared.messages import RefundOrdered
from shared.resident_id import mask
from shared.uow import UnitOfWork

log = get_logger(__name__)


def subsidy_refund(o: RefundOrdered) -> SubsidyRefund:
    return SubsidyRefund(id=o.refund_id, person_id=o.person_id, region=o.region, year=o.year, reason=o.reason,
                         amount_fen=o.amount_fen, ordered_at=o.occurred_at, funding_source=o.funding_source,
                         township=o.township)


async def record_subsidy_refunds(uow: UnitOfWork, orders: Sequence[RefundOrdered]) -> None:
    """Keep each refund the subsidy service ordered, once; those reaching an enrollment whose personal refund was
    approved already keep only what the person still bore, and say so."""
    incoming = list({o.refund_id: subsidy_refund(o) for o in orders}.values())
    if not incoming:
        return
    keys = sorted({o.key for o in incoming})
    await store.lock_enrollments(uow.conn, keys)
    known = await store.subsidy_refunds(uow.conn, keys)
    seen = {o.id for kept in known.values() for o in kept}
    new = [o for o in incoming if o.id not in seen]
    decided = late(new, known, await store.personal_refunds(uow.conn, {o.key for o in new}))
    await store.save_subsidy_refunds(uow.conn, decided, uow.now)
    for o in decided:
        if o.withheld_fen:
            log.warning("subsidy refund withheld: the personal refund returned it already", person=mask(o.person_id),
                        region=o.region, year=o.year, amount_fen=o.amount_fen, withheld_fen=o.withheld_fen)


def late(new: Sequence[SubsidyRefund], known: Mapping[Key, Sequence[SubsidyRefund]],
         personal: Mapping[Key, PersonalRefunds]) -> list[SubsidyRefund]:
    """The new orders as kept: rule 2 for those of an enrollment with an approved personal refund, as they came
    for the others."""
    groups: dict[Key, list[SubsidyRefund]] = {}
    for o in new:
        groups.setdefault(o.key, []).append(o)
    out: list[SubsidyRefund] = []
    for key, group in groups.items():
        out += (netting.arrived_late(group, netting.returned(known.get(key, ())), personal[key])
                if key in personal else group)
    return out


def balances(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each year of the person's record with a refund: paid, returned by whom, kept, in one sentence (rule 3).
    Paid is what the approved personal refund was judged on, else the enrollment's total."""
    approved = [r for r in record["refunds"] if r["approved"]]
    orders = record["subsidy_refunds"]
    paid_total = {e["year"]: e["paid_total_fen"] for e in record["enrollments"]}
    out = []
    for year in sorted({r["year"] for r in approved} | {o["year"] for o in orders}):
        mine = [r for r in approved if r["year"] == year]
        theirs = [o for o in orders if o["year"] == year]
        paid = max((r["paid_fen"] for r in mine if r["paid_fen"] is not None), default=paid_total.get(year, 0))
        out.append(asdict(netting.balance(year, paid, sum(r["amount_fen"] for r in mine),
                                          sum(o["amount_fen"] for o in theirs), sum(o["withheld_fen"] for o in theirs))))
    return out
