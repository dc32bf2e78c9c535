"""Refund requests (death, paid twice, employee insurance, other region), decided by the policy.

All four seeds: before the benefit period starts the enrollment may be ended and
the personal payment paid back; after it starts, nothing is refunded. The rule and
its wording come from `shared.policy` (`refunds.before_start_reasons` of the pack);
this module only asks, caps the amount at what was actually paid, and words the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.enrollment.domain.policy_view import Question, ask
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
    statuses: tuple[dict, ...] = ()


@dataclass(frozen=True)
class RefundOutcome:
    approved: bool
    amount_fen: int
    explanation: str
    reasons: tuple[str, ...]


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
    amount = min(a.refund.amount_fen, e.paid_total_fen) if a.refund.eligible else 0
    return RefundOutcome(a.refund.eligible, amount, explanation, texts)
