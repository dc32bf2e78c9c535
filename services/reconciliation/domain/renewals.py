"""Not renewed since last year (未续保) and vulnerable people not yet enrolled: whom a village worker visits first.

The list holds everyone enrolled last year (the county's list, `prior_year`) who is not
enrolled this year, and everyone holding a status certified by the region's departments
inside this year's collection period who is not enrolled — one line per person, both
reasons shown. Enrolled means what it means everywhere (`progress`); a person whose
enrollment this year has ended (died, joined employee insurance, enrolled elsewhere: a
refund decided it) has a known reason and is left out.

Ranked, per village, by what matters to the worker:
1. vulnerable people first (100 % of them must be covered: DOMAIN.md §7);
2. then by the days left to pay on the terms their path gives (`deadline`), fewest first;
3. people whose last such day has passed come after those who can still make it (they
   can only pay late, with a waiting period or without their subsidy, or not at all);
4. then by name and masked ID, so the order is stable.

`deadline` reads the region's policy pack: the person's path's window (collection
period, a dated extension such as 外出务工 to 28 February, a newborn's 90 days…), never
a date of its own. The paths naming the person's kind come first (this year's registration
gives the kind; else a general resident's paths). Only paths that keep the normal terms
count — no fixed waiting period, no surcharge, and for someone holding a subsidised status,
the subsidy still applied — and only paths whose conditions the list can judge (kind, birth
date from the ID, status): a path that needs an event date or years of history the list
does not hold is not promised. The nearest last day not yet passed is the one that counts.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reconciliation.domain.discrepancies import StatusSpan, status_holds
from services.reconciliation.domain.figures import label
from services.reconciliation.domain.progress import UNPLACED
from shared.codes import Category, EnrollmentKind
from shared.policy.dates import add_days, add_months
from shared.policy.pack import Pack, Path, Window
from shared.resident_id import birth_date_of, mask

STATE_LABEL = {None: "未登记", "registered": "已登记未缴费"}


@dataclass(frozen=True)
class Candidate:
    """Someone enrolled last year or holding a status, not enrolled this year (as the store reads them)."""

    person_id: str
    name: str | None
    township: str | None
    village: str | None
    enrolled_last_year: bool
    last_year_category: str | None
    last_year_paid_on: date | None
    statuses: tuple[StatusSpan, ...]
    state: str | None          # this year's enrollment: None (not registered) or registered
    kind: str | None           # this year's registration's kind, if any


@dataclass(frozen=True)
class Deadline:
    last_day: date
    path: str                  # the path's title in the pack


@dataclass(frozen=True)
class Listed:
    """One line of the list, ID masked."""

    person: str
    name: str | None
    township: str
    village: str
    enrolled_last_year: bool
    categories: tuple[str, ...]   # the labels of the statuses that hold this year
    last_year_category: str | None
    last_year_paid_on: date | None
    state: str
    deadline: Deadline | None
    days_left: int | None         # from the day of the list to the last day; negative: passed

    @property
    def vulnerable(self) -> bool:
        return bool(self.categories)

    @property
    def reasons(self) -> str:
        return "；".join([*(["上年参保、本年未续保"] if self.enrolled_last_year else []),
                         *(f"{c}（应保未保）" for c in self.categories)])


def spans_of(statuses_json: str | None) -> tuple[StatusSpan, ...]:
    """The status spans of a `person_status.statuses` JSON text (None: no status row)."""
    if not statuses_json:
        return ()
    return tuple(StatusSpan(s["category"], date.fromisoformat(s["certified_on"]),
                            date.fromisoformat(s["ended_on"]) if s.get("ended_on") else None)
                 for s in json.loads(statuses_json))


def holding(spans: Iterable[StatusSpan], window: tuple[date, date] | None) -> tuple[str, ...]:
    """The categories certified to hold inside this year's collection period, sorted."""
    items = tuple(spans)
    return tuple(sorted(c for c in {s.category for s in items} if status_holds(items, c, window)))


def deadline(pack: Pack, kind: str | None, born: date, subsidised: bool, day: date) -> Deadline | None:
    """The last day, as seen on `day`, that `kind` born on `born` can pay for `pack`'s year on its path's terms.

    The person's paths are those naming their kind (外出务工, 新生儿 …) where the pack has any, else those for
    everyone; of them, the ones keeping the normal terms whose conditions the list can judge (see above). The
    nearest last day not yet passed is the one that matters now; when all have passed, the latest of them."""
    person_kind = EnrollmentKind(kind) if kind and kind in EnrollmentKind._value2member_map_ else EnrollmentKind.GENERAL
    usable: list[tuple[date, Path]] = []
    for path in pack.paths:
        if not path.serves(person_kind) or path.waiting == "fixed" or path.rate != "standard":
            continue
        if (subsidised and path.subsidy == "none") or not _judgeable(pack, path, born, subsidised):
            continue
        end = _window_end(pack, path.window, born)
        if end is not None:
            usable.append((end, path))
    own = [u for u in usable if u[1].kinds != "all"]
    choice = own or usable
    if not choice:
        return None
    still_open = [u for u in choice if u[0] >= day]
    end, path = min(still_open, key=lambda u: u[0]) if still_open else max(choice, key=lambda u: u[0])
    return Deadline(end, path.title)


def _judgeable(pack: Pack, path: Path, born: date, subsidised: bool) -> bool:
    r = path.requires
    if r.event_on_or_after is not None or r.event_before_year is not None or r.continuous_years is not None:
        return False  # needs an event date or history the list does not hold
    if r.birth_in_year is not None and (born.year == pack.year) != r.birth_in_year:
        return False
    if r.born_within_days_before_year is not None and not (
            born.year == pack.year - 1 and (pack.benefit_period.start - born).days <= r.born_within_days_before_year):
        return False
    return r.has_subsidy_status is None or r.has_subsidy_status == subsidised


def _window_end(pack: Pack, w: Window, born: date) -> date | None:
    if w.type == "collection":
        return pack.collection_period.end
    if w.type == "dates":
        return w.end
    if w.type == "in_year":
        return pack.benefit_period.end
    if w.type == "before_age":
        assert w.years is not None, "a before_age window has years"
        return min(add_days(add_months(born, 12 * w.years), -1), pack.benefit_period.end)
    if w.event != "birth":
        return None  # after another event: its date is not on the list
    return add_months(born, w.months) if w.months is not None else add_days(born, w.days or 0)


def subsidised(pack: Pack | None, categories: Iterable[str]) -> bool:
    """Does any of these statuses carry a subsidy in the region's pack?"""
    return pack is not None and any(
        c in Category._value2member_map_ and pack.subsidy_rule(Category(c)) is not None for c in categories)


def rank(candidates: Iterable[Candidate], pack: Pack | None, window: tuple[date, date] | None,
         day: date) -> list[Listed]:
    """The list, by township and village, each village's people in the order above."""
    listed = []
    for c in candidates:
        categories = holding(c.statuses, window)
        if not (c.enrolled_last_year or categories):
            continue
        due = deadline(pack, c.kind, birth_date_of(c.person_id), subsidised(pack, categories), day) if pack else None
        listed.append(Listed(
            person=mask(c.person_id), name=c.name, township=c.township or UNPLACED, village=c.village or UNPLACED,
            enrolled_last_year=c.enrolled_last_year, categories=tuple(label(x) for x in categories),
            last_year_category=c.last_year_category, last_year_paid_on=c.last_year_paid_on,
            state=STATE_LABEL.get(c.state, "未登记"), deadline=due,
            days_left=(due.last_day - day).days if due else None))
    return sorted(listed, key=_order)


def _order(p: Listed) -> tuple[Any, ...]:
    open_days = p.days_left if p.days_left is not None and p.days_left >= 0 else None
    return (p.township, p.village, not p.vulnerable, open_days is None, open_days or 0, p.name or "", p.person)


def by_village(listed: Iterable[Listed]) -> dict[tuple[str, str], list[Listed]]:
    """The ranked list cut per village (the order kept)."""
    out: dict[tuple[str, str], list[Listed]] = {}
    for p in listed:
        out.setdefault((p.township, p.village), []).append(p)
    return out


def village_counts(groups: Mapping[tuple[str, str], list[Listed]]) -> list[dict[str, Any]]:
    """Per village: how many on the list, how many vulnerable, how many can still pay on normal terms."""
    return [{"township": t, "village": v, "people": len(ps), "vulnerable": sum(p.vulnerable for p in ps),
             "not_renewed": sum(p.enrolled_last_year for p in ps),
             "still_open": sum(p.days_left is not None and p.days_left >= 0 for p in ps)}
            for (t, v), ps in groups.items()]
