"""The what-if page (政策测算) of the subsidy service, in a real headless browser on a real subsidy service.

The population of tests/support/whatif_population.py (怀远县 2025, stored by subsidy's own use cases) is asked
what 420 元 a person and 低保 360 would cost: the page must show the seed's figures changed (the same totals
`expected` adds up from the seed alone), offer the same tables as XLSX, show no resident ID, change nothing
stored, let only a viewer or refund clerk of the region run it, and leave a screenshot under artifacts/console/.
"""
from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from shared.db import create_pool
from tests.e2e.test_console_browser import submit
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System, create_system, drop_system
from tests.support.waiting import eventually
from tests.support.whatif_population import AK, DAY, HY, expected, store_population

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "console"


@pytest.fixture(scope="module")
async def subsidy(servers) -> AsyncIterator[tuple[System, dict[str, tuple[str, str]], dict[str, str]]]:
    system = await create_system(servers, ROOT / "artifacts" / "e2e")
    try:
        pool = await create_pool(system.pg_dsn, "subsidy")
        try:
            people = await store_population(pool, topic_prefix=system.topic_prefix)
        finally:
            await pool.close()
        tokens = {role: (await subsidy_headers(system.pg_dsn, region, role, holder))["Authorization"][7:]
                  for role, region, holder in (("viewer", HY, "怀远县医保局"), ("tax_gateway", HY, "税务征收端"),
                                               ("refund_clerk", AK, "安康市医保局"))}
        system.start("subsidy")
        await system.wait_healthy(("subsidy",))
        yield system, people, tokens
    finally:
        await drop_system(system)


async def stored(dsn: str) -> dict[str, str]:
    """Every table of the subsidy schema as a count and a digest of its rows, once the outbox relay has published
    what the population's use cases wrote (the relay deletes what it sent: that is not the what-if's doing)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "subsidy"})
    try:
        await eventually(lambda: _drained(conn))
        tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'subsidy'")]
        return {t: await conn.fetchval(f"SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' "
                                       f"ORDER BY x::text)), '') FROM subsidy.\"{t}\" x") for t in sorted(tables)}
    finally:
        await conn.close()


async def _drained(conn: asyncpg.Connection) -> bool | None:
    return (await conn.fetchval("SELECT count(*) FROM outbox") == 0) or None


async def log_in(browser: WebDriver, system: System, token: str) -> None:
    await asyncio.to_thread(browser.get, system.url("subsidy", "/api/console/whatif"))
    browser.delete_all_cookies()
    await asyncio.to_thread(browser.get, system.url("subsidy", "/api/console/whatif"))
    browser.find_element(By.ID, "token").send_keys(token)
    submit(browser, "login")


def set_amount(browser: WebDriver, setting: str, value: str) -> None:
    box = browser.find_element(By.NAME, f"set:{setting}")
    box.clear()
    box.send_keys(value)


def table(browser: WebDriver, title: str) -> dict[str, list[str]]:
    """A result table of the page: its first column → the other cells, as shown."""
    found = browser.find_element(By.CSS_SELECTOR, f"table.sheet[data-title='{title}']")
    return {cells[0].text: [c.text for c in cells[1:]] for row in found.find_elements(By.CSS_SELECTOR, "tbody tr")
            if (cells := row.find_elements(By.TAG_NAME, "td"))}


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


async def test_the_tax_gateway_may_not_run_a_what_if(subsidy, browser):
    system, _, tokens = subsidy
    await log_in(browser, system, tokens["tax_gateway"])
    assert "需要查看（viewer）或退费经办（refund_clerk）凭证" in browser.find_element(By.ID, "error").text
    async with httpx.AsyncClient(timeout=30) as client:
        nobody = await client.get(system.url("subsidy", "/api/console/whatif"))
        other = await client.get(system.url("subsidy", "/api/console/whatif"), params={"pack": "610900-2025"},
                                 headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert nobody.status_code == 401 and "登录" in nobody.text
    assert other.status_code == 403 and "无权测算政策包610900-2025" in other.text


async def test_the_page_runs_the_what_if_shows_the_seeds_figures_changed_and_leaves_a_screenshot(subsidy, browser):
    system, people, tokens = subsidy
    before = await stored(system.pg_dsn)
    await log_in(browser, system, tokens["viewer"])
    assert browser.get_cookie("yibao_subsidy")["httpOnly"]
    options = [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "pack")).options]
    assert options == ["340321-2024", "340321-2025"], "a county's credential sees its own packs only"
    Select(browser.find_element(By.ID, "pack")).select_by_value("340321-2025")
    submit(browser, "choose")
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "on"), DAY.isoformat())
    set_amount(browser, "money.individual_contribution", "420")
    set_amount(browser, "subsidies.minimum_living.amount", "３６０")  # typed with a Chinese IME: full-width digits
    submit(browser, "run")

    headline = browser.find_element(By.ID, "headline").text
    assert "按2024-11-20核定，共29人；个人负担增加16人、减少0人、不变13人" in headline
    want = expected(people)
    totals = table(browser, "总体")
    assert totals["参保人个人负担（元）"] == [yuan(want["borne"][0]), yuan(want["borne"][1]),
                                      yuan(want["borne"][1] - want["borne"][0])]
    sources = table(browser, "按资金来源")
    assert sources["医疗救助资金"][:2] == [yuan(f) for f in want["sources"]["medical_assistance"]]
    townships = table(browser, "按乡镇")
    assert {t: row[1:3] for t, row in townships.items()} == {t: [yuan(b), yuan(a)] for t, (b, a)
                                                            in want["townships"].items()}
    spread = table(browser, "个人负担变化分布")
    assert spread["合计：多缴"] == ["16", "320.00"] and spread["+20元"] == ["16"]

    book = load_workbook(io.BytesIO(base64.b64decode(
        browser.find_element(By.ID, "xlsx").get_attribute("href").split(",", 1)[1])))
    assert book.sheetnames == ["测算条件", "总体", "按资金来源", "按乡镇", "个人负担变化分布"]
    changed = {r[0].value: (r[2].value, r[3].value) for r in book["测算条件"].iter_rows(min_row=2)}
    assert changed == {"money.individual_contribution": (Decimal("400"), Decimal("420")),
                       "subsidies.minimum_living.amount": (Decimal("340"), Decimal("360"))}
    page = browser.page_source
    assert not [p for p in people if p in page or p[:17] in page], "no resident ID on the page"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "whatif.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert await stored(system.pg_dsn) == before, "a what-if changes nothing stored"


async def test_an_amount_the_pack_cannot_take_is_refused_naming_it(subsidy, browser):
    system, _, tokens = subsidy
    await log_in(browser, system, tokens["viewer"])
    set_amount(browser, "subsidies.minimum_living.amount", "三百六")
    submit(browser, "run")
    error = browser.find_element(By.ID, "error").text
    assert error.startswith("subsidies.minimum_living.amount") and "元数" in error
    assert not browser.find_elements(By.ID, "result")


async def test_a_city_runs_its_counties_and_sees_their_overrides(subsidy, browser):
    system, _, tokens = subsidy
    await log_in(browser, system, tokens["refund_clerk"])
    options = [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "pack")).options]
    assert options[0] == "610900-2025" and {"610924-2025", "610929-2025", "610981-2025"} <= set(options)
    assert "610928-2025" not in options, "旬阳县's code was retired in 2021 (旬阳市 610981)"
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-setting='counties.610924.subsidies.minimum_living.amount']")
    assert "待紫阳县医疗保障局填入" in row.text and "第42行" in row.text
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "on"), DAY.isoformat())
    set_amount(browser, "counties.610924.subsidies.minimum_living.amount", "260")
    submit(browser, "run")
    assert "共3人；个人负担增加0人、减少2人、不变1人" in browser.find_element(By.ID, "headline").text
    browser.save_screenshot(str(SHOTS / "whatif-city.png"))
