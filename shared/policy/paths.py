"""Which enrollment path a payment falls on, and from which day its cover is counted.

A pack lists its paths in order (the more specific first); the first whose kinds,
payment window and requirements all hold is the one that applies.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Literal

from shared.codes import EnrollmentKind
from shared.policy.dates import add_days, add_months, first_of_next_month
from shared.policy.errors import PolicyError
from shared.policy.pack import BenefitStart, Pack, Path, Window
from shared.policy.scenario import Scenario


def choose_path(pack: Pack, s: Scenario, has_status: bool) -> Path | None:
    for path in pack.paths:
        if path.serves(s.kind) and _in_window(pack, path, s) and _requirements_hold(pack, path, s, has_status):
            return path
    return None


def payable_on(pack: Pack, day: date) -> tuple[Path, ...]:
    """The paths on which someone of a kind the pack covers could pay for its year on `day`, whoever they are.

    For a receipt, which names no kind, birth or event: a pack covering only some kinds
    (怀远县2024: newborns born in 2024, 000 L141-147) has no general payer to judge it by.
    A path's window is widened over every birth or event that still leaves cover this year.
    """
    if day < pack.collection_period.start:
        return ()
    return tuple(p for p in pack.paths if _serves_scope(pack, p) and _could_pay(pack, p, day))


def _serves_scope(pack: Pack, path: Path) -> bool:
    return any(path.serves(k) for k in pack.scope_kinds or EnrollmentKind)


_PAID_DAY_STARTS = ("payment", "day_after_payment", "month_after_payment", "month_of_payment")


def _could_pay(pack: Pack, path: Path, day: date) -> bool:
    w, r = path.window, path.requires
    year_start, year_end = pack.benefit_period.start, pack.benefit_period.end
    earliest = max(filter(None, (
        year_start if r.birth_in_year else None,  # nobody pays before they are born
        add_days(year_start, -r.born_within_days_before_year) if r.born_within_days_before_year else None,
        r.event_on_or_after,
    )), default=None)
    if earliest is not None and day < earliest:
        return False
    if w.type == "collection":
        return pack.collection_period.contains(day)
    if w.type == "dates":
        assert w.start is not None and w.end is not None, "a dates window has start and end"
        return w.start <= day <= w.end
    if w.type in ("in_year", "before_age"):
        return day <= year_end
    latest_event = add_days(year_start, -1) if r.born_within_days_before_year or r.event_before_year else year_end
    last_day = _after(latest_event, w)  # a later event leaves no cover this year
    if path.benefit_start in _PAID_DAY_STARTS:  # cover counted from the payment: it must fall in the year
        last_day = min(last_day, year_end)
    return day <= last_day


def has_own_path(pack: Pack, kind: EnrollmentKind) -> bool:
    """Does the pack name this kind in any path (as opposed to treating it as everybody)?"""
    return any(p.kinds != "all" and kind in p.kinds for p in pack.paths)


def _event(path: Path, s: Scenario, which: Literal["birth", "event"]) -> date:
    if which == "birth":
        return s.person.birth_date
    if s.event_date is None:
        raise PolicyError(f"路径「{path.title}」需要事件日期（断保、退役、释放、入院等）", field="event_date")
    return s.event_date


def _in_window(pack: Pack, path: Path, s: Scenario) -> bool:
    w: Window = path.window
    paid = s.payment_date
    year_end = pack.benefit_period.end
    if w.type == "collection":
        return pack.collection_period.contains(paid)
    # Window._complete refuses a window without the settings its type needs: the asserts state that.
    if w.type == "dates":
        assert w.start is not None and w.end is not None, "a dates window has start and end"
        return w.start <= paid <= w.end
    if w.type == "in_year":
        return pack.collection_period.start <= paid <= year_end
    if w.type == "after_event":
        assert w.event is not None, "an after_event window has its event"
        start = _event(path, s, w.event)
        return start <= paid <= _after(start, w)
    # before_age: under `years` old on the day of payment, and the year not yet over
    assert w.years is not None, "a before_age window has years"
    return paid < add_months(s.person.birth_date, 12 * w.years) and paid <= year_end


def _after(event: date, w: Window) -> date:
    """The last day of an after_event window: `days` after the event, or `months` (calendar months)."""
    if w.months is not None:
        return add_months(event, w.months)
    assert w.days is not None, "Window._complete: an after_event window has days or months"
    return add_days(event, w.days)


def _requirements_hold(pack: Pack, path: Path, s: Scenario, has_status: bool) -> bool:
    r = path.requires
    born = s.person.birth_date
    if r.birth_in_year is not None and (born.year == pack.year) != r.birth_in_year:
        return False
    if r.born_within_days_before_year is not None:
        start = pack.benefit_period.start
        if not (born.year == pack.year - 1 and (start - born).days <= r.born_within_days_before_year):
            return False
    if r.has_subsidy_status is not None and has_status != r.has_subsidy_status:
        return False
    if r.event_on_or_after is not None and (s.event_date is None or s.event_date < r.event_on_or_after):
        return False
    if r.event_before_year is not None and (
            s.event_date is None or (s.event_date < pack.benefit_period.start) != r.event_before_year):
        return False
    if r.continuous_years is not None and not all(
            s.year - n in s.enrolled_years for n in range(1, r.continuous_years + 1)):
        return False
    return True


def base_start(pack: Pack, path: Path, s: Scenario) -> date:
    """The first day of cover before any waiting period, never before the year unless the path allows."""
    paid = s.payment_date
    starts: dict[BenefitStart, Callable[[], date]] = {
        "period_start": lambda: pack.benefit_period.start,
        "birth": lambda: s.person.birth_date,
        "event": lambda: _event(path, s, "event"),
        "payment": lambda: paid,
        "day_after_payment": lambda: add_days(paid, 1),
        "month_after_payment": lambda: first_of_next_month(paid),
        "month_of_payment": lambda: paid.replace(day=1),
        "fixed": lambda: _fixed_start(path),
    }
    start = starts[path.benefit_start]()
    return start if path.may_start_before_year else max(start, pack.benefit_period.start)


def _fixed_start(path: Path) -> date:
    assert path.benefit_start_date is not None, "Path._fixed_has_date: benefit_start fixed goes with benefit_start_date"
    return path.benefit_start_date
