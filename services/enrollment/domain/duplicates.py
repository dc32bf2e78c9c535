"""Duplicate enrollment (重复参保): two valid paid enrollments for overlapping time, and who keeps which.

AK's rule (安康市通知 五(三), DOMAIN.md §6): benefits come from one enrollment only, by the
priority employee insurance > university student > place of residence (常住地). The
seeds stop there; when both sides tie on all three, the enrollment paid first is kept
and the later payment is the duplicate (`earlier_payment`) — a documented default.

"Place of residence" is the region of the person's residence permit when one was
declared, else the hukou region (declared, or the region whose household register
lists the person). The date the duplicate arose — the later of the two payments, or
the start of employee insurance — is the date any refund is judged on, so the
answer does not depend on when the case happens to be processed.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from uuid import UUID

from services.enrollment.domain.enrollment import Enrollment, Key
from services.enrollment.domain.lifecycle import PAID_STATES
from services.enrollment.domain.registration import EmployeeCover
from shared.regions import name_of

EMPLOYEE = "employee_insurance"
UNIVERSITY = "university_student"


@dataclass(frozen=True)
class Paid:
    """A valid paid enrollment: one region, one year, with the cover its payment bought."""

    region: str
    kind: str
    paid_on: date
    benefit_start: date
    benefit_end: date

    def overlaps(self, other: Paid) -> bool:
        return self.benefit_start <= other.benefit_end and other.benefit_start <= self.benefit_end


@dataclass(frozen=True)
class Resolution:
    kept: str            # region code, or EMPLOYEE
    dropped: str         # region code of the resident enrollment that ends
    rule: str            # employee_first | university_student | residence | earlier_payment
    refund_reason: str   # employee_insurance | other_region
    arose_on: date
    explanation: str


class Found(NamedTuple):
    """The duplicate a newly paid enrollment of `person` for `year` makes."""

    person: str
    year: int
    resolution: Resolution

    @property
    def dropped(self) -> Key:
        return (self.person, self.resolution.dropped, self.year)

    @property
    def kept(self) -> Key:
        return (self.person, self.resolution.kept, self.year)


@dataclass(frozen=True, slots=True)
class DuplicateCase:
    """A duplicate opened for settling: a row of the `duplicate_case` table."""

    id: UUID
    person_id: str
    year: int
    kept: str
    dropped_region: str
    rule: str
    explanation: str
    arose_on: date
    refund_id: UUID | None   # None: the dropped enrollment was funded (资助参保), nobody paid, nothing to refund

    @classmethod
    def of(cls, found: Found, *, case_id: UUID, refund_id: UUID | None) -> DuplicateCase:
        r = found.resolution
        return cls(id=case_id, person_id=found.person, year=found.year, kept=r.kept, dropped_region=r.dropped,
                   rule=r.rule, explanation=r.explanation, arose_on=r.arose_on, refund_id=refund_id)


def paid(e: Enrollment) -> Paid | None:
    """The cover a paid enrollment bought, or None when it is not paid (or bought none)."""
    if e.state not in PAID_STATES or e.benefit_start is None or e.benefit_end is None or e.paid_on is None:
        return None
    return Paid(e.region, e.kind, e.paid_on, e.benefit_start, e.benefit_end)


def residence_of(enrollments: Iterable[Enrollment], baseline_regions: Collection[str]) -> str | None:
    """The declared residence permit region, else the one household register that lists the person."""
    declared = sorted({e.residence_region for e in enrollments if e.residence_region})
    if declared:
        return declared[0]
    return next(iter(baseline_regions)) if len(baseline_regions) == 1 else None


def find(rows: Mapping[Key, Enrollment], newly_paid: Collection[Key], covers: Mapping[str, Iterable[EmployeeCover]],
         baseline: Mapping[str, Collection[str]]) -> list[Found]:
    """For each newly paid enrollment in `rows`, the duplicate it makes (if any), in key order."""
    by_person_year: dict[tuple[str, int], list[Enrollment]] = {}
    for (person, _, year), e in rows.items():  # grouped once: no scan of the whole batch per receipt
        by_person_year.setdefault((person, year), []).append(e)
    found = []
    for key in sorted(newly_paid):
        person, _, year = key
        mine = paid(rows[key])
        if mine is None:
            continue
        resolution = next(filter(None, (against_employee(mine, c) for c in covers.get(person, ()))), None)
        if resolution is None:
            resolution = _between_regions(rows[key], mine, by_person_year[(person, year)], baseline.get(person, ()))
        if resolution:
            found.append(Found(person, year, resolution))
    return found


def _between_regions(row: Enrollment, mine: Paid, same_year: list[Enrollment],
                     baseline_regions: Collection[str]) -> Resolution | None:
    residence = residence_of(same_year, baseline_regions)
    for other in same_year:
        theirs = paid(other)
        if other is not row and theirs is not None:
            resolution = between_regions(theirs, mine, residence)
            if resolution:
                return resolution
    return None


def against_employee(paid: Paid, cover: EmployeeCover) -> Resolution | None:
    """Resident enrollment vs employee insurance: employee insurance always wins."""
    if not cover.overlaps(paid.benefit_start, paid.benefit_end):
        return None
    arose = max(paid.paid_on, cover.insured_from)
    return Resolution(
        kept=EMPLOYEE, dropped=paid.region, rule="employee_first", refund_reason="employee_insurance", arose_on=arose,
        explanation=f"同一时段既参加职工医保（{cover.insured_from}起）又在{name_of(paid.region)}参加居民医保："
        "按“职工医保优先”原则享受职工医保待遇，终止居民医保参保关系",
    )


def between_regions(a: Paid, b: Paid, residence: str | None) -> Resolution | None:
    """Two resident enrollments in different regions; `b` is the one recorded later (ties keep `a`)."""
    if a.region == b.region or not a.overlaps(b):
        return None
    arose = max(a.paid_on, b.paid_on)
    kept, dropped, rule, why = _priority(a, b, residence)
    return Resolution(
        kept=kept.region, dropped=dropped.region, rule=rule, refund_reason="other_region", arose_on=arose,
        explanation=f"同一时段在{name_of(a.region)}和{name_of(b.region)}重复参加居民医保：{why}，"
        f"保留{name_of(kept.region)}的参保，终止{name_of(dropped.region)}的参保关系",
    )


def _priority(a: Paid, b: Paid, residence: str | None) -> tuple[Paid, Paid, str, str]:
    students = [p for p in (a, b) if p.kind == UNIVERSITY]
    if len(students) == 1:
        kept = students[0]
        return kept, (b if kept is a else a), "university_student", "按“大学生身份优先”原则"
    at_home = [p for p in (a, b) if p.region == residence]
    if residence is not None and len(at_home) == 1:
        kept = at_home[0]
        return kept, (b if kept is a else a), "residence", f"按“常住地优先”原则（常住地：{name_of(residence)}）"
    kept, dropped = (b, a) if b.paid_on < a.paid_on else (a, b)
    return kept, dropped, "earlier_payment", f"职工医保、大学生、常住地均无法区分，保留先缴费的一方（{kept.paid_on}缴费）"
