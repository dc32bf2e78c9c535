"""The season-end forecast (services/reconciliation/domain/forecast.py) and its chart, on curves made by hand."""
from __future__ import annotations

import math
import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reconciliation.domain.forecast import Curve, Rules, forecast, places
from services.reconciliation.domain.forecast_chart import season_chart

LENGTH = 122  # 2024-09-01 .. 2024-12-31, 怀远县's collection period (policy pack 340321-2025)
START = date(2024, 9, 1)


def shape(size: int, late: float = 1.0) -> tuple[int, ...]:
    """A season of `size` payers: a slow start, a middle and a rush before the deadline (`late` > 1: later)."""
    weights = [((i + 1) / LENGTH) ** late * (3.0 if i >= LENGTH - 12 else 1.0) for i in range(LENGTH)]
    total = sum(weights)
    exact = [size * w / total for w in weights]
    daily, carried = [], 0.0
    for e in exact:  # whole people, the rounding carried so the days add up to `size`
        carried += e
        daily.append(round(carried) - sum(daily))
    return tuple(daily)


def village(name: str, baseline: int, this: tuple[int, ...], day: int, last: tuple[int, ...] | None = None,
            undated: int = 0, township: str = "甲镇") -> Curve:
    return Curve(township, name, baseline, None, undated, this[:day + 1], undated, last)


def by_place(found):
    return {(f.curve.township, f.curve.village): f for f in found}


def test_a_season_shaped_like_last_year_ends_where_the_shape_says():
    # Every village pays twice as many as last year, on the same calendar: the end is twice last year's.
    day = 60
    villages = [village(f"{n}村", 4000 * n, tuple(2 * d for d in shape(1500 * n)), day, shape(1500 * n), undated=10)
                for n in range(1, 7)]
    found = by_place(forecast(places(villages, {}), LENGTH, day))
    for n in range(1, 7):
        f = found[("甲镇", f"{n}村")]
        assert f.method == "last_year_shape"
        assert math.isclose(f.final, 10 + 3000 * n, rel_tol=0.01), (n, f.final)
        assert f.low is not None and f.high is not None and f.low <= f.final <= f.high
        assert f.high - f.low < 0.02 * f.final  # every village had the region's shape: the backtest saw no error
    region = found[(None, None)]
    assert math.isclose(region.final, 60 + 3000 * 21, rel_tol=0.01)


def test_villages_that_stray_from_the_shared_shape_widen_the_interval():
    day = 60
    lasts = [shape(300, late) for late in (0.6, 0.8, 1.0, 1.2, 1.4, 1.6)]
    villages = [village(f"{n}村", 1000, last, day, last) for n, last in enumerate(lasts)]
    found = by_place(forecast(places(villages, {}), LENGTH, day))
    for n in range(6):
        f = found[("甲镇", f"{n}村")]
        assert f.residuals == 6
        assert f.low < f.high and f.low <= f.final <= f.high
        assert f.high - f.low > 30  # late and early villages last year: a wide band, in people


def test_without_last_year_a_saturating_curve_is_fitted_and_recovered():
    # Constant-hazard paying: 800 people would pay in the end, the hazard k = 3 over the period.
    a, k, day = 800, 3.0, 70
    cum = [round(a * (1 - math.exp(-k * (i + 1) / LENGTH))) for i in range(LENGTH)]
    daily = tuple(c - (cum[i - 1] if i else 0) for i, c in enumerate(cum))
    f = by_place(forecast(places([village("一村", 2000, daily, day)], {}), LENGTH, day,
                          Rules(min_residuals=1)))[("甲镇", "一村")]
    assert f.method == "saturating"
    assert math.isclose(f.final, cum[-1], rel_tol=0.03), (f.final, cum[-1])


def test_last_years_shape_waits_until_it_had_reached_enough():
    late_start = tuple([0] * 30 + list(shape(500)[30:]))
    villages = [village("一村", 1000, shape(500), 10, late_start)]
    found = forecast(places(villages, {}), LENGTH, 10, Rules(min_reached=0.05))
    assert {f.method for f in found} == {"saturating"}  # last year had paid nobody by day 10
    found = forecast(places([village("一村", 1000, shape(500), 80, late_start)], {}), LENGTH, 80)
    assert {f.method for f in found} == {"last_year_shape"}


def test_too_few_comparable_places_give_no_interval():
    found = forecast(places([village("一村", 1000, shape(500), 60, shape(500))], {}), LENGTH, 60, Rules(min_residuals=5))
    assert all(f.low is None and f.high is None and f.residuals == 0 for f in found)


def test_after_the_last_day_the_ending_is_the_count():
    villages = [village("一村", 1000, shape(500), LENGTH - 1, shape(400), undated=20)]
    f = by_place(forecast(places(villages, {}), LENGTH, LENGTH + 30))[("甲镇", "一村")]
    assert f.method == "season_over" and f.final == f.so_far == 520 and f.low is None


def test_targets_townships_imported_villages_their_share_region_the_sum():
    villages = [village("一村", 300, shape(100), 40), village("二村", 100, shape(50), 40),
                village("三村", 200, shape(80), 40, township="乙镇")]
    found = by_place(forecast(places(villages, {"甲镇": 360, "乙镇": 150}), LENGTH, 40))
    assert found[("甲镇", None)].curve.target == 360
    assert found[("甲镇", "一村")].curve.target == 270 and found[("甲镇", "二村")].curve.target == 90
    assert found[("乙镇", "三村")].curve.target == 150
    assert found[(None, None)].curve.target == 510 and found[(None, None)].curve.baseline == 600


def test_outlook_against_the_target_follows_the_interval():
    day = 100
    villages = [village(f"{n}村", 1000, shape(700), day, shape(700)) for n in range(6)]
    found = by_place(forecast(places(villages, {"甲镇": 4000}), LENGTH, day))
    town = found[("甲镇", None)]
    assert town.high < 6000 and town.outlook == "reach"  # 6 × 700 = 4,200 expected, at least 4,000
    found = by_place(forecast(places(villages, {"甲镇": 5000}), LENGTH, day))
    assert found[("甲镇", None)].outlook == "short"


curves = st.lists(st.integers(0, 30), min_size=LENGTH, max_size=LENGTH)


@settings(max_examples=60, deadline=None)
@given(this=curves, last=st.one_of(st.none(), curves), day=st.integers(0, LENGTH - 2), extra=st.integers(0, 500),
       undated=st.integers(0, 50))
def test_a_forecast_stays_between_today_and_the_baseline(this, last, day, extra, undated):
    baseline = sum(this) + undated + extra
    villages = [village(f"{n}村", baseline, tuple(this), day, tuple(last) if last else None, undated=undated)
                for n in range(3)]
    for f in forecast(places(villages, {}), LENGTH, day, Rules(min_residuals=2, min_people=1)):
        assert f.so_far - 1e-6 <= f.final <= f.curve.baseline + 1e-6
        if f.low is not None:
            assert f.so_far - 1e-6 <= f.low <= f.final + 1e-6 <= f.high + 2e-6 <= f.curve.baseline + 3e-6
        assert len(f.actual) == day + 1 and len(f.path) == LENGTH - day
        assert math.isclose(f.path[0], f.so_far, abs_tol=1e-6) and math.isclose(f.path[-1], f.final, abs_tol=1e-6)
        assert all(b >= a - 1e-6 for a, b in zip(f.path, f.path[1:])), "the forecast path never goes down"


def test_the_chart_draws_every_line_and_escapes_names():
    villages = [village(f"{n}村", 1000, shape(700), 60, shape(600)) for n in range(6)]
    villages.append(village("<script>村", 1000, shape(700), 60, shape(600)))
    found = by_place(forecast(places(villages, {"甲镇": 6000}), LENGTH, 60))
    svg = season_chart(found[("甲镇", None)], START, LENGTH, "甲镇<script>")
    for mark in ('polyline class="actual"', 'polyline class="forecast"', 'polygon class="band"', 'line class="target"',
                 'polyline class="last-year"', 'line class="today"'):
        assert mark in svg, mark
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert re.search(r'data-days="122" data-today="60"', svg)
    assert [m for m in re.findall(r'class="month"[^>]*>([^<]+)<', svg)] == ["9月1日", "10月1日", "11月1日", "12月1日"]
    actual = re.search(r'class="actual"[^>]* points="([^"]+)"', svg)
    assert actual is not None and len(actual.group(1).split()) == 61
