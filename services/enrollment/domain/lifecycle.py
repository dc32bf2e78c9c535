"""One enrollment's lifecycle: registered → paid → covered → ended.

* paid: an accepted receipt brings the year's total above zero; the policy then says
  which cover that payment bought (benefit window, waiting period), judged on the day
  it was paid in China. A reversal back to zero returns the enrollment to registered.
* covered: the benefit window has begun (`advance`, run daily with the day as argument).
* ended: death, employee insurance, another region, a duplicate case or a refund.

Rows are plain dicts with the columns of the `enrollment` table.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.enrollment.domain.policy_view import Question, ask
from shared.policy import PolicyError

CHINA = ZoneInfo("Asia/Shanghai")  # payment days are China's calendar days, whatever the server's zone
PAID_STATES = frozenset({"paid", "covered"})
END_REASONS = frozenset({"death", "employee_insurance", "other_region", "duplicate_payment"})


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def new_row(person_id: str, region: str, year: int, place: dict | None) -> dict:
    """The enrollment a payment creates when nobody registered the person first (paying is enrolling)."""
    return {
        "person_id": person_id, "region": region, "year": year, "kind": "general", "state": "registered",
        "paid_total_fen": 0, "township": place and place.get("township"), "village": place and place.get("village"),
        "hukou_region": region if place else None, "residence_region": None, "school_region": None,
        "event_date": None, "registered_on": None, "registered_by": None, "paid_on": None,
        "benefit_start": None, "benefit_end": None, "waiting_months": 0, "waiting_days": 0,
        "policy_path": None, "policy_reasons": [], "covered_on": None, "ended_on": None, "end_reason": None,
    }


def apply_payment(row: dict, amount_fen: int, paid_at: datetime, statuses: tuple[dict, ...]) -> bool:
    """Add one accepted receipt (or reversal) to `row`; True when this made the enrollment paid."""
    row["paid_total_fen"] += amount_fen
    if row["state"] == "ended":
        return False  # money after the end stays visible (paid_total) for reconciliation to refund
    if row["paid_total_fen"] <= 0:
        if row["state"] in PAID_STATES:
            row.update(state="registered", benefit_start=None, benefit_end=None, covered_on=None)
        return False
    if row["state"] in PAID_STATES:
        return False
    row["state"] = "paid"
    row["paid_on"] = china_day(paid_at)
    _benefit_window(row, statuses)
    return True


def _benefit_window(row: dict, statuses: tuple[dict, ...]) -> None:
    event = row["event_date"] if row["event_date"] and row["event_date"] <= row["paid_on"] else None
    question = Question(
        person_id=row["person_id"], region=row["region"], year=row["year"], kind=row["kind"],
        payment_date=row["paid_on"], event_date=event, hukou_region=row["hukou_region"],
        residence_region=row["residence_region"], statuses=statuses,
    )
    try:
        a = ask(question)
    except PolicyError as e:
        row.update(benefit_start=None, benefit_end=None, policy_path=None, policy_reasons=[e.one_line()])
        return
    row.update(
        benefit_start=a.benefit_start, benefit_end=a.benefit_end, waiting_months=a.waiting_months,
        waiting_days=a.waiting_days, policy_path=a.path, policy_reasons=[r.text for r in a.reasons],
    )


def coverable(row: dict, as_of: date) -> bool:
    """Paid, with a benefit window that has begun by `as_of`."""
    start = row["benefit_start"]
    return row["state"] == "paid" and start is not None and start <= as_of


def end(row: dict, reason: str, ended_on: date) -> None:
    if reason not in END_REASONS:
        raise ValueError(f"unknown end reason {reason!r}")
    row.update(state="ended", end_reason=reason, ended_on=ended_on)
