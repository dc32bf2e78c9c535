"""One person's enrollment in one region for one coverage year, as a value: a row of the `enrollment` table.

Changed with `_replace` by the lifecycle (`domain.lifecycle`); the store reads and writes it
column for column. A named tuple rather than a frozen dataclass: every receipt of the December
peak makes or changes one, and a tuple is made and replaced five times faster.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from services.enrollment.domain.history import History

Key = tuple[str, str, int]   # (person, region, year)
Home = tuple[str, str]       # (person, region)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a region's household register places the person."""

    township: str | None = None
    village: str | None = None


class Enrollment(NamedTuple):
    person_id: str
    region: str
    year: int
    kind: str = "general"
    state: str = "registered"      # registered | paid | covered | ended
    paid_total_fen: int = 0
    township: str | None = None
    village: str | None = None
    hukou_region: str | None = None
    residence_region: str | None = None
    school_region: str | None = None
    event_date: date | None = None
    registered_on: date | None = None
    registered_by: str | None = None
    paid_on: date | None = None
    benefit_start: date | None = None
    benefit_end: date | None = None
    waiting_months: int = 0
    waiting_days: int = 0
    policy_path: str | None = None
    policy_reasons: tuple[str, ...] = ()
    covered_on: date | None = None
    ended_on: date | None = None
    end_reason: str | None = None
    funded_by: str | None = None   # the fund paying the whole contribution (资助参保, due 0); None: the person pays
    cap_adjustment_fen: int = 0    # the critical-illness cap raised or cut for the year (continuity, zero reimbursement)
    enrolled_years: tuple[int, ...] = ()            # the history the year was judged with (domain.history)
    paid_back_years: tuple[int, ...] = ()
    zero_reimbursement_years: tuple[int, ...] = ()

    @property
    def funded(self) -> bool:
        """Enrolled as paid with no money of the person's own: the whole contribution is subsidised."""
        return self.funded_by is not None and self.state in ("paid", "covered")

    @property
    def history(self) -> History:
        return History(frozenset(self.enrolled_years), frozenset(self.paid_back_years),
                       frozenset(self.zero_reimbursement_years))

    def with_history(self, h: History) -> Enrollment:
        return self._replace(enrolled_years=tuple(sorted(h.enrolled_years)), paid_back_years=tuple(sorted(h.paid_back_years)),
                             zero_reimbursement_years=tuple(sorted(h.zero_reimbursement_years)))

    @property
    def key(self) -> Key:
        return (self.person_id, self.region, self.year)

    @property
    def home(self) -> Home:
        return (self.person_id, self.region)
