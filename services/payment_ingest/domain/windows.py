"""When a receipt may be paid, and what it should amount to, as the region's policy pack says.

A receipt does not say which enrollment path the person is on. For a payer the subsidy
service has assessed, the due carries the facts the rules read (`PayerFacts`: kind,
event date, statuses, history) and the engine judges the receipt by them on the
receipt's local date (`for_payer`). Anyone else is judged as a general enrollment
(`EnrollmentKind.GENERAL`) — or, for a pack that covers only some kinds (怀远县2024:
newborns, who pay 380 for 2024, 000 L141-147), by the paths one of them could pay on
that day (`shared.policy.paths.payable_on`).

Both answers are memoised on what they depend on: (region, year, date) for the general
one — a season has a few hundred distinct dates — and the payer's facts besides (their
birth date only where a path of their kind reads it), so a batch of thousands of
receipts runs the engine once per distinct set of facts, not per receipt.

Pure: the engine is pure and the cache only remembers its answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from shared.codes import LABEL, EnrollmentKind
from shared.messages.subsidy import PayerFacts
from shared.policy import Pack, Person, PolicyError, Scenario, assess, assess_cached, load_pack
from shared.policy.dates import local_date
from shared.policy.paths import payable_on
from shared.resident_id import birth_date_of, check_character

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
    """Answers `window(region, year, paid_at)` and `for_payer(...)` from the policy packs, one engine call per
    distinct question."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, date], Window] = {}
        self._payers: dict[tuple[str, int, date, date | None, PayerFacts], Window] = {}

    def for_payer(self, region: str, year: int, person_id: str, paid_at: datetime, facts: PayerFacts) -> Window:
        """Whether this payer may pay for `year` on the receipt's day, and what they owe on it (`general_due_fen`:
        the engine's due for their facts on that day, statuses counted)."""
        paid_on = self.local_date(paid_at)
        born = birth_date_of(person_id) if _reads_birth(region, year, facts.kind) else None
        key = (region, year, paid_on, born, facts)
        found = self._payers.get(key)
        if found is None:
            if len(self._payers) >= _MAX_CACHED:
                self._payers.clear()
            found = self._payers[key] = _assess_payer(region, year, paid_on, born, facts)
        return found

    def payback_fen(self, region: str, year: int) -> int | None:
        """What paying back one gap year costs when enrolling for `year`; None where the pack does not provide for it."""
        return _payback_fen(region, year)

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


@cache
def _reads_birth(region: str, year: int, kind: str) -> bool:
    """Does any path of this kind read the birth date (a newborn's window, a student's age)? If not, people of
    the kind with the same facts get the same answer whenever they were born."""
    try:
        pack, served = load_pack(region, year), EnrollmentKind(kind)
    except (PolicyError, ValueError):  # the engine refuses these with its reason, person by person
        return True
    return any(p.serves(served) and (
        p.window.event == "birth" or p.window.type == "before_age" or p.benefit_start == "birth"
        or p.requires.birth_in_year is not None or p.requires.born_within_days_before_year is not None)
        for p in pack.paths)


def _assess_payer(region: str, year: int, paid_on: date, born: date | None, facts: PayerFacts) -> Window:
    # The person stands in by birth date only: nothing else of theirs is read (no place is checked on a receipt).
    first17 = f"{region}{(born or date(1970, 1, 1)):%Y%m%d}001"
    event = facts.event_date if facts.event_date is not None and facts.event_date <= paid_on else None
    try:
        a = assess_cached({
            "region": region, "year": year, "person": {"id": first17 + check_character(first17)}, "kind": facts.kind,
            "statuses": [s.model_dump() for s in facts.statuses], "payment_date": paid_on, "event_date": event,
            "enrolled_years": facts.enrolled_years, "paid_back_years": facts.paid_back_years,
        })
    except PolicyError as err:
        code = {"year": "year_not_covered", "region": "region_unknown"}.get(err.field or "", "payer_not_assessable")
        return Window(open=False, reason_code=code, reason=f"按本人参保信息无法核定本次缴费：{err.one_line()}")
    if not a.allowed:
        why = a.reasons[-1].text if a.reasons else "本次缴费不能参保"
        return Window(open=False, reason_code="paid_outside_periods",
                      reason=f"缴费日期{paid_on}不在{LABEL[EnrollmentKind(facts.kind)]}{year}年度允许的缴费期内：{why}")
    return Window(open=True, subsidised=True, general_due_fen=a.due_fen)


@cache
def _payback_fen(region: str, year: int) -> int | None:
    try:
        pack = load_pack(region, year)
    except PolicyError:
        return None
    if pack.waiting is None or pack.waiting.payback is None:
        return None
    return pack.money.individual_contribution  # Payback.amount: the only rate the documents name
