"""The ops console (运行监控台): server-rendered Chinese pages over the same figures as the API.

No script and no file from the internet: HTML from Jinja2 templates, inline CSS,
inline SVG charts. During the collection period the page reloads itself (live
figures while the money comes in). The person lookup is a POST form: the ID is
in the body, never in the URL, and is shown masked. The pages need a credential of the
region: the login form takes the token once and keeps it in an HttpOnly cookie.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reconciliation import access, usecases
from services.reconciliation.domain.charts import coverage_bars, trend_line
from services.reconciliation.domain.discrepancies import KIND_LABEL
from services.reconciliation.domain.errors import PersonNotFound
from services.reconciliation.domain.figures import discrepancy_json, open_by_kind, weekly_coverage
from services.reconciliation.settings import Settings
from shared.access import Caller, bearer_token
from shared.http import RUNTIME, authenticator_of
from shared.policy import PolicyError, load_pack
from shared.policy.pack import Awaiting
from shared.regions import name_of
from shared.resident_id import InvalidResidentId, mask, parse_resident_id
from shared.runtime import Runtime

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
OPEN_SHOWN = 200  # open discrepancies listed on the page; the export has them all


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


TEMPLATES.filters["yuan"] = yuan
TEMPLATES.filters["percent"] = percent

router = APIRouter(tags=["console"], include_in_schema=False)


def is_live(window: tuple[date, date] | None, today: date) -> bool:
    """The console refreshes itself while the region's collection period runs."""
    return window is not None and window[0] <= today <= window[1]


def awaiting_figures(region: str, year: int) -> list[Awaiting]:
    """Figures the region's pack still holds as provisional defaults (a seed gave none): shown on every
    console page until the county fills them in, because dues computed with them may still change."""
    try:
        return list(load_pack(region, year).awaiting())
    except PolicyError:  # no pack for the region or year: the console shows that elsewhere (no dues at all)
        return []


def is_city(region: str, year: int) -> bool:
    """Is `region` a city-wide pooling region (its pack covers its counties)? Its console links to the city view."""
    try:
        pack = load_pack(region, year)
    except PolicyError:
        return False
    return pack.pooling == "city" and pack.region == region


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


def login_page(error: str | None = None, status: int = 401) -> HTMLResponse:
    return _render("login.html", status, error=error)


async def caller_or_none(request: Request) -> Caller | None:
    """The caller of the request's Bearer header or console cookie; None (the login page) without a valid one."""
    token = bearer_token(request, access.COOKIE)
    return await authenticator_of(request).caller(token) if token else None


@router.get("/console", response_class=HTMLResponse)
async def index(request: Request, region: str | None = Query(None, pattern=r"^\d{6}$"),
                year: int | None = Query(None, ge=2000, le=2100), runtime: Runtime = RUNTIME) -> Response:
    caller = await caller_or_none(request)
    if caller is None:
        return login_page()
    region = region or caller.region
    if region != caller.region:
        return login_page(f"无权查看统筹区{region}：当前凭证属于统筹区{caller.region}", status=403)
    settings = cast(Settings, runtime.settings)
    year = year or settings.campaign_year
    async with runtime.reading_replica() as uow:  # reads only: a fresh replica may answer
        figures = await usecases.console_figures(uow, region, year)
        now = uow.now
    return _render(
        "console.html", region=region, region_name=name_of(region), year=year, progress=figures.progress,
        chart=coverage_bars(figures.progress["townships"]),
        trends={t: trend_line(points) for t, points in weekly_coverage(figures.weeks).items()},
        vulnerable=figures.vulnerable, open_total=len(figures.open_discrepancies),
        open_by_kind=open_by_kind(figures.open_discrepancies),
        discrepancies=[discrepancy_json(d) for d in figures.open_discrepancies[:OPEN_SHOWN]], shown=OPEN_SHOWN,
        transfers=figures.transfers, refunds=figures.refunds, last_run=figures.last_run,
        live=is_live(figures.window, usecases.business_day(settings, now)), refresh_s=settings.console_refresh_s,
        now=now.strftime("%Y-%m-%d %H:%M:%S UTC"), holder=caller.holder, awaiting=awaiting_figures(region, year),
        city=is_city(region, year))


@router.post("/console/login")
async def login(request: Request, token: str = Form(...)) -> Response:
    caller = await authenticator_of(request).caller(token.strip())
    if caller is None:
        return login_page("凭证无效或已吊销，请向县医保局索取")
    response = RedirectResponse(f"/api/console?region={caller.region}", status_code=303)
    response.set_cookie(access.COOKIE, token.strip(), httponly=True, samesite="strict", path="/api",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/console/person", response_class=HTMLResponse)
async def person(request: Request, id: str = Form(...), runtime: Runtime = RUNTIME) -> Response:
    caller = await caller_or_none(request)
    if caller is None:
        return login_page()
    region = caller.region
    try:
        person_id = parse_resident_id(id).value
    except InvalidResidentId as err:
        return _render("person.html", region=region, error=err.reason, person=None, view=None)
    try:
        async with runtime.reading_replica() as uow:
            view = await usecases.person_record(uow, person_id, region)
    except PersonNotFound as err:
        return _render("person.html", region=region, error=str(err), person=mask(person_id), view=None, kinds=KIND_LABEL)
    return _render("person.html", region=region, error=None, person=mask(person_id), view=view, kinds=KIND_LABEL)
