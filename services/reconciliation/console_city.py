"""The city view of the console (市县汇总): a city-wide pooling region (安康市 610900), each of its counties and
their townships, with the progress and the 未续保/应保未保 lists rolled up township → county → city, and each
county's overrides of the city pack (or, where the policy documents give a county none, that it follows the
city's). Same login, cookie and look as the other console pages (console.py).

- `GET /console/city?year=2025&day=2024-11-20`: the page; `GET /console/city.xlsx` the same as a workbook
  (city and counties; each county's townships; the overrides; everyone listed, IDs masked).

Who may: a credential of the city itself (the city pools its counties' money and people); a county's credential
sees its own county on the other pages, not its neighbours, and is refused here.
"""
from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reconciliation.console import TEMPLATES, caller_or_none, login_page
from services.reconciliation.console_season import _day
from services.reconciliation.domain.city import NO_OVERRIDE, CityView
from services.reconciliation.settings import Settings
from services.reconciliation.usecases.city import NotACity, city_sheets, city_view
from shared.access import Caller
from shared.http import RUNTIME
from shared.regions import name_of
from shared.runtime import Runtime

router = APIRouter(tags=["console"], include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YearQuery = Query(None, ge=2000, le=2100)
DayQuery = Query(None, max_length=20)


async def _view(request: Request, runtime: Runtime, year: int | None,
                day: str | None) -> tuple[Caller | None, CityView | None, Response | None, str | None]:
    """The caller and the city view, or the page to answer instead (login, not a city, another region)."""
    caller = await caller_or_none(request)
    if caller is None:
        return None, None, login_page(), None
    year = year or cast(Settings, runtime.settings).campaign_year
    async with runtime.unit_of_work() as uow:
        as_of, day_error = _day(day, runtime, uow.now)
        try:
            view = await city_view(uow, caller.region, year, as_of)
        except NotACity as err:
            return caller, None, _refused(caller, str(err)), None
    return caller, view, None, day_error


def _refused(caller: Caller, why: str) -> HTMLResponse:
    city = caller.region[:4] + "00"
    more = (f"；市县汇总需要{name_of(city)}（{city}）的凭证，本凭证只看{name_of(caller.region)}"
            if city != caller.region else "")
    return login_page(f"{why}{more}", status=403 if more else 404)


@router.get("/console/city", response_class=HTMLResponse)
async def city_page(request: Request, year: int | None = YearQuery, day: str | None = DayQuery,
                    runtime: Runtime = RUNTIME) -> Response:
    caller, view, refused, day_error = await _view(request, runtime, year, day)
    if caller is None or view is None:
        return cast(Response, refused)
    page: dict[str, Any] = {"view": view, "holder": caller.holder, "day_error": day_error,
                            "no_override": NO_OVERRIDE, "day": day or ""}
    return HTMLResponse(TEMPLATES.get_template("city.html").render(**page))


@router.get("/console/city.xlsx")
async def city_workbook(request: Request, year: int | None = YearQuery, day: str | None = DayQuery,
                        runtime: Runtime = RUNTIME) -> Response:
    from shared.sheets import workbook

    caller, view, refused, _ = await _view(request, runtime, year, day)
    if caller is None or view is None:
        return cast(Response, refused)
    return Response(workbook(city_sheets(view)), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="city-{view.code}-{view.year}.xlsx"'})
