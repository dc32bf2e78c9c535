"""A person's history of cover, as the rules read it for one coverage year: pure.

Three sources make it: the years the registering office declared from the national platform's
record (covered, and covered with nothing reimbursed), the years enrollment itself saw paid
or covered, and the gap years paid back (补缴). For coverage year Y only the years before Y
count; a year both covered and paid back is covered; a zero-reimbursement year counts only
when covered. The engine turns it into waiting periods (fixed + per lapsed year, the 4-year
floor, repair by paying back) and the critical-illness cap adjustment.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple


class Year(NamedTuple):
    """One stored year of a person's history (a row of `coverage_history`)."""

    year: int
    covered: bool = False
    zero_reimbursement: bool = False
    paid_back: bool = False


@dataclass(frozen=True, slots=True)
class History:
    enrolled_years: frozenset[int] = frozenset()
    paid_back_years: frozenset[int] = frozenset()
    zero_reimbursement_years: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.enrolled_years or self.paid_back_years)


NONE = History()


def history_for(year: int, stored: Iterable[Year], paid_years: Iterable[int] = (), born_in: int | None = None) -> History:
    """The history that counts for coverage `year`: what is stored and the years enrollment saw paid, before it
    (and not before the birth year, which the rules would refuse as impossible)."""
    def counts(y: int) -> bool:
        return y < year and (born_in is None or y >= born_in)

    rows = [r for r in stored if counts(r.year)]
    enrolled = frozenset({r.year for r in rows if r.covered} | {y for y in paid_years if counts(y)})
    return History(enrolled_years=enrolled,
                   paid_back_years=frozenset(r.year for r in rows if r.paid_back) - enrolled,
                   zero_reimbursement_years=frozenset(r.year for r in rows if r.zero_reimbursement) & enrolled)


def declared(enrolled_years: Iterable[int], zero_reimbursement_years: Iterable[int]) -> list[Year]:
    """What a registration declares, as history rows: each covered year, marked when nothing was reimbursed."""
    zero = set(zero_reimbursement_years)
    return [Year(y, covered=True, zero_reimbursement=y in zero) for y in sorted(set(enrolled_years) | zero)]
