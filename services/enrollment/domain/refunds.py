"""Refund requests (death, paid twice, employee insurance, other region), decided by the policy.

All four seeds: before the benefit period starts the enrollment may be ended and
the personal payment paid back; after it starts, nothing is refunded. The rule and
its wording come from `shared.policy` (`refunds.before_start_reasons` of the pack);
this module only asks, caps the amount at what the person finally bore — paid, less the 先缴后补
refunds the subsidy service already ordered (`domain.netting`) — and words the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from uuid import UUID

from services.enrollment.domain import lifecycle, netting
from services.enrollment.domain.enrollment import Enrollment
from services.enrollment.domain.policy_view import Question, Statuses, ask
from shared.codes import LABEL, RefundReason
from shared.policy import PolicyError

REFUND_CODES = frozenset({"refund_before_start", "refund_after_start", "refund_reason_not_listed"})


@dataclass(frozen=True)
class PaidEnrollment:
    person_id: str
    region: str
    year: int
    kind: str
    paid_on: date
    paid_total_fen: int
    event_date: date | None = None
    hukou_region: str | None = None
    residence_region: str | None = None
    statuses: Statuses = ()
    subsidy_refunded_fen: int = 0   # what the subsidy service's refunds (先缴后补) give back: netted


@dataclass(frozen=True)
class RefundOutcome:
    approved: bool
    amount_fen: int
    explanation: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund decided for one enrollment: a row of the `refund` table."""

    id: UUID
    person_id: str
    region: str
    year: int
    reason: str
    requested_on: date
    approved: bool
    amount_fen: int
    explanation: str
    policy_reasons: tuple[str, ...]
    requested_by: str
    duplicate_case_id: UUID | None = None
    paid_fen: int = 0                # paid when decided
    subsidy_refunded_fen: int = 0    # the subsidy service's refunds known when decided, netted from `amount_fen`


class Settled(NamedTuple):
    refund: Refund
    enrollment: Enrollment   # after the refund: ended, or as it was
    ended: bool


def decide(e: PaidEnrollment, reason: str, requested_on: date) -> RefundOutcome:
    label = LABEL[RefundReason(reason)]
    if requested_on < e.paid_on:
        return RefundOutcome(False, 0, f"退费申请日期{requested_on}早于缴费日期{e.paid_on}，请核对", ())
    question = Question(
        person_id=e.person_id, region=e.region, year=e.year, kind=e.kind, payment_date=e.paid_on,
        event_date=e.event_date, hukou_region=e.hukou_region, residence_region=e.residence_region,
        statuses=e.statuses, refund_reason=reason, refund_requested_on=requested_on,
    )
    try:
        a = ask(question)
    except PolicyError as err:
        return RefundOutcome(False, 0, f"因{label}申请退费，政策无法判断：{err.one_line()}", ())
    texts = tuple(r.text for r in a.reasons)
    if a.refund is None:  # the payment bought no cover, so the rules give no refund window either
        return RefundOutcome(False, 0, f"因{label}申请退费：该笔缴费未取得本年度待遇，请转对账核查退款", texts)
    explanation = next((r.text for r in a.reasons if r.code in REFUND_CODES), label)
    if not a.refund.eligible:
        return RefundOutcome(False, 0, explanation, texts)
    amount = netting.personal_cap(a.refund.amount_fen, e.paid_total_fen, e.subsidy_refunded_fen)
    if e.subsidy_refunded_fen:
        explanation += "；" + netting.netted_text(e.paid_total_fen, e.subsidy_refunded_fen, amount)
    return RefundOutcome(True, amount, explanation, texts)


def paid_enrollment(e: Enrollment, statuses: Statuses, subsidy_refunded_fen: int = 0) -> PaidEnrollment:
    """What the refund rules ask about a paid enrollment; `subsidy_refunded_fen` is netted from the refund."""
    if e.paid_on is None:
        raise ValueError(f"{e.state} enrollment without a payment day has nothing to refund")
    return PaidEnrollment(
        person_id=e.person_id, region=e.region, year=e.year, kind=e.kind, paid_on=e.paid_on,
        paid_total_fen=e.paid_total_fen,
        event_date=e.event_date if e.event_date and e.event_date <= e.paid_on else None,
        hukou_region=e.hukou_region, residence_region=e.residence_region, statuses=statuses,
        subsidy_refunded_fen=subsidy_refunded_fen,
    )


def settle(e: Enrollment, reason: str, requested_on: date, statuses: Statuses, *, refund_id: UUID, requested_by: str,
           case_id: UUID | None = None, end_anyway: bool = True, subsidy_refunded_fen: int = 0) -> Settled:
    """Decide the refund of a paid enrollment, net of what the subsidy service's refunds give back; it ends when
    the refund is approved, or always with `end_anyway` (a duplicate case ends the dropped enrollment whatever
    its refund)."""
    outcome = decide(paid_enrollment(e, statuses, subsidy_refunded_fen), reason, requested_on)
    refund = Refund(id=refund_id, person_id=e.person_id, region=e.region, year=e.year, reason=reason,
                    requested_on=requested_on, approved=outcome.approved, amount_fen=outcome.amount_fen,
                    explanation=outcome.explanation, policy_reasons=outcome.reasons, requested_by=requested_by,
                    duplicate_case_id=case_id, paid_fen=e.paid_total_fen, subsidy_refunded_fen=subsidy_refunded_fen)
    if outcome.approved or end_anyway:
        return Settled(refund, lifecycle.end(e, reason, requested_on), True)
    return Settled(refund, e, False)
