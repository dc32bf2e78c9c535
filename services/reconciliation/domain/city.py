"""A city with counties (安康市 610900, a city-wide pooling region): progress and the 未续保/应保未保 lists rolled up
from township to county to city, and each county's overrides of the city pack.

The data of such a city arrives under the code of each county (紫阳县 610924 …) and, for what was registered
under the city's own code, under 610900: each is a `Part`, held and reconciled as any region is. `roll_up`
adds them up without dropping or counting anyone twice: a township's figures are the sum of its villages,
a county's the sum of its townships, the city's the sum of its counties (and of the rows under its own code,
shown apart as 市本级). Counts only, and the listed people (IDs masked) for the export. Pure.

A county's overrides come from the city pack (`counties.<code>`): each amount the county sets, beside the city's,
with the seed line it cites and, where the seed gives no figure, the note saying so and who must fill it in.
A county the pack (and so the seed) gives no overrides is said to follow the city pack; none is invented.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.reconciliation.domain.progress import UNPLACED, PlaceCount, rate
from services.reconciliation.domain.renewals import Listed
from shared.codes import LABEL
from shared.policy.pack import Pack
from shared.policy.words import value_words

CITY_OWN = "市本级（登记在市统筹区代码下、未分县区）"
NO_OVERRIDE = "政策文件未给本县（区）单独标准：执行市级政策包"


@dataclass(frozen=True)
class Part:
    """What one region code of the city holds: progress counts per village, township targets, the chase list."""
    code: str
    name: str
    counts: Sequence[PlaceCount]
    targets: Mapping[str, int]
    listed: Sequence[Listed]
    note: str | None = None   # e.g. a code retired before the year, still on old records


@dataclass
class Figures:
    """The figures of one place at any level; adding a place's figures into its parent's is `add`."""
    baseline_people: int = 0
    enrolled_people: int = 0
    paid_people: int = 0
    paid_fen: int = 0
    target_people: int | None = None
    listed: int = 0                     # on the 未续保 list (either reason)
    not_renewed: int = 0                # enrolled last year, not yet this year
    vulnerable_not_enrolled: int = 0    # 应保未保: a status that holds this year, not enrolled

    @property
    def coverage_rate(self) -> float | None:
        return rate(self.enrolled_people, self.baseline_people)

    @property
    def target_completion(self) -> float | None:
        return rate(self.enrolled_people, self.target_people)

    def add(self, other: Figures) -> None:
        self.baseline_people += other.baseline_people
        self.enrolled_people += other.enrolled_people
        self.paid_people += other.paid_people
        self.paid_fen += other.paid_fen
        if other.target_people is not None:
            self.target_people = (self.target_people or 0) + other.target_people
        self.listed += other.listed
        self.not_renewed += other.not_renewed
        self.vulnerable_not_enrolled += other.vulnerable_not_enrolled


@dataclass(frozen=True)
class Override:
    """One amount a county sets instead of the city's."""
    setting: str
    what: str
    city: str
    county: str
    cites: str
    provisional: str | None   # why the figure is a stand-in and who must fill it in; None: the seed's own figure


@dataclass
class CountyLine:
    code: str
    name: str
    figures: Figures
    townships: dict[str, Figures]
    listed: list[Listed]
    overrides: list[Override] = field(default_factory=list)
    has_data: bool = False
    note: str | None = None


@dataclass(frozen=True)
class CityView:
    code: str
    name: str
    year: int
    figures: Figures
    counties: list[CountyLine]   # the city's own code first when it holds anything, then the counties by code


def township_figures(part: Part) -> dict[str, Figures]:
    """Per township of one part: progress from its villages, its target, and its listed people."""
    out: dict[str, Figures] = {}
    for c in part.counts:
        f = out.setdefault(c.township, Figures())
        f.add(Figures(c.baseline_people, c.enrolled_people, c.paid_people, c.paid_fen))
    for township, target in part.targets.items():
        out.setdefault(township, Figures()).add(Figures(target_people=target))
    for p in part.listed:
        out.setdefault(p.township or UNPLACED, Figures()).add(
            Figures(listed=1, not_renewed=int(p.enrolled_last_year), vulnerable_not_enrolled=int(p.vulnerable)))
    return dict(sorted(out.items()))


def roll_up(city: str, name: str, year: int, parts: Iterable[Part], pack: Pack | None) -> CityView:
    """The city's figures from its parts: township → county → city. `pack`: the city pack, for the overrides."""
    total, lines = Figures(), []
    for part in parts:
        townships = township_figures(part)
        county = Figures()
        for f in townships.values():
            county.add(f)
        total.add(county)
        own = part.code == city
        if own and not townships:
            continue  # nothing kept under the city's own code: no line for it
        lines.append(CountyLine(part.code, CITY_OWN if own else part.name, county, townships, list(part.listed),
                                [] if own or pack is None else overrides(pack, part.code), bool(townships),
                                part.note))
    return CityView(city, name, year, total, lines)


def overrides(pack: Pack, county: str) -> list[Override]:
    """Each amount `county` sets instead of the city pack's, in the pack's own words."""
    entry = pack.counties.get(county)
    if entry is None:
        return []
    out = []
    for category, rule in entry.subsidies.items():
        setting = f"counties.{county}.subsidies.{category}"
        city_rule = pack.subsidies.get(category)
        own = (f"同{LABEL[rule.same_as]}" if rule.same_as is not None
               else value_words(f"{setting}.amount", rule.amount, amount=True))
        out.append(Override(
            setting=setting, what=pack.describe(f"subsidies.{category}"),
            city=value_words(f"subsidies.{category}.amount", city_rule.amount, amount=True) if city_rule else "本包无此项",
            county=own, cites=rule.source,
            provisional=_provisional(pack, setting)))
    return out


def _provisional(pack: Pack, setting: str) -> str | None:
    found = [d for d in pack.defaults if d.awaiting and (setting == d.setting or setting.startswith(d.setting + "."))]
    return f"{found[0].why}（待{found[0].awaiting}填入）" if found else None
