"""The due of one person for one coverage year, as the tax side should collect it.

The due is the policy engine's answer for the person's enrollment kind paid on the
*assessment date*: for someone who has paid, the day of their first payment (so
that the region's after-payment rules decide what a later status changes); for
someone who has not, today while the collection period runs, its first day
before it opens, and its last day once it closed (late payers are assessed again
when they pay).

A registration made after that day, or whose event (an employee-insurance lapse,
entry into a child-welfare institution, a discharge …) or birth comes after it, is
assessed on its registration day — the day enrollment judged it on — and never
before the event, so the kind's own path (its window, its rate, its benefit start,
who funds it) decides, as the tax side judges the person's receipt on its day.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.policy import Assessment, Scenario, parse_scenario
from shared.policy.memo import STORED, Memo

Line = tuple[str, int, str, str]  # (category, amount_fen, funding_source, mode)


@dataclass(frozen=True)
class Due:
    standard_fen: int
    subsidy_fen: int
    due_fen: int
    refund_after_fen: int
    lines: tuple[Line, ...]
    reasons: tuple[str, ...]

    @classmethod
    def from_assessment(cls, a: Assessment) -> Due:
        """The due of an assessment. The engine's answers are remembered per distinct set of facts
        (`assess_cached`), so thousands of people of a batch share a few assessment objects: their due, with its
        reason texts, is made once per object (kept with it, so its id cannot be another's meanwhile)."""
        held = _DUE_OF.get(id(a))
        if held is not None and held[0] is a:
            return held[1]
        if len(_DUE_OF) >= _DUES_HELD:
            _DUE_OF.clear()
        due = cls._of(a)
        _DUE_OF[id(a)] = (a, due)
        return due

    @classmethod
    def _of(cls, a: Assessment) -> Due:
        return cls(
            standard_fen=a.standard_fen,
            subsidy_fen=a.subsidy_total_fen,
            due_fen=a.due_fen,
            refund_after_fen=a.refund_after_fen,
            lines=tuple((str(s.category or "kind"), s.amount_fen, str(s.funding_source), str(s.mode))
                        for s in a.subsidies),
            reasons=tuple(reason_text(r) for r in a.reasons),
        )

    def money(self) -> tuple[int, int, int, int, tuple[Line, ...]]:
        """What the tax side acts on; reasons may be reworded without a new revision."""
        return (self.standard_fen, self.subsidy_fen, self.due_fen, self.refund_after_fen, tuple(sorted(self.lines)))


_DUES_HELD = 10_000
_DUE_OF: dict[int, tuple[Assessment, Due]] = {}


def reason_text(r: Any) -> str:
    return f"{r.text}（{r.rule}）"


def assessment_date(region: str, year: int, today: date, *, not_before: date | None = None,
                    registered_on: date | None = None, policy: Memo = STORED) -> date:
    """The day an unpaid person's due is judged on. `not_before`: the first day they could pay (their event,
    their birth); `registered_on`: the day enrollment judged the registration on; `policy`: whose packs say
    when the collection period runs."""
    period = policy.pack(region, year).collection_period
    day = min(max(today, period.start), period.end)
    later = max(filter(None, (not_before, registered_on)), default=None)
    if later is None or later <= day:
        return day
    # Registered after the day the collection-period due is judged on, or for an event after it: nobody pays for
    # an event before it happened, and the registration day is the payment day enrollment answered with (its
    # expected due and benefit start), so both services — and the tax side, which judges the receipt by the
    # payer's facts on its own day — say the same. It cannot lie before the event.
    return later


def scenario_data(person_id: str, region: str, year: int, statuses: Sequence[Any], payment_date: date, *,
                  kind: str = "general", **extra: Any) -> dict[str, Any]:
    """The engine's question as data (for `assess_cached`); statuses are CertifiedStatus models or dicts."""
    def fields(s: Any) -> dict[str, Any]:
        get = s.get if isinstance(s, dict) else lambda k: getattr(s, k)
        return {"category": get("category"), "certified_on": get("certified_on"), "ended_on": get("ended_on")}

    return {"region": region, "year": year, "person": {"id": person_id}, "kind": kind,
            "statuses": [fields(s) for s in statuses], "payment_date": payment_date, **extra}


def scenario(person_id: str, region: str, year: int, statuses: Sequence[Any], payment_date: date, *,
             kind: str = "general", **extra: Any) -> Scenario:
    """The engine's question, validated. Raises PolicyError (naming the field) when the facts cannot be judged."""
    return parse_scenario(scenario_data(person_id, region, year, statuses, payment_date, kind=kind, **extra))

