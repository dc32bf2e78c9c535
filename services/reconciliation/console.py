"""The ops console (运行监控台): server-rendered Chinese pages over the same figures as the API.

No script and no file from the internet: HTML from Jinja2 templates, inline CSS,
inline SVG charts. During the collection period the page reloads itself (live
figures while the money comes in). The person lookup is a POST form: the ID is
in the body, never in the URL, and is shown masked. The pages need a credential of the
region: the login form takes the token once and keeps it in an HttpOnly cookie.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reconciliation import access, reports, store
from services.reconciliation.domain.charts import coverage_bars, trend_line
from services.reconciliation.domain.discrepancies import KIND_LABEL
from shared.regions import name_of
from shared.resident_id import InvalidResidentId, mask, parse_resident_id
from shared.runtime import Runtime
from shared.uow import utcnow

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
OPEN_SHOWN = 200  # open discrepancies listed on the page; the export has them all


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


TEMPLATES.filters["yuan"] = yuan
TEMPLATES.filters["percent"] = percent


def is_live(window: tuple[date, date] | None, today: date) -> bool:
    """The console refreshes itself while the region's collection period runs."""
    return window is not None and window[0] <= today <= window[1]


def _render(name: str, **context) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context))


def router(runtime: Runtime, today: Callable[[], date]) -> APIRouter:
    r = APIRouter(tags=["console"], include_in_schema=False)
    settings = runtime.settings

    async def who(request: Request) -> access.Caller | None:
        token = access.token_of(request)
        if not token:
            return None
        async with runtime.pool.acquire() as conn:
            return await access.authenticate(conn, token)

    def login_page(error: str | None = None, status: int = 401) -> HTMLResponse:
        response = _render("login.html", error=error)
        response.status_code = status
        return response

    @r.get("/console", response_class=HTMLResponse)
    async def index(request: Request, region: str | None = Query(None, pattern=r"^\d{6}$"),
                    year: int | None = Query(None, ge=2000, le=2100)):
        caller = await who(request)
        if caller is None:
            return login_page()
        region = region or caller.region
        if region != caller.region:
            return login_page(f"无权查看统筹区{region}：当前凭证属于统筹区{caller.region}", status=403)
        year = year or settings.campaign_year
        async with runtime.pool.acquire() as conn:
            progress = await reports.progress(conn, region, year)
            vulnerable = await reports.vulnerable(conn, region, year)
            open_rows = await store.discrepancies(conn, region, year, status="open")
            transfers = await reports.transfers(conn, region, year)
            refunds = await reports.refunds(conn, region, year)
            weeks = await store.snapshots(conn, region, year)
            runs = await store.runs(conn, region, year, limit=1)
        window = reports.collection_window(region, year)
        live = is_live(window, today())
        trends: dict[str, list[tuple[str, float]]] = {}
        for w in weeks:
            if w["baseline_people"]:
                trends.setdefault(w["township"], []).append(
                    (w["week"].isoformat(), w["enrolled_people"] / w["baseline_people"]))
        by_kind: dict[str, int] = {}
        for d in open_rows:
            by_kind[d["kind"]] = by_kind.get(d["kind"], 0) + 1
        return _render(
            "console.html", region=region, region_name=name_of(region), year=year, progress=progress,
            chart=coverage_bars(progress["townships"]),
            trends={t: trend_line(points) for t, points in trends.items()},
            vulnerable=vulnerable["groups"], open_total=len(open_rows),
            open_by_kind=[(KIND_LABEL.get(k, k), n) for k, n in sorted(by_kind.items())],
            discrepancies=[reports.discrepancy_json(d) for d in open_rows[:OPEN_SHOWN]], shown=OPEN_SHOWN,
            transfers=transfers, refunds=refunds, last_run=runs[0] if runs else None, live=live,
            refresh_s=settings.console_refresh_s, now=utcnow().strftime("%Y-%m-%d %H:%M:%S UTC"),
            holder=caller.holder)

    @r.post("/console/login")
    async def login(request: Request, token: str = Form(...)):
        async with runtime.pool.acquire() as conn:
            caller = await access.authenticate(conn, token.strip())
        if caller is None:
            return login_page("凭证无效或已吊销，请向县医保局索取")
        response = RedirectResponse(f"/api/console?region={caller.region}", status_code=303)
        response.set_cookie(access.COOKIE, token.strip(), httponly=True, samesite="strict", path="/api",
                            secure=request.url.scheme == "https", max_age=12 * 3600)
        return response

    @r.post("/console/person", response_class=HTMLResponse)
    async def person(request: Request, id: str = Form(...)):
        caller = await who(request)
        if caller is None:
            return login_page()
        region = caller.region
        try:
            person_id = parse_resident_id(id).value
        except InvalidResidentId as err:
            return _render("person.html", region=region, error=err.reason, person=None, view=None)
        async with runtime.pool.acquire() as conn:
            view = await store.person_view(conn, person_id, region)
        return _render("person.html", region=region, error=None if view else f"本统筹区查无此人：{mask(person_id)}",
                       person=mask(person_id), view=view, kinds=KIND_LABEL)

    return r
