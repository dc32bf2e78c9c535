"""The subsidy service's console page: what a policy change would cost (政策测算), on this service's own HTTP app.

The facts a due is decided on (who holds which status, who enrolled, who paid) are this service's, and no
other service reads its tables: so the page is here, not on reconciliation's console. Server-rendered
Chinese, no script, no file from the internet.

- `GET /console/whatif?pack=610900-2025`: a form with every amount of the chosen pack a what-if may change
  (`shared.policy.amend.amount_settings`), each with its value now, the seed line it cites and, where the
  figure is a provisional default, who must fill it in;
- `POST /console/whatif`: the amounts changed are run as `yibao whatif` runs them (services/subsidy/whatif.py,
  in a process of its own: whatif_worker.py) and the same tables shown: totals by funding source and
  township before and after, how many people bear more or less and by how much; the XLSX is a download
  link on the page itself (a `data:` address), so it needs neither a second run nor anything kept.

Who may: a viewer (县乡医保) or a refund clerk credential of the region — the what-if shows totals of the kind
the ledger totals already show them (by township and funding source) and no person; the tax gateway's
credential only quotes. A credential sees its own region's packs: a city's (安康市 610900) the whole city
and each county of it, a county's its own. The credential comes as `Authorization: Bearer …` or, after the
login form, in this page's own HttpOnly cookie (the API routes take the header only). Nothing stored
changes: the what-if reads in a read-only transaction, and answers with totals only (no resident ID at all).
"""
from __future__ import annotations

import base64
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.subsidy.access import REFUND_CLERK, VIEWER
from services.subsidy.settings import Settings
from services.subsidy.whatif_worker import Busy, TooLong, run_isolated
from shared.access import Caller, bearer_token
from shared.http import RUNTIME, authenticator_of
from shared.logging import get_logger
from shared.policy import PolicyError, available, load_pack
from shared.policy.amend import amend, amount_settings, parse_change
from shared.policy.dates import local_date
from shared.policy.leaves import leaves
from shared.policy.pack import Pack
from shared.policy.words import setting_words, value_words
from shared.regions import counties_of, name_of
from shared.runtime import Runtime
from shared.sheets import cell_text

COOKIE = "yibao_subsidy"
RUNNERS = (VIEWER, REFUND_CLERK)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PACK = r"^\d{6}-\d{4}$"
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
TEMPLATES.filters["cell"] = cell_text
router = APIRouter(tags=["console"], include_in_schema=False)
log = get_logger(__name__)


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


def login_page(error: str | None = None, status: int = 401) -> HTMLResponse:
    return _render("login.html", status, error=error)


async def _runner(request: Request) -> tuple[Caller | None, Response | None]:
    """The caller if they may run a what-if, else the page to answer instead (login, or refused by role)."""
    token = bearer_token(request, COOKIE)
    caller = await authenticator_of(request).caller(token) if token else None
    if caller is None:
        return None, login_page()
    if caller.role not in RUNNERS:
        return None, login_page(f"政策测算需要查看（viewer）或退费经办（refund_clerk）凭证；当前凭证为{caller.role}"
                                "（税务征收端凭证只能查询应缴额）", status=403)
    return caller, None


def pack_choices(region: str) -> list[tuple[str, str]]:
    """The packs a credential of `region` may run a what-if on: its own; a city's, each county of it too."""
    out = []
    for code, year in available():
        pack = load_pack(code, year)
        if code == region:
            out.append((f"{code}-{year}", f"{name_of(code)}（{code}）{year}年度"))
            if pack.pooling == "city":
                out += [(f"{c}-{year}", f"{name_of(code)}{name_of(c)}（{c}）{year}年度：只算本县（区）人员")
                        for c in counties_of(code, year)]
        elif pack.covers(region):
            out.append((f"{region}-{year}", f"{name_of(region)}（{region}）{year}年度（{name_of(code)}政策包）"))
    return out


def _yuan_text(value: object) -> str:
    """An amount as a person types it: 40000 fen → "400", 34050 → "340.5", full → "full"; else empty."""
    if isinstance(value, int):
        return f"{value / 100:.2f}".rstrip("0").rstrip(".")
    return "full" if value == "full" else ""


def amount_rows(pack: Pack, county: str | None, form: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per amount of the pack a what-if may change (another county's left out when one is chosen)."""
    held = leaves(pack.model_copy(update={"applies_to": None}))
    awaiting = {a.setting: a.who for a in pack.awaiting()}
    rows = []
    for setting in amount_settings(pack):
        parts = setting.split(".")
        if county is not None and parts[0] == "counties" and parts[1] != county:
            continue
        leaf = held[setting]
        current = _yuan_text(leaf.value)
        typed = unicodedata.normalize("NFKC", (form or {}).get(f"set:{setting}", current)).strip()
        who = next((w for s, w in awaiting.items() if setting == s or setting.startswith(s + ".")), None)
        rows.append({"setting": setting, "what": setting_words(pack, setting), "current": current,
                     "current_words": value_words(setting, leaf.value, amount=True), "value": typed,
                     "placeholder": "" if current else value_words(setting, leaf.value, amount=True),
                     "cites": leaf.cites, "awaiting": who, "changed": _differs(typed, current)})
    return rows


def _differs(typed: str, current: str) -> bool:
    """Was an amount changed? Empty is "keep"; 400.00 is the same as 400."""
    if not typed or typed == current:
        return False
    try:
        return Decimal(typed) != Decimal(current)
    except InvalidOperation:  # `full`, or text parse_change will refuse, naming the setting
        return True


def _choice(pack_name: str | None, choices: list[tuple[str, str]], year: int) -> str | None:
    """The chosen pack if the caller may run it; else the campaign year's (or latest) of theirs."""
    values = [v for v, _ in choices]
    if pack_name:
        return pack_name if pack_name in values else None
    return next((v for v in values if v.endswith(f"-{year}")), values[-1] if values else None)


def _form_page(caller: Caller, choices: list[tuple[str, str]], pack_name: str, on: date,
               form: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    region, year = pack_name.split("-")
    pack = load_pack(region, int(year))
    county = region if pack.region != region else None
    return {"region": caller.region, "region_name": name_of(caller.region), "holder": caller.holder,
            "choices": choices, "pack": pack_name, "on": on.isoformat(), "rows": amount_rows(pack, county, form),
            "pack_title": dict(choices)[pack_name], "error": None, "outcome": None, **extra}


def _today() -> date:
    return local_date(datetime.now(UTC))


@router.get("/console/whatif", response_class=HTMLResponse)
async def whatif_page(request: Request, pack: str | None = Query(None, pattern=PACK),
                      runtime: Runtime = RUNTIME) -> Response:
    caller, refused = await _runner(request)
    if caller is None:
        return cast(Response, refused)
    choices = pack_choices(caller.region)
    chosen = _choice(pack, choices, cast(Settings, runtime.settings).campaign_year)
    if chosen is None:
        return _refused(caller, pack)
    return _render("whatif.html", **_form_page(caller, choices, chosen, _today()))


def _refused(caller: Caller, pack: str | None) -> HTMLResponse:
    return login_page(f"无权测算政策包{pack or ''}：凭证属于{name_of(caller.region)}（{caller.region}），"
                      "只能测算本统筹区（市级凭证含所辖县区）的政策包", status=403)


@router.post("/console/whatif", response_class=HTMLResponse)
async def whatif_run(request: Request, runtime: Runtime = RUNTIME) -> Response:
    caller, refused = await _runner(request)
    if caller is None:
        return cast(Response, refused)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    choices = pack_choices(caller.region)
    chosen = _choice(form.get("pack") or "-", choices, 0)
    if chosen is None:
        return _refused(caller, form.get("pack"))
    try:
        on = date.fromisoformat(form.get("on") or _today().isoformat())
    except ValueError:
        return _render("whatif.html", 400, **_form_page(caller, choices, chosen, _today(), form,
                                                        error=f"核定日期“{form.get('on', '')[:20]}”应写成 YYYY-MM-DD"))
    page = _form_page(caller, choices, chosen, on, form)
    region, year = chosen.split("-")
    changes = [f"{r['setting']}={r['value']}" for r in page["rows"] if r["changed"]]
    if not changes:
        return _render("whatif.html", 400, **{**page, "error": "没有改动任何金额：请在“测算”一栏填入新的金额"})
    try:
        amend(region, int(year), [parse_change(c) for c in changes])  # refused here at once, before any process
    except PolicyError as err:
        return _render("whatif.html", 400, **{**page, "error": err.one_line()})
    settings = cast(Settings, runtime.settings)
    log.info("what-if asked", region=region, year=year, changes=changes, holder=caller.holder, role=caller.role)
    try:
        outcome = await run_isolated(settings.pg_dsn, region, int(year), changes, on,
                                     timeout_s=settings.whatif_timeout_s)
    except Busy:
        return _render("whatif.html", 429, **{**page, "error": "另一项测算正在进行，请稍后再试"})
    except TooLong:
        return _render("whatif.html", 504, **{**page, "error": f"测算超过{settings.whatif_timeout_s:.0f}秒未完成，"
                                                               "已停止；请在命令行用 yibao whatif 测算"})
    if outcome.error:
        return _render("whatif.html", 400, **{**page, "error": outcome.error})
    href = f"data:{XLSX};base64,{base64.b64encode(outcome.xlsx).decode()}"
    return _render("whatif.html", **{**page, "outcome": outcome, "xlsx_href": href,
                                     "file_name": f"whatif-{chosen}-{on.isoformat()}.xlsx"})


@router.post("/console/login")
async def login(request: Request, token: str = Form(...)) -> Response:
    caller = await authenticator_of(request).caller(token.strip())
    if caller is None:
        return login_page("凭证无效或已吊销，请向县医保局索取")
    response = RedirectResponse("/api/console/whatif", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/api/console",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response
