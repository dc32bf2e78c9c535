"""The due of one person for one coverage year, as the tax side should collect it.

The due is the policy engine's answer for a general enrolment paid on the
*assessment date*: today while the collection period runs, its first day before
it opens, and its last day once it closed (the flag the tax side collects by is
the collection-period due; late payers are assessed again when they pay).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.messages import CertifiedStatus
from shared.policy import Assessment, Scenario, assess, load_pack


@dataclass(frozen=True)
class Due:
    standard_fen: int
    subsidy_fen: int
    due_fen: int
    refund_after_fen: int
    lines: tuple[tuple[str, int, str, str], ...]  # (category, amount_fen, funding_source, mode)
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
            reasons=tuple(f"{r.text}（{r.rule}）" for r in a.reasons),
        )


def assessment_date(region: str, year: int, today: date) -> date:
    period = load_pack(region, year).collection_period
    return min(max(today, period.start), period.end)


def assess_due(person_id: str, region: str, statuses: list[CertifiedStatus], year: int, today: date) -> Due:
    scenario = Scenario(
        region=region,
        year=year,
        person={"id": person_id},
        statuses=tuple({"category": s.category, "certified_on": s.certified_on, "ended_on": s.ended_on}
                       for s in statuses),
        payment_date=assessment_date(region, year, today),
    )
    return Due.from_assessment(assess(scenario))
