"""A generated population for the differential check (tests/support/differential.py): facts only.

Pure and deterministic: `generate(seed, size, history=…, keep=…)` gives the same people for the same
arguments, whatever the clock, the machine or the order tests run in. Each person is the facts a
county would hold about them for coverage year 2025 in one of the four seed regions (340321 怀远,
341522 霍邱, 430502 双清, 610900 安康):

- who: a valid resident ID (region, birth date, sequence, check character), township and village,
  in the region's household register or not (then a declared hukou or residence-permit region);
- the enrollment kind (every `EnrollmentKind`, weighted towards the kinds the region's pack names),
  the event the kind turns on (a lapse, a discharge, entry into a welfare institution …) and a
  school region for students;
- certified statuses (category, the department that certifies it, certified_on, sometimes ended_on),
  by the categories the region subsidises and some it does not, certified before, during or after the
  collection period (someone a fund pays for in full has them all certified before coming forward);
- the registration day at the insurance office (or none: paying is enrolling), a few deliberately
  impossible (before the collection period, before the event);
- whether and when they pay: a local moment (Asia/Shanghai) inside or outside the collection period,
  before it opens, after the year, or never — as the gateway stamps it, in UTC or +08:00, some at a
  few minutes past local midnight; the amount is not a fact here (the tax side asks the quote);
- with `history`: for people registered at the counter, the years of cover before 2025 (continuous, or
  ending one to six years before it, or none) and the years nothing was reimbursed; gap years paid back
  (补缴) by payers where the region's pack provides for it (安康), the day before they pay.

What a person *owes* is not generated: the policy engine says it (differential.expect), the running
system says it (differential.drive), and the two are compared.

Fact groups. Every person carries `group`, the facts that decide which rules apply (region, kind,
timing, statuses, registration, place, history): the report groups divergences by it. Which groups a
run takes is the caller's (`keep`): differential.PENDING names those the system does not yet handle as
the engine does.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from shared.codes import CERTIFIED_BY, PAYMENT_CHANNELS, Category, EnrollmentKind
from shared.policy import load_pack
from shared.policy.dates import REGION_TIME, local_date
from shared.resident_id import check_character

YEAR = 2025
REGIONS: dict[str, str] = {"340321": "怀远", "341522": "霍邱", "430502": "双清", "610900": "安康"}
PLACES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "340321": (("榴城镇", ("城关村", "东关村")), ("龙亢镇", ("龙亢村", "何巷村")), ("荆山镇", ("涂山村",)),
               ("褚集镇", ("褚集村",)), ("魏庄镇", ("魏庄村",))),
    "341522": (("城关镇", ("东湖社区", "西湖社区")), ("周集镇", ("周集村",)), ("临水镇", ("临水村", "新店村"))),
    "430502": (("渡头桥镇", ("渡头桥社区",)), ("兴隆街道", ("佘湖村", "兴隆社区")), ("高崇山镇", ("高崇山村",))),
    "610900": (("新城街道", ("新城社区",)), ("江北街道", ("江北社区", "张岭村")), ("老城街道", ("西城社区",))),
}
ELSEWHERE = ("340322", "341524", "430503", "610902")   # 五河县, 金寨县, 大祥区, 汉滨区: a hukou or permit away
STUDENT_KINDS = frozenset({EnrollmentKind.SCHOOL_STUDENT, EnrollmentKind.UNIVERSITY_STUDENT})
EVENT_KINDS = frozenset({
    EnrollmentKind.EMPLOYEE_LAPSE, EnrollmentKind.DISCHARGED_SOLDIER, EnrollmentKind.RELEASED_PRISONER,
    EnrollmentKind.COMMUNITY_CORRECTION, EnrollmentKind.WELFARE_INSTITUTION_CHILD, EnrollmentKind.UNIVERSITY_STUDENT,
    EnrollmentKind.RETURNING_GRADUATE, EnrollmentKind.MILITARY_SPOUSE, EnrollmentKind.LOST_CONTACT,
})
CHILD_CATEGORIES = frozenset({Category.ORPHAN, Category.UNSUPPORTED_CHILD})
SEASON_END = date(2025, 12, 31)


# -- the facts of one person ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certified:
    """A status as its department certifies it (the row of the department's list)."""

    category: str
    department: str
    certified_on: date
    ended_on: date | None = None

    def as_of(self, day: date | None) -> Certified | None:
        """What the department had posted by `day` (None: everything): nothing before the certification, and
        no end before it happened."""
        if day is None:
            return self
        if self.certified_on > day:
            return None
        if self.ended_on is not None and self.ended_on > day:
            return Certified(self.category, self.department, self.certified_on)
        return self


@dataclass(frozen=True)
class Resident:
    index: int                          # place in the population (shown with the masked ID in reports)
    id: str
    region: str
    township: str
    village: str
    in_baseline: bool                   # in the region's household register (public security's list)
    hukou_region: str | None            # declared at registration (None: the register's, when listed)
    residence_region: str | None        # declared residence permit
    kind: str
    event_date: date | None
    school_region: str | None
    statuses: tuple[Certified, ...]
    registered_on: date | None          # None: never registered (paying is enrolling)
    paid_at: datetime | None            # the moment the person pays (aware); None: never pays
    enrolled_years: tuple[int, ...] = ()           # declared at registration (the national platform's record)
    zero_reimbursement_years: tuple[int, ...] = ()  # of those, the years nothing was reimbursed
    paid_back_years: tuple[int, ...] = ()           # gap years paid back (补缴) the day before the payment
    group: tuple[str, ...] = ()         # the fact group: region, kind, timing, statuses, registration, history

    @property
    def birth_date(self) -> date:
        return date(int(self.id[6:10]), int(self.id[10:12]), int(self.id[12:14]))

    @property
    def pay_day(self) -> date | None:
        """The local (Asia/Shanghai) day of the payment: the day every rule reads."""
        return local_date(self.paid_at) if self.paid_at is not None else None

    @property
    def history(self) -> bool:
        return bool(self.enrolled_years or self.paid_back_years)

    @property
    def paid_back_at(self) -> datetime | None:
        """When the gap years are paid back: a day before the payment for the coverage year."""
        return self.paid_at - timedelta(days=1) if self.paid_at is not None and self.paid_back_years else None

    def statuses_as_of(self, day: date | None) -> tuple[Certified, ...]:
        return tuple(s for s in (c.as_of(day) for c in self.statuses) if s is not None)

    @property
    def first_act(self) -> date | None:
        """The first day the person comes to the counter or pays (None: never)."""
        return min((d for d in (self.registered_on, self.pay_day) if d is not None), default=None)

    @property
    def late_facts(self) -> bool:
        """A status certified, or ended, after the payment: posted by its department after the person paid."""
        return self.pay_day is not None and self.statuses_as_of(self.pay_day) != self.statuses


# -- the regions' packs, as the generator reads them (what exists, not what anyone owes) ------------------------


@cache
def collection(region: str) -> tuple[date, date]:
    period = load_pack(region, YEAR).collection_period
    return period.start, period.end


@cache
def own_kinds(region: str) -> tuple[str, ...]:
    """The kinds the region's pack names in a path of their own (the rest fall back to the general paths)."""
    pack = load_pack(region, YEAR)
    return tuple(sorted({str(k) for p in pack.paths if p.kinds != "all" for k in p.kinds}))


@cache
def subsidy_fen(region: str, category: str) -> int:
    return load_pack(region, YEAR).subsidy_fen(Category(category)) or 0


@cache
def subsidised(region: str) -> tuple[str, ...]:
    return tuple(c.value for c in Category if subsidy_fen(region, c.value))


def full_subsidy(region: str, category: str) -> bool:
    return subsidy_fen(region, category) >= load_pack(region, YEAR).money.individual_contribution


# -- drawing ------------------------------------------------------------------------------------------------------


def generate(seed: int, size: int, *, history: bool = False,
             keep: Callable[[Resident], bool] | None = None) -> list[Resident]:
    """`size` people, the same for the same arguments: drawn one after another, those `keep` refuses skipped
    (differential.Selection keeps the fact groups a run takes); `history`: earlier years enrolled and paid back."""
    rng = random.Random(seed)
    used: set[str] = set()
    people: list[Resident] = []
    draws = 0
    while len(people) < size:
        draws += 1
        if draws > 50 * size + 1000:
            raise RuntimeError(f"the selection keeps too few people: {len(people)} of {size} after {draws} draws")
        person = _draw(rng, len(people), used, history)
        if keep is None or keep(person):
            used.add(person.id)
            people.append(person)
    return people


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _resident_id(rng: random.Random, region: str, born: date, used: set[str]) -> str:
    for _ in range(1000):
        first17 = f"{region}{born:%Y%m%d}{rng.randint(1, 999):03d}"
        candidate = first17 + check_character(first17)
        if candidate not in used:
            return candidate
    raise RuntimeError("no free sequence number left for one birth date")


def _kind(rng: random.Random, region: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return EnrollmentKind.GENERAL.value
    if roll < 0.85:
        return rng.choice(own_kinds(region))
    return rng.choice([k.value for k in EnrollmentKind if k != EnrollmentKind.GENERAL])


def _birth(rng: random.Random, kind: str) -> date:
    if kind == EnrollmentKind.NEWBORN:
        return _day(rng, date(2024, 7, 1), date(2025, 11, 30))
    if kind == EnrollmentKind.SCHOOL_STUDENT:
        return _day(rng, date(2008, 9, 1), date(2020, 8, 31))
    if kind in (EnrollmentKind.UNIVERSITY_STUDENT, EnrollmentKind.RETURNING_GRADUATE):
        return _day(rng, date(1999, 1, 1), date(2006, 8, 31))
    if kind == EnrollmentKind.WELFARE_INSTITUTION_CHILD:
        return _day(rng, date(2008, 1, 1), date(2024, 6, 30))
    if kind == EnrollmentKind.GENERAL and rng.random() < 0.2:
        return _day(rng, date(2006, 1, 1), date(2024, 6, 30))   # children enrol as everyone does
    return _day(rng, date(1940, 1, 1), date(2005, 12, 31))


def _pay_day(rng: random.Random, region: str, timing: str) -> date:
    start, end = collection(region)
    if timing == "in_period":
        return _day(rng, start, end)
    if timing == "late":
        if region == "610900" and rng.random() < 0.6:      # 安康's supplementary period, 2025-01-01 … 03-31
            return _day(rng, end + timedelta(days=1), date(2025, 3, 31))
        return _day(rng, end + timedelta(days=1), SEASON_END)
    if timing == "before_period":
        return _day(rng, date(2024, 8, 1), start - timedelta(days=1))
    return _day(rng, date(2026, 1, 1), date(2026, 2, 28))   # after_year


def _moment(rng: random.Random, day: date) -> datetime:
    """A local moment of `day` as the gateway stamps it: mostly office hours, some just past local midnight
    (the UTC date is the day before) or just before it; sent in UTC or with China's offset."""
    roll = rng.random()
    if roll < 0.12:
        clock = time(0, rng.randint(0, 29), rng.randint(0, 59))
    elif roll < 0.2:
        clock = time(23, rng.randint(30, 59), rng.randint(0, 59))
    else:
        clock = time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59))
    local = datetime.combine(day, clock, tzinfo=REGION_TIME)
    return local.astimezone(UTC) if rng.random() < 0.7 else local


def _statuses(rng: random.Random, region: str, born: date, kind: str) -> tuple[Certified, ...]:
    chance = 0.7 if kind == EnrollmentKind.VULNERABLE_LATE else 0.35
    if rng.random() >= chance:
        return ()
    child = born > date(2007, 1, 1)
    out: list[Certified] = []
    for _ in range(2 if rng.random() < 0.2 else 1):
        pool = subsidised(region) if rng.random() < 0.85 else tuple(c.value for c in Category)
        choices = [c for c in pool if child or c not in CHILD_CATEGORIES]
        category = rng.choice(choices)
        if any(s.category == category for s in out):
            continue
        roll = rng.random()
        if roll < 0.5:
            certified = _day(rng, date(2023, 1, 1), date(2024, 8, 31))
        elif roll < 0.8:
            certified = _day(rng, *collection(region))
        else:
            certified = _day(rng, date(2025, 1, 1), date(2025, 10, 31))
        certified = max(certified, born)
        ended = None
        if rng.random() < 0.15:
            ended = min(certified + timedelta(days=rng.randint(30, 500)), SEASON_END)
        out.append(Certified(category, CERTIFIED_BY[Category(category)].value, certified, ended))
    return tuple(out)


def _known_by(s: Certified, day: date) -> Certified:
    """`s` as known by `day`: certified by then, and ended only if it ended by then."""
    ended = s.ended_on if s.ended_on is not None and s.ended_on <= day else None
    return Certified(s.category, s.department, min(s.certified_on, day), ended)


def _history(rng: random.Random, region: str, born: date, pays: bool) -> tuple[tuple[int, ...], ...]:
    """(enrolled years, zero-reimbursement years, gap years paid back): continuous, never enrolled, or a gap of one
    to six years before 2025; gap years are paid back only by payers, where the pack provides for it (安康)."""
    first = max(born.year, 2015)
    if first >= YEAR - 1:
        return (), (), ()
    years = list(range(first, YEAR))
    roll = rng.random()
    if roll < 0.15:
        return (), (), ()                                    # never enrolled: a first enrollment
    gap = 0 if roll < 0.5 else rng.randint(1, min(6, len(years) - 1))
    enrolled = years[:len(years) - gap]
    zero = tuple(y for y in enrolled if rng.random() < 0.15)
    waiting = load_pack(region, YEAR).waiting
    paid_back: tuple[int, ...] = ()
    if gap and pays and getattr(waiting, "payback", None) is not None and rng.random() < 0.6:
        paid_back = tuple(y for y in years[len(enrolled):] if rng.random() < 0.5)
    return tuple(enrolled), zero, paid_back


def _timing_of(region: str, day: date | None) -> str:
    if day is None:
        return "never"
    start, end = collection(region)
    if day < start:
        return "before_period"
    if day <= end:
        return "in_period"
    return "late" if day <= SEASON_END else "after_year"


def _draw(rng: random.Random, index: int, used: set[str], history: bool) -> Resident:
    region = rng.choice(list(REGIONS))
    township, villages = rng.choice(PLACES[region])
    village = rng.choice(villages)
    kind = _kind(rng, region)
    born = _birth(rng, kind)
    person_id = _resident_id(rng, region, born, used)

    # Where the person belongs: the register's, or declared (a residence permit here, or nothing here at all).
    roll = rng.random()
    in_baseline, hukou, residence = True, None, None
    if roll < 0.07:
        away = [c for c in ELSEWHERE if not load_pack(region, YEAR).covers(c)]
        in_baseline, hukou, residence = False, rng.choice(away), region
    elif roll < 0.09:
        away = [c for c in ELSEWHERE if not load_pack(region, YEAR).covers(c)]
        in_baseline, hukou, residence = False, away[0], away[-1]

    # When the person pays, and the event their kind turns on.
    timing = rng.choices(["in_period", "late", "never", "before_period", "after_year"], [50, 26, 18, 2, 4])[0]
    pay = None if timing == "never" else _pay_day(rng, region, timing)
    event = None
    if kind == EnrollmentKind.NEWBORN:
        if pay is not None:
            pay = born + timedelta(days=rng.randint(0, 90) if rng.random() < 0.7 else rng.randint(91, 200))
    elif kind in EVENT_KINDS:
        if pay is not None and rng.random() < 0.55:
            event = max(_day(rng, date(2024, 6, 1), date(2025, 11, 30)), born)
            pay = event + timedelta(days=rng.randint(0, 120))
        elif pay is not None:
            event = max(pay - timedelta(days=rng.randint(0, 200)), born)
        else:
            event = max(_day(rng, date(2024, 6, 1), date(2025, 11, 30)), born)
    if pay is not None:
        pay = max(pay, born)

    statuses = _statuses(rng, region, born, kind)

    # Registration: every special kind (the kind reaches the system only so), half the general residents.
    registered = None
    if kind != EnrollmentKind.GENERAL or not in_baseline or rng.random() < 0.5:
        floor = max(d for d in (born, event, collection(region)[0]) if d is not None)
        if pay is not None:   # at the counter up to 20 days before paying, never after
            registered = min(max(pay - timedelta(days=rng.randint(0, 20)), floor), pay)
        else:
            registered = max(_day(rng, collection(region)[0], date(2025, 11, 30)), floor)
        roll = rng.random()
        if roll < 0.02:
            registered = _day(rng, date(2024, 8, 1), date(2024, 8, 31))      # before the window opens
        elif roll < 0.05 and event is not None and event > date(2024, 9, 10):
            registered = event - timedelta(days=rng.randint(1, 9))           # before the event it is for
        registered = max(registered, born)

    first_act = min((d for d in (registered, pay) if d is not None), default=None)
    if first_act is not None and any(full_subsidy(region, s.category) for s in statuses):
        # Someone a fund pays for in full is enrolled by the fund as soon as the status is posted: their statuses
        # are all known before they come to the counter or the gateway (a status certified or ended later would
        # change who pays after the fund had paid, which the rules leave to the office).
        statuses = tuple(_known_by(s, first_act) for s in statuses)

    paid_at = _moment(rng, pay) if pay is not None else None
    enrolled, zero, paid_back = _history(rng, region, born, pay is not None) if history and registered is not None \
        else ((), (), ())
    school = region if kind in STUDENT_KINDS else None
    provisional = Resident(index, person_id, region, township, village, in_baseline, hukou, residence, kind, event,
                           school, statuses, registered, paid_at, enrolled, zero, paid_back)
    return Resident(**{**provisional.__dict__, "group": _group(provisional)})


def _group(r: Resident) -> tuple[str, ...]:
    status = ("no status" if not r.statuses else
              "full subsidy" if any(full_subsidy(r.region, s.category) for s in r.statuses) else
              "subsidised status" if any(subsidy_fen(r.region, s.category) for s in r.statuses) else
              "unsubsidised status")
    if r.late_facts:
        status += ", posted after payment"
    registration = ("unregistered" if r.registered_on is None else
                    "registered before the period" if r.registered_on < collection(r.region)[0] else
                    "registered before the event" if r.event_date and r.registered_on < r.event_date else
                    "registered")
    place = "register" if r.in_baseline else ("permit here" if r.residence_region == r.region else "elsewhere")
    history = ("history: gap" if r.enrolled_years and max(r.enrolled_years) < YEAR - 1 else
               "history: continuous" if r.enrolled_years else "")
    return tuple(x for x in (REGIONS[r.region], r.kind, _timing_of(r.region, r.pay_day), status, registration, place,
                             history) if x)


def channel_of(r: Resident) -> tuple[str, str | None]:
    """The payment channel (and the village agent for cash collected in the village), fixed per person."""
    channels = sorted(PAYMENT_CHANNELS)
    channel = channels[int(r.id[14:17]) % len(channels)]
    return channel, (f"代收员{r.index % 7 + 1:02d}" if channel == "village_agent" else None)


__all__ = ["REGIONS", "YEAR", "Certified", "Resident", "channel_of", "collection", "full_subsidy", "generate",
           "subsidy_fen"]
