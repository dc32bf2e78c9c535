"""Two console pages about the season's end: where it will end (预计期末参保), and whom to visit (未续保名单).

Same login, cookie and look as the other console pages (console.py): a credential of the region,
Chinese, server-rendered, inline SVG, no script. `?day=` looks at the season as of an earlier day.

- `GET /console/forecast`: the chosen place's curve by day (actual, forecast with its interval, target,
  last year) and the forecast of every township, and of the chosen township's villages. Place names go in
  the URL (`township`, `village`): they name no person.
- `GET /console/not-renewed`: per village, who was enrolled last year and is not yet this year, and which
  vulnerable people are not yet enrolled, ranked for the village worker (IDs masked); the workbook with
  one sheet per village is `GET /api/not-renewed.xlsx`.
"""
from __future__ import annotations

from datetime import date
from typing import Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reconciliation.console import TEMPLATES, caller_or_none, login_page
from services.reconciliation.domain.errors import SeasonNotStarted, SeasonUnknown
from services.reconciliation.domain.forecast_chart import season_chart
from services.reconciliation.domain.renewals import village_counts
from services.reconciliation.settings import Settings
from services.reconciliation.usecases import business_day, forecasts, renewals
from shared.access import Caller
from shared.http import RUNTIME
from shared.regions import name_of
from shared.runtime import Runtime

router = APIRouter(tags=["console"], include_in_schema=False)
LIST_SHOWN = 500  # people listed on the page; the workbook has them all
RegionQuery = Query(None, pattern=r"^\d{6}$")
YearQuery = Query(None, ge=2000, le=2100)


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


async def _who(request: Request, region: str | None) -> tuple[Caller | None, Response | None]:
    """The caller, or the page to answer instead (login; another region's data refused)."""
    caller = await caller_or_none(request)
    if caller is None:
        return None, login_page()
    if region is not None and region != caller.region:
        return None, login_page(f"无权查看统筹区{region}：当前凭证属于统筹区{caller.region}", status=403)
    return caller, None


def _day(text: str | None, runtime: Runtime, now: Any) -> tuple[date, str | None]:
    """The day asked for (the form sends YYYY-MM-DD or nothing), else today; a wrong one is said, not guessed."""
    today = business_day(cast(Settings, runtime.settings), now)
    if not text:
        return today, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return today, f"日期“{text[:20]}”应写成 YYYY-MM-DD（如 2024-11-05），下面按今天显示"


@router.get("/console/forecast", response_class=HTMLResponse)
async def forecast_page(request: Request, region: str | None = RegionQuery, year: int | None = YearQuery,
                        day: str | None = Query(None, max_length=20), township: str | None = Query(None, max_length=100),
                        village: str | None = Query(None, max_length=100), runtime: Runtime = RUNTIME) -> Response:
    caller, refused = await _who(request, region)
    if caller is None:
        return cast(Response, refused)
    settings = cast(Settings, runtime.settings)
    region, year = caller.region, year or settings.campaign_year
    page: dict[str, Any] = {"region": region, "region_name": name_of(region), "year": year, "holder": caller.holder,
                            "outlook": forecasts.OUTLOOK, "methods": forecasts.METHOD,
                            "level": settings.forecast_level}
    async with runtime.unit_of_work() as uow:
        as_of, page["day_error"] = _day(day, runtime, uow.now)
        try:
            found = await forecasts.season_forecast(uow, settings, region, year, as_of)
        except (SeasonUnknown, SeasonNotStarted) as err:
            return _render("forecast.html", **page, day=as_of, error=str(err), season=None)
    chosen = found.find(township or None, village or None) if township else None
    chosen = chosen or found.find(None, None)
    assert chosen is not None, "forecast.places always yields the region"
    focus = chosen.curve.township
    where = "全统筹区" if focus is None else f"{focus}{chosen.curve.village or ''}"
    page.update(season=found, day=found.day, chosen=chosen, where=where, focus=focus,
                chart=season_chart(chosen, found.period[0], found.length, f"{where}参保人数逐日曲线与期末预测"),
                townships=[f for f in found.forecasts if f.curve.level == "township"],
                villages=[f for f in found.forecasts if f.curve.level == "village" and f.curve.township == focus],
                region_row=found.find(None, None), error=None)
    return _render("forecast.html", **page)


@router.get("/console/not-renewed", response_class=HTMLResponse)
async def not_renewed_page(request: Request, region: str | None = RegionQuery, year: int | None = YearQuery,
                           day: str | None = Query(None, max_length=20), township: str | None = Query(None, max_length=100),
                           runtime: Runtime = RUNTIME) -> Response:
    caller, refused = await _who(request, region)
    if caller is None:
        return cast(Response, refused)
    region, year = caller.region, year or cast(Settings, runtime.settings).campaign_year
    async with runtime.unit_of_work() as uow:
        as_of, day_error = _day(day, runtime, uow.now)
        found = await renewals.not_renewed(uow, region, year, as_of)
    groups = found.villages
    counts = village_counts(groups)
    shown, villages = 0, []
    for place, people in groups.items():
        if township and place[0] != township:
            continue
        take = people[:max(0, LIST_SHOWN - shown)]
        shown += len(take)
        villages.append({"township": place[0], "village": place[1], "people": take, "total": len(people)})
    return _render("not_renewed.html", region=region, region_name=name_of(region), year=year, day=found.day,
                   day_error=day_error, holder=caller.holder, found=found, counts=counts, villages=villages,
                   township=township or "", townships=sorted({t for t, _ in groups}), shown=shown,
                   limit=LIST_SHOWN)
