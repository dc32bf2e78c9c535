"""A console page about the policy itself: two packs compared (政策包对比). Same login, cookie and look as the
other console pages (console.py).

- `GET /console/packs?a=340321-2024&b=340321-2025`: the diff of shared/policy/diff.py, the same `yibao pack
  diff` prints; `/console/packs.xlsx` the same as a spreadsheet. Packs are public policy: a logged-in holder
  of any region may compare any two.

What a change of amounts would cost is the subsidy service's page (services/subsidy/console.py, `yibao whatif`
on the command line): it reads the people from the subsidy service's own schema, which this service may not read.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reconciliation.console import TEMPLATES, caller_or_none, login_page
from shared.policy import PolicyError, available

router = APIRouter(tags=["console"], include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PACK = r"^\d{6}-\d{4}$"


@router.get("/console/packs", response_class=HTMLResponse)
async def packs_page(request: Request, a: str | None = Query(None, pattern=PACK),
                     b: str | None = Query(None, pattern=PACK)) -> Response:
    caller = await caller_or_none(request)
    if caller is None:
        return login_page()
    names = [f"{r}-{y}" for r, y in available()]
    a, b = a or _default_pair(names, caller.region)[0], b or _default_pair(names, caller.region)[1]
    found, error = _diff(a, b)
    return _render("pack_diff.html", region=caller.region, names=names, a=a, b=b, diff=found, error=error,
                   holder=caller.holder)


@router.get("/console/packs.xlsx")
async def packs_sheet(request: Request, a: str = Query(..., pattern=PACK), b: str = Query(..., pattern=PACK)) -> Response:
    if await caller_or_none(request) is None:
        return login_page()
    from shared.policy.diff import diff_sheet
    from shared.sheets import workbook

    found, error = _diff(a, b)
    if found is None:
        return HTMLResponse(error or "", status_code=400)
    return Response(workbook([diff_sheet(found)]), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="pack-diff-{a}-{b}.xlsx"'})


def _default_pair(names: list[str], region: str) -> tuple[str, str]:
    """The caller's region's two latest packs, else its one pack against the first other."""
    own = [n for n in names if n.startswith(region + "-")]
    if len(own) >= 2:
        return own[-2], own[-1]
    others = [n for n in names if n not in own]
    return (own[0], others[0]) if own and others else (names[0], names[-1])


def _diff(a: str, b: str) -> tuple[Any, str | None]:
    from shared.policy.diff import diff_packs, pack_named

    try:
        return diff_packs(pack_named(a), pack_named(b)), None
    except PolicyError as err:
        return None, err.one_line()


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)
