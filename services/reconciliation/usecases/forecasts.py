"""Use case of the season-end forecast: each township's and village's payment curve so far (and last year's,
when its list with payment dates is imported), forecast to the collection period's last day (`domain.forecast`).

The periods come from the policy packs: this year's collection period from the region-year's pack; last
year's from last year's pack where there is one, else this year's moved back a year (DEFAULT: three of the
four seed regions have no pack for last year; last year's list is then read against the same calendar).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.reconciliation import season_store, store
from services.reconciliation.domain import forecast as model
from services.reconciliation.domain.errors import SeasonNotStarted, SeasonUnknown
from services.reconciliation.settings import Settings
from shared.policy import PolicyError, load_pack
from shared.policy.dates import add_months
from shared.uow import UnitOfWork

OUTLOOK = {"reach": "预计达标", "maybe": "有望达标", "short": "难以达标", None: "—"}
METHOD = {"last_year_shape": "按上年同期曲线形状", "saturating": "按饱和曲线（未导入上年名单）",
          "season_over": "征缴期已结束（实际数）"}


@dataclass(frozen=True)
class SeasonForecast:
    region: str
    year: int
    day: date
    period: tuple[date, date]
    last_period: tuple[date, date]
    last_year_people: int          # on last year's list (0: no list imported)
    forecasts: list[model.Forecast]

    @property
    def length(self) -> int:
        return (self.period[1] - self.period[0]).days + 1

    @property
    def elapsed(self) -> float:
        return round(min(1.0, ((self.day - self.period[0]).days + 1) / self.length), 4)

    def find(self, township: str | None, village: str | None) -> model.Forecast | None:
        return next((f for f in self.forecasts if (f.curve.township, f.curve.village) == (township, village)), None)

    def as_json(self) -> dict[str, Any]:
        return {"region": self.region, "year": self.year, "day": self.day.isoformat(),
                "period": {"start": self.period[0].isoformat(), "end": self.period[1].isoformat(), "days": self.length},
                "elapsed": self.elapsed, "last_year": {"people": self.last_year_people, "period": {
                    "start": self.last_period[0].isoformat(), "end": self.last_period[1].isoformat()}},
                "places": [forecast_json(f) for f in self.forecasts]}


def forecast_json(f: model.Forecast) -> dict[str, Any]:
    def people(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    target = f.curve.target
    return {"level": f.curve.level, "township": f.curve.township, "village": f.curve.village,
            "baseline": f.curve.baseline, "target": people(target), "enrolled_so_far": f.so_far,
            "forecast": people(f.final), "low": people(f.low), "high": people(f.high),
            "coverage": f.rate(f.final), "coverage_low": f.rate(f.low), "coverage_high": f.rate(f.high),
            "target_completion": round(f.final / target, 4) if target else None, "outlook": f.outlook,
            "method": f.method, "backtest_errors": f.residuals,
            "last_year_final": people(f.last_year[-1]) if f.last_year else None}


def rules_of(settings: Settings) -> model.Rules:
    return model.Rules(level=settings.forecast_level, min_people=settings.forecast_min_people,
                       min_residuals=settings.forecast_min_residuals, min_reached=settings.forecast_min_reached)


def periods(region: str, year: int) -> tuple[tuple[date, date], tuple[date, date]]:
    """This year's collection period and last year's (see the module's note); SeasonUnknown without a pack."""
    try:
        period = load_pack(region, year).collection_period
    except PolicyError:
        raise SeasonUnknown(region, year) from None
    try:
        last = load_pack(region, year - 1).collection_period
        return (period.start, period.end), (last.start, last.end)
    except PolicyError:
        return (period.start, period.end), (add_months(period.start, -12), add_months(period.end, -12))


async def season_forecast(uow: UnitOfWork, settings: Settings, region: str, year: int, day: date) -> SeasonForecast:
    """Every place's forecast as of the end of `day` (after the period: its last day, the actual ending)."""
    (start, end), (last_start, last_end) = periods(region, year)
    if day < start:
        raise SeasonNotStarted(day, start)
    day = min(day, end)
    length, last_length = (end - start).days + 1, (last_end - last_start).days + 1
    today = (day - start).days
    counts = await store.place_counts(uow.conn, region, year)
    pays = await season_store.first_payments(uow.conn, region, year, settings.timezone)
    prior = await season_store.prior_payments(uow.conn, region, year - 1)
    places: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {
        "baseline": 0, "undated": 0, "daily": [0] * (today + 1), "last_undated": 0, "last_daily": [0] * last_length})
    for c in counts:
        places[(c.township, c.village)]["baseline"] += c.baseline_people
    for r in pays:
        place = places[(r["township"], r["village"])]
        if r["day"] is None:
            place["undated"] += r["people"]
        elif (r["day"] - start).days <= today:  # a first payment before the period counts on its first day
            place["daily"][max(0, (r["day"] - start).days)] += r["people"]
    for r in prior:
        place = places[(r["township"], r["village"])]
        if r["paid_on"] is None:
            place["last_undated"] += r["people"]
        elif (r["paid_on"] - last_start).days < last_length:  # after last year's period: not in its curve
            place["last_daily"][max(0, (r["paid_on"] - last_start).days)] += r["people"]
    has_list = bool(prior)
    villages = [model.Curve(t, v, p["baseline"], None, p["undated"], tuple(p["daily"]), p["last_undated"],
                            tuple(p["last_daily"]) if has_list else None) for (t, v), p in places.items()]
    every = model.places(villages, await store.targets(uow.conn, region, year))
    return SeasonForecast(region, year, day, (start, end), (last_start, last_end), sum(r["people"] for r in prior),
                          model.forecast(every, length, today, rules_of(settings)))
