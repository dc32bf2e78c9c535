"""HTTP API of the season's end: last year's list imported, the 未续保 list (JSON and a workbook per village), and
the season-end forecast.

Access as everywhere in the service (`access`): importing needs the clerk role of the region (the
list's rows are taken for the credential's region); reading needs a credential of the region asked
for. Resident IDs are in the uploaded file only, never in a URL, and every answer shows them masked.
`day` (default today, in the service's time zone) is the day the list and the forecast are as of.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from services.reconciliation.domain.errors import NotFound, SeasonNotStarted
from services.reconciliation.domain.sheet_reader import SheetRefused
from services.reconciliation.uploads import settings_of, upload
from services.reconciliation.usecases import business_day, forecasts, renewals
from shared.access import Caller
from shared.api_contract import IsoDate, PlainText, problems
from shared.http import CALLER, RUNTIME
from shared.runtime import Runtime

Region = Query(pattern=r"^\d{6}$", description="6-digit pooling region code.", examples=["340321"])
Year = Query(ge=2000, le=2100, description="Coverage year.")
Day = Query(None, description="The day the answer is as of (YYYY-MM-DD); default today.")
Who = Annotated[Caller, CALLER]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRIOR_EXAMPLE = ("身份证号,姓名,乡镇(街道),村(社区),参保年度,缴费日期,缴费金额,人员类别\n"
                 "34032119800101001X,张三,榴城镇,城关村,2024,2023-10-08,380.00,普通居民\n")
PRIOR_BODY = {"requestBody": {"required": True, "description": "The county's list as exported: XLSX, or CSV in UTF-8 "
                              "or GB18030 (a title row above the header and a 合计 row below are fine).",
                              "content": {"text/csv": {"schema": {"type": "string"}, "example": PRIOR_EXAMPLE},
                                          XLSX: {"schema": {"type": "string", "format": "binary"}}}}}

router = APIRouter(tags=["reconciliation"])


@router.post("/imports/prior-enrollment", responses=problems(401, 403, 413, 422), openapi_extra=PRIOR_BODY)
async def import_prior(who: Who, request: Request, year: int | None = Query(None, ge=2000, le=2100, description=(
                           "The coverage year of the list; default the year before the campaign year.")),
                       name: Annotated[PlainText, Query(max_length=200)] = "prior-enrollment.xlsx",
                       runtime: Runtime = RUNTIME) -> dict[str, Any]:
    """Last year's enrollment as the county exports it (上年度参保名单): rows in = accepted + rejected."""
    who.check(who.region, "clerk")
    content = await upload(request, settings_of(runtime).upload_max_bytes, "文件过大：请按乡镇分开导出后分别上传")
    try:
        async with runtime.unit_of_work() as uow:
            return await renewals.import_prior_enrollment(
                uow, name=name, content=content, region=who.region,
                year=year or settings_of(runtime).campaign_year - 1)
    except SheetRefused as err:
        raise HTTPException(422, str(err)) from None


async def _chase(who: Caller, runtime: Runtime, region: str, year: int, day: date | None) -> renewals.ChaseList:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return await renewals.not_renewed(uow, region, year, day or business_day(settings_of(runtime), uow.now))


@router.get("/not-renewed", responses=problems(401, 403, 422))
async def not_renewed(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year,
                      day: IsoDate | None = Day) -> dict[str, Any]:
    """未续保 and 应保未保, per village, ranked: vulnerable first, then the fewest days left to pay (IDs masked)."""
    return (await _chase(who, runtime, region, year, day)).as_json()


@router.get("/not-renewed.xlsx", responses={
    200: {"description": "One sheet per village", "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
    **problems(401, 403, 422)})
async def not_renewed_workbook(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year,
                               day: IsoDate | None = Day) -> Response:
    """The same list as a workbook with one sheet per village."""
    found = await _chase(who, runtime, region, year, day)
    return Response(found.workbook(), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="not-renewed-{region}-{year}-{found.day}.xlsx"'})


@router.get("/forecast", responses=problems(401, 403, 404, 422))
async def season_forecast(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year,
                          day: IsoDate | None = Day) -> dict[str, Any]:
    """Each township's and village's enrolled people forecast to the collection period's last day, with an
    interval and against the target."""
    who.check(region)
    settings = settings_of(runtime)
    try:
        async with runtime.unit_of_work() as uow:
            found = await forecasts.season_forecast(uow, settings, region, year, day or business_day(settings, uow.now))
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    except SeasonNotStarted as err:
        raise HTTPException(422, str(err)) from None
    return found.as_json()
