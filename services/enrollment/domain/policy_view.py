"""The one bridge from enrollment's facts to the policy engine (`shared.policy.assess`).

Enrollment never re-implements a rule: it builds a `Scenario` from what it knows
(person, kind, dates, certified statuses, history of cover) and reads the answer. A question the
rules cannot judge (no pack for the region-year, a missing event date) comes back
as `PolicyError`, which callers turn into a refusal with its reason.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.enrollment.domain.history import NONE as NO_HISTORY
from services.enrollment.domain.history import History
from shared.codes import Category
from shared.policy import Assessment, assess_cached

_CATEGORIES = frozenset(c.value for c in Category)

Statuses = tuple[Mapping[str, Any], ...]  # certified statuses as identity.status-changed carries them


@dataclass(frozen=True)
class Question:
    """Everything enrollment knows that the rules may ask about."""

    person_id: str
    region: str
    year: int
    kind: str
    payment_date: date
    event_date: date | None = None
    hukou_region: str | None = None
    residence_region: str | None = None
    statuses: Statuses = ()
    refund_reason: str | None = None
    refund_requested_on: date | None = None
    history: History = NO_HISTORY


def policy_statuses(statuses: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Certified statuses (as identity.status-changed carries them) in the shape the rules take."""
    out = []
    for s in statuses:
        if s.get("category") in _CATEGORIES and s.get("certified_on"):
            out.append({"category": s["category"], "certified_on": str(s["certified_on"]),
                        "ended_on": str(s["ended_on"]) if s.get("ended_on") else None})
    return out


def ask(q: Question) -> Assessment:
    """Assess `q`; raises PolicyError when the rules cannot judge it."""
    data: dict[str, Any] = {
        "region": q.region, "year": q.year, "kind": q.kind, "payment_date": str(q.payment_date),
        "person": {"id": q.person_id, "hukou_region": q.hukou_region, "residence_region": q.residence_region},
        "statuses": policy_statuses(q.statuses), "enrolled_years": sorted(q.history.enrolled_years),
        "paid_back_years": sorted(q.history.paid_back_years),
        "zero_reimbursement_years": sorted(q.history.zero_reimbursement_years),
    }
    if q.event_date is not None:
        data["event_date"] = str(q.event_date)
    if q.refund_reason is not None:
        data["refund_reason"] = q.refund_reason
        data["refund_requested_on"] = str(q.refund_requested_on)
    return assess_cached(data)  # the same facts, the same answer: remembered (shared.policy.memo)


def reason_texts(a: Assessment) -> list[str]:
    """The reasons a person reads."""
    return [r.text for r in a.reasons]
