"""Backtest of the season-end forecast (services/reconciliation/domain/forecast.py) on generated seasons.

    .venv/bin/python -m tests.bench.forecast_backtest [--seasons 5] [--seed 1] [--townships 12]

Each generated season is a county of townships and villages with two years of payment
curves whose endings are known: last year's (what the county's list would give) and this
year's. The periods are the region's own (policy packs 340321-2024 and 340321-2025). Every
village has its own size, fully subsidised share, final coverage and curve shape (a body
of payers spread over the period plus a rush before the deadline), and each changes a little
from last year to this; the county's whole campaign drifts too. So last year's shape is a
good but imperfect guide, as it would be in a real county.

At 25 %, 50 % and 75 % of this year's period the forecast is made from the days so far,
with last year's curves (the shape method) and without them (the saturating curve), and
compared with where each place really ended: the mean absolute error and the bias of the
forecast coverage in percentage points, the median absolute error in people %, how often
the interval held the ending (nominal: `Rules.level`) and how wide it was. For context,
the same for a naive forecast (the pace so far kept to the end). Prints a table; JSON to
artifacts/bench/forecast-<time>.json. Pure: no servers, a few seconds.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from services.reconciliation.domain.forecast import Curve, Forecast, Rules, forecast, places
from shared.policy import load_pack

ROOT = Path(__file__).resolve().parents[2]
REGION, YEAR = "340321", 2025
FRACTIONS = (0.25, 0.5, 0.75)


def period_days(region: str, year: int) -> int:
    period = load_pack(region, year).collection_period
    return (period.end - period.start).days + 1


@dataclass(frozen=True)
class Timing:
    """When a place's payers pay: a Beta(a, b) body over the period and a share rushing in its last `window`."""

    a: float
    b: float
    rush: float
    window: float

    def day(self, rnd: random.Random, length: int) -> int:
        u = 1 - rnd.random() * self.window if rnd.random() < self.rush else rnd.betavariate(self.a, self.b)
        return min(length - 1, int(u * length))

    def drift(self, rnd: random.Random, spread: float) -> Timing:
        return Timing(self.a * math.exp(rnd.gauss(0, spread)), self.b * math.exp(rnd.gauss(0, spread)),
                      min(0.6, max(0.0, self.rush + rnd.gauss(0, spread / 3))), self.window)


@dataclass(frozen=True)
class Village:
    township: str
    village: str
    baseline: int
    undated: int
    this: tuple[int, ...]   # payers per day, the whole period (the known ending)
    last: tuple[int, ...]
    last_undated: int


def generate(seed: int, townships: int, this_len: int, last_len: int) -> tuple[list[Village], dict[str, int]]:
    rnd = random.Random(seed)
    county_last = Timing(1.3, 1.6, 0.22, 0.12)
    county_this = county_last.drift(rnd, 0.12)
    villages, targets = [], {}
    for t in range(townships):
        town = f"镇{t:02d}"
        town_baseline = 0
        for v in range(rnd.randint(4, 10)):
            baseline = int(min(4000, max(120, rnd.lognormvariate(math.log(700), 0.5))))
            funded = int(baseline * rnd.uniform(0.04, 0.12))
            own = Timing(1, 1, 0, 0).drift(rnd, 0.2)  # the village's own way, kept from year to year
            last_t = Timing(county_last.a * own.a, county_last.b * own.b, county_last.rush + own.rush - 0.0, 0.12)
            this_t = Timing(county_this.a * own.a, county_this.b * own.b, county_this.rush + own.rush, 0.12) \
                .drift(rnd, 0.08)
            p_last = min(0.99, max(0.6, rnd.gauss(0.86, 0.05)))
            p_this = min(0.99, max(0.6, p_last + rnd.gauss(0.01, 0.03)))
            eligible = baseline - funded
            villages.append(Village(town, f"{town}{v}村", baseline, funded,
                                    _days(rnd, this_t, round(eligible * p_this), this_len),
                                    _days(rnd, last_t, round(eligible * p_last), last_len),
                                    int(funded * rnd.uniform(0.9, 1.05))))
            town_baseline += baseline
        targets[town] = round(town_baseline * rnd.uniform(0.86, 0.95))
    return villages, targets


def _days(rnd: random.Random, timing: Timing, payers: int, length: int) -> tuple[int, ...]:
    daily = [0] * length
    for _ in range(payers):
        daily[timing.day(rnd, length)] += 1
    return tuple(daily)


def curves(villages: list[Village], day: int, with_last_year: bool) -> list[Curve]:
    return [Curve(v.township, v.village, v.baseline, None, v.undated, v.this[:day + 1],
                  v.last_undated if with_last_year else 0, v.last if with_last_year else None) for v in villages]


def endings(villages: list[Village], targets: dict[str, int]) -> dict[tuple[str | None, str | None], float]:
    """Enrolled on the last day, per place (the same places `forecast.places` makes)."""
    full = places(curves(villages, len(villages[0].this) - 1, False), targets)
    return {(c.township, c.village): float(c.undated + sum(c.daily)) for c in full}


def naive(f: Forecast, length: int) -> float:
    """The pace so far kept to the end, capped at the baseline."""
    paid = f.so_far - f.curve.undated
    final = f.curve.undated + paid * length / len(f.actual)
    return min(final, f.curve.baseline) if f.curve.baseline else final


def measure(seasons: int, seed: int, townships: int, rules: Rules) -> dict:
    this_len, last_len = period_days(REGION, YEAR), period_days(REGION, YEAR - 1)
    rows: dict[tuple[float, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in range(seasons):
        villages, targets = generate(seed + s, townships, this_len, last_len)
        truth = endings(villages, targets)
        for fraction in FRACTIONS:
            day = round(fraction * this_len) - 1
            for mode, with_last in (("with last year", True), ("without", False)):
                for f in forecast(places(curves(villages, day, with_last), targets), this_len, day, rules):
                    actual, base = truth[(f.curve.township, f.curve.village)], f.curve.baseline
                    m = rows[(fraction, mode, f.curve.level)]
                    m["error_pp"].append((f.final - actual) / base * 100)
                    m["ape"].append(abs(f.final - actual) / actual * 100)
                    m["naive_pp"].append(abs(naive(f, this_len) - actual) / base * 100)
                    if f.low is not None and f.high is not None:
                        m["hit"].append(float(f.low <= actual <= f.high))
                        m["width_pp"].append((f.high - f.low) / base * 100)
                    if f.outlook in ("reach", "short") and f.curve.target:
                        m["target_call"].append(float((f.outlook == "reach") == (actual >= f.curve.target)))
    return {f"{fraction:.0%} {mode} {level}": summary(m) for (fraction, mode, level), m in sorted(rows.items())}


def summary(m: dict[str, list[float]]) -> dict[str, float | int | None]:
    def mean(key: str) -> float | None:
        return round(statistics.fmean(m[key]), 2) if m[key] else None

    return {"places": len(m["error_pp"]), "mae_pp": round(statistics.fmean(abs(e) for e in m["error_pp"]), 2),
            "bias_pp": mean("error_pp"), "median_ape_pct": round(statistics.median(m["ape"]), 2),
            "interval_hit": mean("hit"), "interval_width_pp": mean("width_pp"), "naive_mae_pp": mean("naive_pp"),
            "target_calls_right": mean("target_call"), "target_calls": len(m["target_call"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--townships", type=int, default=12)
    args = parser.parse_args()
    rules = Rules()
    started = time.perf_counter()
    results = measure(args.seasons, args.seed, args.townships, rules)
    elapsed = time.perf_counter() - started
    print(f"forecast backtest: {args.seasons} generated seasons of {args.townships} townships, interval nominal "
          f"{rules.level:.0%}, {elapsed:.1f} s")
    print(f"{'at / method / level':38} {'places':>6} {'MAE pp':>7} {'bias pp':>8} {'medAPE%':>8} {'in band':>8} "
          f"{'width pp':>9} {'naive pp':>9} {'target ok':>10}")
    for key, r in results.items():
        def show(v: object, fmt: str) -> str:
            return "—" if v is None else format(v, fmt)

        print(f"{key:38} {r['places']:>6} {r['mae_pp']:>7.2f} {show(r['bias_pp'], '>+8.2f')} "
              f"{r['median_ape_pct']:>8.2f} {show(r['interval_hit'], '>8.0%')} {show(r['interval_width_pp'], '>9.2f')} "
              f"{show(r['naive_mae_pp'], '>9.2f')} {show(r['target_calls_right'], '>10.0%')}")
    out = ROOT / "artifacts" / "bench" / f"forecast-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rules": asdict(rules),
                               "seconds": round(elapsed, 2), "results": results}, ensure_ascii=False, indent=1))
    print(f"JSON: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
