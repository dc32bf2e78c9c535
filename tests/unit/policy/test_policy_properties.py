"""Invariants over generated scenarios, for every pack (hypothesis; examples kept modest)."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.codes import Category, EnrollmentKind, Mode
from shared.policy import Assessment, Scenario, assess, load_pack, parse_scenario
from tests.support.people import resident_id

REGIONS = [("340321", 2025), ("341522", 2025), ("430502", 2025), ("610900", 2025), ("610924", 2025), ("340321", 2024)]
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _day(lo: date, hi: date) -> st.SearchStrategy[date]:
    return st.integers(0, (hi - lo).days).map(lambda n: lo + timedelta(days=n))


statuses = st.lists(
    st.builds(lambda c, cert, end: {"category": c, "certified_on": cert.isoformat(),
                                    "ended_on": None if end is None else (cert + timedelta(days=end)).isoformat()},
              st.sampled_from(list(Category)), _day(date(2023, 1, 1), date(2025, 6, 30)),
              st.none() | st.integers(0, 400)),
    max_size=3,
)


@st.composite
def scenarios(draw) -> dict:
    region, year = draw(st.sampled_from(REGIONS))
    kind = EnrollmentKind.NEWBORN if year == 2024 else draw(st.sampled_from(list(EnrollmentKind)))
    paid = draw(_day(date(year - 1, 8, 15), date(year + 1, 1, 31)))
    born = draw(_day(paid - timedelta(days=500), paid) if kind == EnrollmentKind.NEWBORN else _day(date(1940, 1, 1), paid))
    event = draw(_day(born, paid))
    earlier = list(range(max(born.year, year - 8), year))
    enrolled = draw(st.sets(st.sampled_from(earlier))) if earlier else set()
    gaps = [y for y in earlier if y not in enrolled]
    return {
        "region": region, "year": year, "kind": kind.value,
        "person": {"id": resident_id(region, born), "hukou_region": region},
        "statuses": draw(statuses), "payment_date": paid.isoformat(), "event_date": event.isoformat(),
        "enrolled_years": sorted(enrolled),
        "paid_back_years": sorted(draw(st.sets(st.sampled_from(gaps)))) if gaps else [],
        "zero_reimbursement_years": sorted(draw(st.sets(st.sampled_from(sorted(enrolled))))) if enrolled else [],
    }


def _assess(data: dict) -> Assessment:
    return assess(parse_scenario(data))


def _bears(a: Assessment) -> int:
    """What the person finally pays: collected at the counter less what is refunded later."""
    return a.due_fen - a.refund_after_fen


@QUICK
@given(scenarios())
def test_money_adds_up_and_due_never_exceeds_a_late_payer(data: dict) -> None:
    a = _assess(data)
    pack = load_pack(data["region"], data["year"])
    most = pack.money.individual_contribution + (pack.money.late_surcharge or 0)
    assert 0 <= a.due_fen <= most
    assert a.subsidy_total_fen == sum(x.amount_fen for x in a.subsidies)
    net = sum(x.amount_fen for x in a.subsidies if x.mode == Mode.NET)
    assert a.due_fen == (max(0, a.standard_fen + a.surcharge_fen - net) if a.allowed else 0)
    assert 0 <= a.refund_after_fen <= a.due_fen
    assert len([x for x in a.subsidies if x.basis == "status"]) <= 1  # one subsidy per person
    assert a.reasons and all(r.text and r.rule for r in a.reasons)


@QUICK
@given(scenarios())
def test_benefit_period_is_ordered_and_inside_the_year(data: dict) -> None:
    a = _assess(data)
    pack = load_pack(data["region"], data["year"])
    if not a.allowed:
        assert (a.benefit_start, a.benefit_end, a.due_fen, a.subsidies) == (None, None, 0, ())
        return
    path = next(p for p in pack.paths if p.id == a.path)
    assert a.benefit_start <= a.benefit_end == pack.benefit_period.end
    if not path.may_start_before_year:
        assert a.benefit_start >= pack.benefit_period.start
    assert a.benefit_start >= date.fromisoformat(data["payment_date"]) or path.benefit_start in ("birth", "event", "period_start", "fixed")


@QUICK
@given(scenarios(), statuses)
def test_another_status_never_makes_the_person_pay_more(data: dict, more: list) -> None:
    before = _assess(data)
    after = _assess({**data, "statuses": data["statuses"] + more})
    if before.allowed and after.allowed and before.path == after.path:
        assert _bears(after) <= _bears(before)
        # and with net subsidies only, what is collected at the counter never rises either
        if all(x.mode == Mode.NET for x in after.subsidies):
            assert after.due_fen <= before.due_fen


@QUICK
@given(scenarios())
def test_highest_status_wins(data: dict) -> None:
    together = _assess(data)
    if not together.allowed or not data["statuses"]:
        return
    alone = [_assess({**data, "statuses": [s]}) for s in data["statuses"]]
    assert together.subsidy_total_fen == max(a.subsidy_total_fen for a in alone if a.path == together.path)


@QUICK
@given(scenarios())
def test_paying_back_a_year_never_lengthens_the_wait(data: dict) -> None:
    gaps = [y for y in range(min(data["enrolled_years"], default=data["year"]), data["year"])
            if y not in data["enrolled_years"] and y not in data["paid_back_years"]]
    if not gaps:
        return
    before = _assess(data)
    after = _assess({**data, "paid_back_years": sorted([*data["paid_back_years"], gaps[0]])})
    # A payment whose wait would run past the year is refused (and then reports no wait at all):
    # paying back may make it allowed, never the reverse; between allowed ones the wait never grows.
    assert after.allowed or not before.allowed
    if before.allowed:
        assert (after.waiting_months, after.waiting_days) <= (before.waiting_months, before.waiting_days)


@QUICK
@given(scenarios())
def test_assess_is_pure(data: dict) -> None:
    scenario: Scenario = parse_scenario(data)
    assert assess(scenario) == assess(scenario)


@QUICK
@given(scenarios())
def test_a_provisional_figure_is_always_said_first(data: dict) -> None:
    """Only the pack's awaiting defaults are ever provisional, and then the first reason says 暂定."""
    a = _assess(data)
    awaiting = {x.setting for x in load_pack(data["region"], data["year"]).awaiting()}
    assert {p.setting for p in a.provisional} <= awaiting
    assert (a.reasons[0].code == "provisional_default") == bool(a.provisional)
    assert [r.code for r in a.reasons].count("provisional_default") <= 1
