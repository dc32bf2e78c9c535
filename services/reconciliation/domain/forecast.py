"""Where the season will end: each place's enrolled people on the last day of the collection period, with an interval.

What is forecast. Enrolled people (as `progress` counts them) on the period's last day.
People enrolled with nothing to pay (fully subsidised: no receipt, so no date) are
counted from the first day; the rest — the paying people, by the day of their first
payment — make the curve that is forecast. The region is forecast from its own summed
curve, each township from its villages', each village from its own.

The point forecast, two ways (`season_curves`), both anchored on what is already paid:
- With last year's list and its payment dates: last year's curve *shape*. The region's
  payers of last year (pooled, so a small village's shape is not noise) had reached a share
  r of their period-end count by the same fraction of last year's period (periods are
  aligned by fraction, so a shorter period still matches); a place that has C payers now
  ends, if it follows that shape, at C / r. Used once r is at least `min_reached`.
- Otherwise a *saturating* curve: every eligible person not yet paid pays on any day with
  the same chance, so paid people follow A·(1 − e^(−k·x)) in the fraction x of the period
  (k → 0 is a straight line: the pace so far kept). A and k are fitted by least squares
  (k on a grid, A exactly, A never more than the place's eligible people), and the place
  ends at C plus the fitted curve's rise from now to the end.
Either way the forecast never falls below today's count nor exceeds the baseline.

The interval, and a correction, from a backtest of the same method at the same point of
a season whose end is known: each comparable place's relative error e = forecast/actual − 1.
- With last year's list: last year's places, forecast from last year's region shape at the
  same fraction and compared with where each really ended. This measures how far a place's
  own curve strays from the shared shape, which is what the forecast assumes away.
- Without it: this season so far, treated as a season that ends today, forecast from the
  same fraction of it (x·x of the real period) — the nearest thing to a known ending.
The point is divided by (1 + the median e) (how far the method was off, in the middle), the
interval by (1 + the upper and lower quantiles) of e at the `level` asked for. Villages take
the villages' errors; townships and the region the townships'. Places with fewer than
`min_people` payers give no error (a ratio of tiny counts says nothing); with fewer than
`min_residuals` errors a level borrows all places', and with fewer still there is no interval.

What such a backtest cannot see is added to the interval, not guessed into the point:
- with last year's shape, a change of the whole county's pace from last year (a slower
  start, a smaller rush) moves every place at once, and last year's places cannot show it:
  the interval is widened on both sides by how far the region's gain over the second half
  of the days so far differs from last year's shape over the same stretch;
- with the saturating curve, the curve assumes a slowing that the rush before the deadline
  may never bring: the interval reaches at least to the pace so far kept to the end.
`python -m tests.bench.forecast_backtest` measures the error and how often the interval
holds the ending, on generated seasons, at 25, 50 and 75 % of the period.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate

from services.reconciliation.domain.season_curves import Fitter, Project, Shape, quantile, shape_projection


@dataclass(frozen=True)
class Rules:
    level: float = 0.8        # the interval's nominal coverage
    min_people: int = 10      # payers a place needs to give a backtest error
    min_residuals: int = 5    # errors a level needs before borrowing all places'
    min_reached: float = 0.05  # last year's shape must have reached this share, else the saturating curve


@dataclass(frozen=True)
class Curve:
    """One place's season. `daily[i]`: people whose first payment fell on day i of the period (up to the day
    of the forecast); `last_daily`: the same for last year's period, None without last year's list."""

    township: str | None      # None: the region
    village: str | None       # None: a township or the region
    baseline: int
    target: float | None      # people
    undated: int              # enrolled with no dated payment, counted from the first day
    daily: tuple[int, ...]
    last_undated: int = 0
    last_daily: tuple[int, ...] | None = None

    @property
    def level(self) -> str:
        return "region" if self.township is None else "township" if self.village is None else "village"


@dataclass(frozen=True)
class Forecast:
    curve: Curve
    method: str               # last_year_shape | saturating | season_over
    so_far: int
    final: float
    low: float | None
    high: float | None
    residuals: int            # the backtest errors the interval came from
    actual: tuple[int, ...]   # enrolled by day, from the first day to the day of the forecast
    path: tuple[float, ...]   # forecast by day, from the day of the forecast to the last day
    path_low: tuple[float, ...] | None
    path_high: tuple[float, ...] | None
    last_year: tuple[float, ...] | None  # last year's enrolled by day, on this year's days

    def rate(self, people: float | None) -> float | None:
        return round(people / self.curve.baseline, 4) if people is not None and self.curve.baseline else None

    @property
    def outlook(self) -> str | None:
        """reach / maybe / short of the target (by the interval; by the point without one)."""
        target = self.curve.target
        if not target:
            return None
        low, high = (self.low, self.high) if self.low is not None and self.high is not None else (self.final,) * 2
        return "reach" if low >= target else "short" if high < target else "maybe"


def places(villages: Sequence[Curve], targets: Mapping[str, int]) -> list[Curve]:
    """The region, each township and each village. A township's target is the one imported; a village's is its
    share of its township's by baseline (no document gives villages targets); the region's is their sum."""
    towns: dict[str, list[Curve]] = {}
    for v in villages:
        towns.setdefault(v.township or "", []).append(v)
    out: list[Curve] = [_sum(villages, None, float(sum(targets.values())) if targets else None)]
    for town, members in sorted(towns.items()):
        target = targets.get(town)
        total = _sum(members, town, float(target) if target is not None else None)
        out.append(total)
        out += [replace(v, target=target * v.baseline / total.baseline if target is not None and total.baseline
                        else None) for v in sorted(members, key=lambda c: c.village or "")]
    return out


def _sum(curves: Sequence[Curve], township: str | None, target: float | None) -> Curve:
    def add(rows: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        width = max((len(r) for r in rows), default=0)
        return tuple(sum(r[i] for r in rows if i < len(r)) for i in range(width))

    lasts = [c.last_daily for c in curves if c.last_daily is not None]
    return Curve(township, None, sum(c.baseline for c in curves), target, sum(c.undated for c in curves),
                 add([c.daily for c in curves]), sum(c.last_undated for c in curves), add(lasts) if lasts else None)


def forecast(curves: Sequence[Curve], length: int, day: int, rules: Rules = Rules()) -> list[Forecast]:
    """Each curve's forecast as of the end of day index `day` of a period of `length` days (0: the first day)."""
    day = max(0, min(day, length - 1))
    x = (day + 1) / length
    region = next((c for c in curves if c.township is None), None)
    shape = Shape(region.last_daily) if region is not None and region.last_daily else None
    project: Project
    if shape is not None and shape.total >= rules.min_people and shape.share(x) >= rules.min_reached:
        errors = _errors_by_level(curves, lambda c: _last_year_error(c, shape, x, rules))
        method, project = "last_year_shape", shape_projection(shape, day, length)
        widen = Widen(drift=abs(_drift(region, shape, day, length)) if region is not None else 0.0)
    else:
        sub = Fitter.at(max(0, round(x * (day + 1)) - 1), day + 1)  # this season so far, as a whole season
        errors = _errors_by_level(curves, lambda c: _self_error(c, sub, day, rules))
        method, project = "saturating", Fitter.at(day, length).projection
        widen = Widen(pace=length / (day + 1))
    if day == length - 1:
        method = "season_over"
    return [_one(c, method, project, _errors_for(c.level, errors, rules), widen, day, length, rules) for c in curves]


@dataclass(frozen=True)
class Widen:
    """What the backtest cannot see, added to its interval: with last year's shape, how far this year has strayed
    from it lately (`drift`, both ways); with the saturating curve, the pace so far kept to the end (`pace`, the
    factor on the payers so far) as the least upper bound — the curve assumes a slowing nothing has shown yet."""

    drift: float = 0.0
    pace: float | None = None


def _one(c: Curve, method: str, project: Project, errors: Sequence[float], widen: Widen, day: int, length: int,
         rules: Rules) -> Forecast:
    paid = _paid(c, day)
    so_far = paid[-1]
    actual = tuple(p + c.undated for p in paid)
    last_year = _on_our_days(c, length)
    if method == "season_over":
        return Forecast(c, method, so_far + c.undated, so_far + c.undated, None, None, 0, actual,
                        (float(so_far + c.undated),), None, None, last_year)
    cap = max(so_far, c.baseline - c.undated) if c.baseline else None
    raw, progress = project(paid, cap)

    def bound(v: float) -> float:
        return max(float(so_far), min(v, cap) if cap is not None else v)

    def divided(e: float) -> float | None:  # the forecast corrected by an error e (none for e <= -1: it was 0)
        return bound(raw / (1 + e)) if e > -1 else (float(cap) if cap is not None else None)

    point, low, high = bound(raw), None, None
    if errors:
        middle, under, over = (quantile(errors, q) for q in (0.5, (1 - rules.level) / 2, (1 + rules.level) / 2))
        corrected = divided(middle)
        point = corrected if corrected is not None else point
        low, high = divided(over + widen.drift), divided(under - widen.drift)
        if widen.pace is not None and high is not None:
            high = max(high, bound(so_far * widen.pace))
        if low is None or high is None:
            low = high = None

    def along(final: float) -> tuple[float, ...]:
        return tuple(so_far + c.undated + (final - so_far) * p for p in progress)

    return Forecast(c, method, so_far + c.undated, point + c.undated, None if low is None else low + c.undated,
                    None if high is None else high + c.undated, len(errors), actual, along(point),
                    None if low is None else along(low), None if high is None else along(high), last_year)


def _drift(region: Curve, shape: Shape, day: int, length: int) -> float:
    """How much more (or less) the region gained over the second half of the days so far than last year's shape
    gained over the same stretch, relatively: 0 when this year keeps last year's pace."""
    paid, half = _paid(region, day), max(0, round((day + 1) / 2) - 1)
    then, now = shape.at((half + 1) / length), shape.at((day + 1) / length)
    if paid[half] <= 0 or then <= 0:
        return 0.0
    return (paid[day] / paid[half]) / (now / then) - 1


def _paid(c: Curve, day: int) -> list[int]:
    """Paying people by the end of each day from the first to `day`."""
    paid = list(accumulate(c.daily[:day + 1]))
    return paid + [paid[-1] if paid else 0] * (day + 1 - len(paid))


# ---------------------------------------------------------------- the backtest errors


def _errors_by_level(curves: Sequence[Curve], error: Callable[[Curve], float | None]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"village": [], "township": []}
    for c in curves:
        if c.level in out and (e := error(c)) is not None:
            out[c.level].append(e)
    return out


def _errors_for(level: str, errors: Mapping[str, list[float]], rules: Rules) -> list[float]:
    own = errors["village" if level == "village" else "township"]
    if len(own) >= rules.min_residuals:
        return own
    pooled = errors["village"] + errors["township"]
    return pooled if len(pooled) >= rules.min_residuals else []


def _last_year_error(c: Curve, shape: Shape, x: float, rules: Rules) -> float | None:
    """Last year: this place forecast from the region's shape at fraction x, against where it ended."""
    if c.last_daily is None:
        return None
    own = Shape(c.last_daily)
    if own.total < rules.min_people:
        return None
    return own.at(x) / shape.share(x) / own.total - 1


def _self_error(c: Curve, sub: Fitter, day: int, rules: Rules) -> float | None:
    """This season so far as a whole season: forecast from the same fraction of it, against today."""
    paid = _paid(c, day)
    if paid[-1] < rules.min_people or sub.day < 1:
        return None
    final, _ = sub.projection(paid[:sub.day + 1], None)
    return final / paid[-1] - 1


def _on_our_days(c: Curve, length: int) -> tuple[float, ...] | None:
    """Last year's enrolled by day, read at the same fraction of last year's period as each of this year's days."""
    if c.last_daily is None:
        return None
    own = Shape(c.last_daily)
    return tuple(c.last_undated + own.at((i + 1) / length) for i in range(length))
