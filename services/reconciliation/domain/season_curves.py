"""The two curves a season's forecast follows (see `forecast`): last year's shape, and a saturating curve.

Both answer the same question for one place — given the paying people by day so far, how
many will have paid by the period's last day, and what share of the rest is reached on each
day from now to then — so the forecast, its interval and its chart treat them alike.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import accumulate

K_GRID = tuple(0.02 * 1.16 ** n for n in range(60))  # 0.02 (a straight line) .. ~128 (all paid at once)
MAX_POINTS = 40  # a curve fitted through at most this many of its days: the fit's cost, not its answer

Project = Callable[[Sequence[int], "int | None"], tuple[float, tuple[float, ...]]]
"""(paid people so far by day, the most who can pay) -> (paying people at the period's end, the share of the
rest reached on each day from the day of the forecast to the last)."""


class Shape:
    """A cumulative curve of last year, read at any fraction of its period (linear within a day)."""

    def __init__(self, daily: Sequence[int]) -> None:
        self.daily = tuple(daily)
        self.cum = list(accumulate(self.daily))
        self.total = self.cum[-1] if self.cum else 0

    def at(self, x: float) -> float:
        """People by fraction x of the period."""
        n = len(self.daily)
        if n == 0 or x <= 0:
            return 0.0
        if x >= 1:
            return float(self.total)
        position = x * n
        j = int(position)
        return (self.cum[j - 1] if j else 0) + (position - j) * self.daily[j]

    def share(self, x: float) -> float:
        return self.at(x) / self.total if self.total else 0.0


def shape_projection(shape: Shape, day: int, length: int) -> Project:
    r = shape.share((day + 1) / length)
    rest = tuple((shape.share((i + 1) / length) - r) / (1 - r) if r < 1 else 0.0 for i in range(day, length))

    def project(paid: Sequence[int], cap: int | None) -> tuple[float, tuple[float, ...]]:
        final = paid[-1] / r
        return (min(final, cap) if cap is not None else final), rest

    return project


class Fitter:
    """Least squares of A·(1 − e^(−k·x)) through a curve's days, k on `K_GRID` (its table made once per
    set of days and shared by every place of the same forecast)."""

    def __init__(self, picks: Sequence[int], length: int, day: int) -> None:
        self.picks, self.length, self.day = list(picks), length, day
        xs = [(i + 1) / length for i in self.picks]
        self.g = [[1 - math.exp(-k * x) for x in xs] for k in K_GRID]
        self.gg = [sum(v * v for v in row) for row in self.g]

    @classmethod
    def at(cls, day: int, length: int) -> Fitter:
        """A fitter through the days up to `day` (at most `MAX_POINTS` of them, `day` always one)."""
        step = max(1, math.ceil((day + 1) / MAX_POINTS))
        return cls(sorted(range(day, -1, -step)), length, day)

    def fit(self, paid: Sequence[int], cap: int | None) -> tuple[float, float]:
        """(A, k) of the best fit, A at most `cap`: for a fixed k the least-squares A is exact (and clipping
        it is the constrained optimum, the error being a parabola in A)."""
        ys = [paid[i] for i in self.picks]
        best = (math.inf, 0.0, K_GRID[0])
        for g, gg, k in zip(self.g, self.gg, K_GRID):
            a = sum(y * v for y, v in zip(ys, g)) / gg
            a = min(a, cap) if cap is not None else a
            sse = sum((y - a * v) ** 2 for y, v in zip(ys, g))
            if sse < best[0]:
                best = (sse, a, k)
        return best[1], best[2]

    def projection(self, paid: Sequence[int], cap: int | None) -> tuple[float, tuple[float, ...]]:
        a, k = self.fit(paid, cap)
        now, end = 1 - math.exp(-k * (self.day + 1) / self.length), 1 - math.exp(-k)
        final = paid[self.day] + a * (end - now)
        rest = tuple((1 - math.exp(-k * (i + 1) / self.length) - now) / (end - now) if end > now else 0.0
                     for i in range(self.day, self.length))
        return (min(final, cap) if cap is not None else final), rest


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile, linear between order statistics."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    j = int(position)
    if j + 1 >= len(ordered):
        return ordered[-1]
    return ordered[j] + (position - j) * (ordered[j + 1] - ordered[j])
