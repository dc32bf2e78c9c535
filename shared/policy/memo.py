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

The key names no pack: it assumes the stored pack of the region and year. A what-if that judges
people under an amended pack therefore gets a `Memo` of its own (`Memo.amended(pack)`), whose
answers can never be handed to, or taken from, the one every service uses (`STORED`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cache
from typing import Any

from shared.codes import EnrollmentKind
from shared.policy.assessment import Assessment
from shared.policy.engine import assess
from shared.policy.errors import PolicyError
from shared.policy.loader import load_pack, pooling_region_of
from shared.policy.pack import Pack
from shared.policy.scenario import parse_scenario
from shared.resident_id import InvalidResidentId, birth_date_of

MAX_ANSWERS = 200_000
Packs = Callable[[str, int], Pack]


class Memo:
    """The engine's answers under one set of packs, remembered by the facts they read.

    `packs`: the pack of a region and year; None for the stored packs (`load_pack`), which the engine
    then loads itself. `size`: answers kept before the memo is emptied (None: `MAX_ANSWERS`). `reasons`:
    False keeps and returns answers without their reasons and provisional notes — nine tenths of an
    answer's memory — for a caller that totals money and shows no reasons (a what-if)."""

    def __init__(self, packs: Packs | None = None, *, size: int | None = None, reasons: bool = True) -> None:
        self._packs = packs
        self._size = size
        self._reasons = reasons
        self.answers: dict[tuple[Any, ...], Assessment] = {}
        self.judged = 0  # answers the engine was asked for (misses, and people judged in full)
        self._reads_birth: dict[tuple[str, Any, str], bool] = {}

    @classmethod
    def amended(cls, pack: Pack, *, size: int | None = None, reasons: bool = True) -> Memo:
        """A memo judging `pack`'s region and year (and, for a city pack, its counties) under `pack` in place of
        the stored pack, every other region and year as stored: for a what-if, with answers of its own."""
        base = pack.model_copy(update={"applies_to": None}) if pack.applies_to else pack
        counties: dict[str, Pack] = {}

        def packs(region: str, year: int) -> Pack:
            if year != base.year or not base.covers(region) or pooling_region_of(region, year) != base.region:
                return load_pack(region, year)
            if region == base.region:
                return base
            if region not in counties:
                counties[region] = base.model_copy(update={"applies_to": region})
            return counties[region]

        return cls(packs, size=size, reasons=reasons)

    def pack(self, region: str, year: int) -> Pack:
        """The pack this memo judges `region` and `year` by. Raises PolicyError as `load_pack` does."""
        return load_pack(region, year) if self._packs is None else self._packs(region, year)

    def assess(self, data: Mapping[str, Any]) -> Assessment:
        """`assess(parse_scenario(data))` under this memo's packs, remembered by the facts it reads."""
        key = self._key(data)
        if key is None:
            return self._judge(data)
        found = self.answers.get(key)
        if found is None:
            if len(self.answers) >= (self._size or MAX_ANSWERS):
                self.answers.clear()
            found = self.answers[key] = self._judge(data)
        return found

    def _judge(self, data: Mapping[str, Any]) -> Assessment:
        self.judged += 1
        s = parse_scenario(data)
        answer = assess(s) if self._packs is None else assess(s, self._packs(s.region, s.year))
        return answer if self._reasons else answer.model_copy(update={"reasons": (), "provisional": ()})

    def _key(self, data: Mapping[str, Any]) -> tuple[Any, ...] | None:
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
                born if self._birth_read(str(region), year, str(kind)) else None)

    def _birth_read(self, region: str, year: Any, kind: str) -> bool:
        if self._packs is None:
            return _reads_birth(region, year, kind)
        found = self._reads_birth.get((region, year, kind))
        if found is None:
            found = self._reads_birth[(region, year, kind)] = _paths_read_birth(self._packs, region, year, kind)
        return found


@cache
def _reads_birth(region: str, year: Any, kind: str) -> bool:
    """Does a path of this kind read the birth date (a newborn's window, an age limit, cover from birth)?"""
    return _paths_read_birth(load_pack, region, year, kind)


def _paths_read_birth(packs: Packs, region: str, year: Any, kind: str) -> bool:
    try:
        pack, served = packs(region, int(year)), EnrollmentKind(kind)
    except (PolicyError, ValueError, TypeError):
        return True  # judged in full per person: the engine says what is wrong
    return any(p.serves(served) and (
        p.window.event == "birth" or p.window.type == "before_age" or p.benefit_start == "birth"
        or p.requires.birth_in_year is not None or p.requires.born_within_days_before_year is not None)
        for p in pack.paths)


STORED = Memo()
"""The memo of the stored packs: what every service's answers come from."""
_answers = STORED.answers  # the stored memo's answers, by their old name (tests look at it)


def assess_cached(data: Mapping[str, Any]) -> Assessment:
    """`assess(parse_scenario(data))` under the stored packs, remembered by the facts it reads. Raises PolicyError
    as it does."""
    return STORED.assess(data)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flat(groups: Iterable[tuple[int, ...]]) -> Iterable[int]:
    return (y for g in groups for y in g)
