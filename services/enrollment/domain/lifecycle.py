"""One enrollment's lifecycle: registered → paid → covered → ended.

* registered: a registration the rules accept (`registered`), or a payment for someone
  nobody registered first (`new`: paying is enrolling).
* paid: an accepted receipt brings the year's total above zero; the policy then says
  which cover that payment bought (benefit window, waiting period), judged on the day
  it was paid in China. A reversal back to zero returns the enrollment to registered.
  Or a fund pays the whole contribution (`fund`, 资助参保: due 0): paid with no money of
  the person's, `funded_by` naming the fund; money on it changes nothing of that cover, and
  only `unfund` (the subsidy withdrawn before the benefit start) returns it to registered.
* covered: the benefit window has begun (`cover`, run daily with the day as argument).
* ended: death, employee insurance, another region, a duplicate case or a refund.

Every step takes an `Enrollment` and returns the changed one.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.enrollment.domain.enrollment import Enrollment, Place
from services.enrollment.domain.history import NONE as NO_HISTORY
from services.enrollment.domain.history import History
from services.enrollment.domain.policy_view import Question, Statuses, ask
from services.enrollment.domain.registration import Decision, Request
from shared.policy import PolicyError
from shared.policy.dates import local_date

PAID_STATES = frozenset({"paid", "covered"})
END_REASONS = frozenset({"death", "employee_insurance", "other_region", "duplicate_payment"})


def china_day(moment: datetime) -> date:
    """Payment and registration days are the region's calendar days, whatever the server's zone."""
    return local_date(moment)


def new(person_id: str, region: str, year: int, place: Place | None) -> Enrollment:
    """The enrollment a payment creates when nobody registered the person first (paying is enrolling)."""
    if place is None:
        return Enrollment(person_id, region, year)
    return Enrollment(person_id, region, year, township=place.township, village=place.village, hukou_region=region)


def registered(req: Request, decision: Decision, place: Place | None, by: str,
               history: History = NO_HISTORY) -> Enrollment:
    """The enrollment a registration the rules accepted creates, with the history it was judged with."""
    return new(req.person_id, req.region, req.year, place)._replace(kind=req.kind, hukou_region=decision.hukou_region,
                   residence_region=req.residence_region, school_region=req.school_region, event_date=req.event_date,
                   registered_on=req.registered_on, registered_by=by).with_history(history)


def apply_payment(e: Enrollment, amount_fen: int, paid_at: datetime, statuses: Statuses) -> tuple[Enrollment, bool]:
    """Add one accepted receipt (or reversal) to `e`: the enrollment after it, and whether this made it paid.
    Money after the end stays counted (paid_total) for reconciliation to refund."""
    total = e.paid_total_fen + amount_fen
    paid = e.state in PAID_STATES
    if e.state == "ended" or e.funded or (total > 0) == paid:
        return e._replace(paid_total_fen=total), False
    if total <= 0:
        return e._replace(paid_total_fen=total, state="registered", benefit_start=None, benefit_end=None,
                       covered_on=None), False
    paid_on = china_day(paid_at)
    return e._replace(paid_total_fen=total, state="paid", paid_on=paid_on, **_benefit_window(e, paid_on, statuses)), True


def repaired(e: Enrollment, statuses: Statuses, history: History) -> Enrollment:
    """The enrollment with a history that changed (a gap year paid back, 补缴); one paid and not yet covered is
    judged again on its payment day: the waiting period, and so the benefit start, may be shorter."""
    e = e.with_history(history)
    if e.state != "paid" or e.paid_on is None or e.funded:
        return e
    return e._replace(**_benefit_window(e, e.paid_on, statuses))


def _benefit_window(e: Enrollment, paid_on: date, statuses: Statuses) -> dict[str, Any]:
    """The cover a payment on `paid_on` buys, as the changes to the enrollment."""
    question = Question(
        person_id=e.person_id, region=e.region, year=e.year, kind=e.kind, payment_date=paid_on,
        event_date=e.event_date if e.event_date and e.event_date <= paid_on else None,
        hukou_region=e.hukou_region, residence_region=e.residence_region, statuses=statuses, history=e.history,
    )
    try:
        a = ask(question)
    except PolicyError as err:
        return {"benefit_start": None, "benefit_end": None, "policy_path": None, "policy_reasons": (err.one_line(),)}
    return {"benefit_start": a.benefit_start, "benefit_end": a.benefit_end, "waiting_months": a.waiting_months,
            "waiting_days": a.waiting_days, "policy_path": a.path, "policy_reasons": tuple(r.text for r in a.reasons),
            "cap_adjustment_fen": a.critical_illness_cap_adjustment_fen}


def fund(e: Enrollment, funded_on: date, funded_by: str, statuses: Statuses, why: str) -> Enrollment:
    """The whole contribution paid by `funded_by` on `funded_on`: paid without money of the person's, with the
    cover a payment on that day buys (no benefit window when the rules give none) and `why` first among the
    reasons."""
    window = _benefit_window(e, funded_on, statuses)
    window["policy_reasons"] = (why, *window["policy_reasons"])
    return e._replace(state="paid", paid_on=funded_on, funded_by=funded_by, covered_on=None, **window)


def unfund(e: Enrollment, why: str) -> Enrollment:
    """The fund no longer pays before the cover began: registered again, owing what the subsidy now assesses."""
    return e._replace(state="registered", paid_on=None, funded_by=None, benefit_start=None, benefit_end=None,
                      waiting_months=0, waiting_days=0, policy_path=None, policy_reasons=(why,), covered_on=None,
                      cap_adjustment_fen=0)


def coverable(e: Enrollment, as_of: date) -> bool:
    """Paid, with a benefit window that has begun by `as_of`."""
    return e.state == "paid" and e.benefit_start is not None and e.benefit_start <= as_of


def cover(e: Enrollment, as_of: date) -> Enrollment:
    return e._replace(state="covered", covered_on=as_of)


def end(e: Enrollment, reason: str, ended_on: date) -> Enrollment:
    if reason not in END_REASONS:
        raise ValueError(f"unknown end reason {reason!r}")
    return e._replace(state="ended", end_reason=reason, ended_on=ended_on)
