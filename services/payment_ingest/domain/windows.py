"""When a receipt may be paid, and what it should amount to, as the region's policy pack says.

A receipt does not say which enrollment path the person is on, so a payment is
judged as a general enrollment (`EnrollmentKind.GENERAL`) paid on the receipt's
local date — or, for a pack that covers only some kinds (怀远县2024: newborns, who
pay 380 for 2024, 000 L141-147), by the paths one of them could pay on that day
(`shared.policy.paths.payable_on`). The policy engine answers that once per
(region, year, date) and the answer is cached: a season has a few hundred distinct
dates, a batch has thousands of receipts, so the engine runs a few hundred times per
process, not per receipt.

Pure: the engine is pure and the cache only remembers its answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.codes import LABEL, EnrollmentKind
from shared.policy import Pack, Person, PolicyError, Scenario, assess, load_pack
from shared.policy.dates import local_date
from shared.policy.paths import payable_on
from shared.resident_id import check_character

_MAX_CACHED = 100_000  # (region, year, day) answers: a season has a few hundred days per region


@dataclass(frozen=True)
class Window:
    """What the pack says about paying for `year` in `region` on one day."""

    open: bool                       # a general enrollment may pay on that day
    reason_code: str | None = None   # why not, when not open
    reason: str | None = None
    subsidised: bool = False         # the day's path applies status subsidies (so the assessed due holds)
    general_due_fen: int | None = None  # what a person with no subsidy pays on that day (standard + surcharge)


def _probe_person(region: str) -> Person:
    """Any valid person: the general path does not depend on who pays (no hukou given, place unchecked)."""
    first17 = f"{region}19700101001"
    return Person(id=first17 + check_character(first17))


class PolicyWindows:
    """Answers `window(region, year, paid_at)` from the policy packs, one engine call per distinct day."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, date], Window] = {}

    def local_date(self, paid_at: datetime) -> date:
        return local_date(paid_at)

    def window(self, region: str, year: int, paid_at: datetime) -> Window:
        key = (region, year, self.local_date(paid_at))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _MAX_CACHED:  # odd dates from bad receipts must not grow it without end
                self._cache.clear()
            found = self._cache[key] = self._assess(*key)
        return found

    def _assess(self, region: str, year: int, paid_on: date) -> Window:
        try:
            pack = load_pack(region, year)
            if not pack.takes_kind(EnrollmentKind.GENERAL):
                return _window_for_scope(pack, paid_on)
            a = assess(Scenario(region=region, year=year, person=_probe_person(region),
                                kind=EnrollmentKind.GENERAL, payment_date=paid_on))
        except PolicyError as err:
            code = "year_not_covered" if err.field == "year" else "region_unknown"
            return Window(open=False, reason_code=code, reason=err.message)
        if not a.allowed:
            why = a.reasons[-1].text if a.reasons else "本次缴费不能参保"
            return Window(open=False, reason_code="paid_outside_periods",
                          reason=f"缴费日期{paid_on}不在{pack.name}{year}年度允许的缴费期内：{why}")
        path = next(p for p in pack.paths if p.id == a.path)
        return Window(open=True, subsidised=path.subsidy == "apply", general_due_fen=a.due_fen)


def _window_for_scope(pack: Pack, paid_on: date) -> Window:
    """A pack no general payer pays by: open on a day someone of a kind it covers could pay, at the standard rate."""
    paths = payable_on(pack, paid_on)
    if not paths:
        kinds = "、".join(LABEL[k] for k in pack.scope_kinds or ())
        return Window(open=False, reason_code="paid_outside_periods",
                      reason=f"缴费日期{paid_on}不在{pack.name}{pack.year}年度{kinds}可缴费的期间内")
    return Window(open=True, subsidised=any(p.subsidy == "apply" for p in paths),
                  general_due_fen=pack.money.individual_contribution)
