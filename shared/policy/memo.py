"""`assess_cached(data)`: the engine's answer remembered per distinct set of facts it reads.

`assess` is pure, and it reads of the person only the birth date (for the paths that turn on
birth or age) and the hukou and residence regions (the place check): never the ID itself. So
people who share a region, year, kind, payment day, event, statuses, history and place get the
same answer, and most people of a region share them — in the December peak a batch of
thousands of receipts needs a few distinct answers. The key is those facts; the birth date is
in it only where a path of the kind reads it, and the checks that compare other dates with the
birth (no payment or event before it, no covered year before it) are decided per person
before the memo is consulted: a person they refuse is judged in full and gets the engine's own
error. Bounded: the memo is emptied when it reaches its size.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from typing import Any

from shared.codes import EnrollmentKind
from shared.policy.assessment import Assessment
from shared.policy.engine import assess
from shared.policy.errors import PolicyError
from shared.policy.loader import load_pack
from shared.policy.scenario import parse_scenario
from shared.resident_id import InvalidResidentId, birth_date_of

MAX_ANSWERS = 200_000
_answers: dict[tuple[Any, ...], Assessment] = {}


def assess_cached(data: Mapping[str, Any]) -> Assessment:
    """`assess(parse_scenario(data))`, remembered by the facts it reads. Raises PolicyError as it does."""
    key = _key(data)
    if key is None:
        return assess(parse_scenario(data))
    found = _answers.get(key)
    if found is None:
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        found = _answers[key] = assess(parse_scenario(data))
    return found


def _key(data: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The facts the engine reads; None when the person's own dates must be judged in full."""
    person = data.get("person") or {}
    try:
        born = birth_date_of(str(person.get("id")))
        paid, event = _day(data.get("payment_date")), _day(data.get("event_date"))
    except (InvalidResidentId, ValueError, TypeError):
        return None  # the engine refuses it with its reason
    years = tuple(sorted(data.get("enrolled_years") or ())), tuple(sorted(data.get("paid_back_years") or ())), \
        tuple(sorted(data.get("zero_reimbursement_years") or ()))
    if paid is None or paid < born or (event is not None and event < born) or any(
            y < born.year for y in _flat(years)):
        return None
    region, year, kind = data.get("region"), data.get("year"), data.get("kind", "general")
    statuses = tuple((s.get("category"), _text(s.get("certified_on")), _text(s.get("ended_on")))
                     for s in data.get("statuses") or ())
    return (region, year, kind, paid, event, person.get("hukou_region"), person.get("residence_region"), statuses,
            years, data.get("refund_reason"), _text(data.get("refund_requested_on")),
            born if _reads_birth(str(region), year, str(kind)) else None)


@cache
def _reads_birth(region: str, year: Any, kind: str) -> bool:
    """Does a path of this kind read the birth date (a newborn's window, an age limit, cover from birth)?"""
    try:
        pack, served = load_pack(region, int(year)), EnrollmentKind(kind)
    except (PolicyError, ValueError, TypeError):
        return True  # judged in full per person: the engine says what is wrong
    return any(p.serves(served) and (
        p.window.event == "birth" or p.window.type == "before_age" or p.benefit_start == "birth"
        or p.requires.birth_in_year is not None or p.requires.born_within_days_before_year is not None)
        for p in pack.paths)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flat(groups: Iterable[tuple[int, ...]]) -> Iterable[int]:
    return (y for g in groups for y in g)
