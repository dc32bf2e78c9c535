"""The due of one person for one coverage year, as the tax side should collect it.

The due is the policy engine's answer for the person's enrollment kind paid on the
*assessment date*: for someone who has paid, the day of their first payment (so
that the region's after-payment rules decide what a later status changes); for
someone who has not, today while the collection period runs, its first day
before it opens, and its last day once it closed (the flag the tax side collects
by is the collection-period due; late payers are assessed again when they pay).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.policy import Assessment, Scenario, load_pack, parse_scenario

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


def reason_text(r: Any) -> str:
    return f"{r.text}（{r.rule}）"


def assessment_date(region: str, year: int, today: date) -> date:
    period = load_pack(region, year).collection_period
    return min(max(today, period.start), period.end)


def scenario(person_id: str, region: str, year: int, statuses: Sequence[Any], payment_date: date, *,
             kind: str = "general", **extra: Any) -> Scenario:
    """The engine's question; statuses are CertifiedStatus models or dicts with the same fields.

    Raises PolicyError (naming the field) when the facts cannot be judged."""
    def fields(s: Any) -> dict[str, Any]:
        get = s.get if isinstance(s, dict) else lambda k: getattr(s, k)
        return {"category": get("category"), "certified_on": get("certified_on"), "ended_on": get("ended_on")}

    return parse_scenario({
        "region": region, "year": year, "person": {"id": person_id}, "kind": kind,
        "statuses": [fields(s) for s in statuses], "payment_date": payment_date, **extra,
    })

