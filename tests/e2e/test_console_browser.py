"""The ops console in a real headless browser (Debian's chromium through chromedriver).

A generated season is loaded into a real reconciliation service; the console's
pages must load, show the same numbers as the API, look a person up through the
POST form (the ID never in the URL) and leave a screenshot under artifacts/console/.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from services.reconciliation.console import awaiting_figures
from tests.e2e import reconciliation_season as gen
from tests.e2e.test_reconciliation_season import load_season
from tests.support.system import System, create_system, drop_system

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "console"
HEADERS: dict[str, str] = {}


@pytest.fixture(scope="module")
async def console(servers) -> AsyncIterator[tuple[System, gen.Season]]:
    system = await create_system(servers, ROOT / "artifacts" / "e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_SCHEDULE_ENABLED", "false")
        try:
            system.start("reconciliation")
            await system.wait_healthy(("reconciliation",))
            season = gen.generate(seed=11, people=120)
            HEADERS.update(await gen.credential(system.pg_dsn))
            async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
                await load_season(system, season, client)
                r = await client.post(system.url("reconciliation", "/api/runs"),
                                      json={"region": gen.REGION, "day": gen.RUN_DAY.isoformat()})
                assert r.status_code == 200, r.text
            yield system, season
        finally:
            await drop_system(system)



def submit(browser: WebDriver, button_id: str) -> None:
    """Click a form's button and wait for the page it posts to: a click returns before the
    navigation ends, so reading the next page at once may still read the old one."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, button_id).click()
    WebDriverWait(browser, 30).until(lambda _: _replaced(old_page))
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")


def _replaced(element: WebElement) -> bool:
    """The element's page is gone. Chromium answers a question about a node of a document being replaced
    either as a stale element or, mid-navigation, as "does not belong to the document" (an unknown error
    that `expected_conditions.staleness_of` lets through, failing the test)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        if "does not belong to the document" in str(err):
            return True
        raise
    return False


async def api(system: System, path: str) -> dict:
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        r = await client.get(system.url("reconciliation", path), params={"region": gen.REGION, "year": gen.YEAR})
        r.raise_for_status()
        return r.json()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


async def test_the_console_asks_for_a_credential_then_keeps_it_in_a_cookie(console, browser):
    system, _ = console
    viewer = (await gen.credential(system.pg_dsn, role="viewer", holder="县医保局"))["Authorization"][7:]
    await asyncio.to_thread(browser.get, system.url("reconciliation", f"/api/console?region={gen.REGION}"))
    browser.find_element(By.ID, "token").send_keys("wrong-token")
    submit(browser, "login")
    assert "凭证无效" in browser.find_element(By.ID, "error").text
    browser.find_element(By.ID, "token").send_keys(viewer)
    submit(browser, "login")
    assert "运行监控台" in browser.find_element(By.TAG_NAME, "h1").text
    assert viewer not in browser.current_url
    cookie = browser.get_cookie("yibao_reconciliation")
    assert cookie and cookie["httpOnly"]


async def test_the_console_shows_the_api_numbers_and_leaves_a_screenshot(console, browser):
    system, season = console
    progress = (await api(system, "/api/progress"))["progress"]
    vulnerable = (await api(system, "/api/vulnerable"))["groups"]
    open_found = (await api(system, "/api/discrepancies"))["discrepancies"]

    url = system.url("reconciliation", f"/api/console?region={gen.REGION}&year={gen.YEAR}")
    await asyncio.to_thread(browser.get, url)
    assert "运行监控台" in browser.title or "运行监控台" in browser.find_element(By.TAG_NAME, "h1").text

    def text(css: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, css).text.strip()

    region = progress["region"]
    assert text("#total-baseline") == str(region["baseline_people"])
    assert text("#total-enrolled") == str(region["enrolled_people"])
    assert text("#total-paid") == str(region["paid_people"])
    assert text("#total-coverage") == percent(region["coverage_rate"])
    shown = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "#townships tbody tr"):
        cells = {c: row.find_element(By.CSS_SELECTOR, f"td.{c}").text for c in ("baseline", "enrolled", "paid",
                                                                                 "coverage", "target", "rank")}
        shown[row.get_attribute("data-township")] = cells
    assert shown == {t["township"]: {"baseline": str(t["baseline_people"]), "enrolled": str(t["enrolled_people"]),
                                     "paid": str(t["paid_people"]), "coverage": percent(t["coverage_rate"]),
                                     "target": str(t["target_people"]), "rank": str(t["rank"])}
                     for t in progress["townships"]}
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart svg rect.bar")
    assert sorted(b.get_attribute("data-township") for b in bars) == sorted(t["township"] for t in progress["townships"])
    groups = {row.get_attribute("data-category"): (row.find_element(By.CSS_SELECTOR, "td.people").text,
                                                   row.find_element(By.CSS_SELECTOR, "td.not-enrolled").text)
              for row in browser.find_elements(By.CSS_SELECTOR, "#vulnerable tbody tr")}
    assert groups == {g["category"]: (str(g["people"]), str(len(g["not_enrolled"]))) for g in vulnerable}
    assert text("#open-total") == str(len(open_found))
    flagged = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#awaiting li")]
    assert [a.setting for a in awaiting_figures(gen.REGION, gen.YEAR)] == [
        t[t.index("（") + 1:t.index("）")] for t in flagged], "each provisional figure of the pack is listed"
    kinds = sorted(r.get_attribute("data-kind") for r in browser.find_elements(By.CSS_SELECTOR, "#discrepancies tbody tr"))
    assert kinds == sorted(d["kind"] for d in open_found)
    page = browser.page_source
    assert all(p.person_id not in page for p in season.people), "the console must show IDs masked"

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "console.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


async def test_person_lookup_posts_the_id_and_shows_it_masked(console, browser):
    system, season = console
    person = next(p for p in season.people if p.state == "paid" and p.receipts)
    await asyncio.to_thread(browser.get, system.url("reconciliation", f"/api/console?region={gen.REGION}"))
    browser.find_element(By.ID, "person-id").send_keys(person.person_id)
    submit(browser, "lookup")
    assert browser.find_element(By.ID, "person").text == gen.mask(person.person_id)
    assert person.person_id not in browser.current_url and person.person_id not in browser.page_source
    numbers = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#receipts tbody td:first-child")]
    assert numbers == [r.receipt_no for r in person.receipts]
    browser.save_screenshot(str(SHOTS / "person.png"))


async def test_a_wrong_id_gets_a_reason_a_clerk_can_act_on(console, browser):
    system, season = console
    person = season.people[0].person_id
    wrong = person[:17] + ("1" if person[17] != "1" else "2")
    await asyncio.to_thread(browser.get, system.url("reconciliation", f"/api/console?region={gen.REGION}"))
    browser.find_element(By.ID, "person-id").send_keys(wrong)
    submit(browser, "lookup")
    assert "校验位" in browser.find_element(By.ID, "error").text


async def open_logged_in(browser: WebDriver, system: System, path: str) -> None:
    """Open a console page, logging in with a viewer's credential first if the browser has none yet."""
    await asyncio.to_thread(browser.get, system.url("reconciliation", path))
    if browser.find_elements(By.ID, "token"):
        viewer = (await gen.credential(system.pg_dsn, role="viewer", holder="乡镇医保站"))["Authorization"][7:]
        browser.find_element(By.ID, "token").send_keys(viewer)
        submit(browser, "login")
        await asyncio.to_thread(browser.get, system.url("reconciliation", path))


async def api_as_of(system: System, path: str, day: str) -> dict:
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        r = await client.get(system.url("reconciliation", path), params={"region": gen.REGION, "year": gen.YEAR,
                                                                          "day": day})
        r.raise_for_status()
        return r.json()


async def import_last_year(system: System, season: gen.Season) -> None:
    rows, _ = gen.last_year_rows(season)
    async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:  # the clerk's; sent again, it is recognised
        r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"),
                              content=gen.last_year_xlsx(rows))
        assert r.status_code == 200, r.text


async def test_the_forecast_page_draws_the_season_and_leaves_a_screenshot(console, browser):
    system, season = console
    await import_last_year(system, season)
    await open_logged_in(browser, system, f"/api/console?region={gen.REGION}&year={gen.YEAR}")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#season-pages a")]
    assert [link.split("?")[0].rsplit("/", 1)[-1] for link in links] == ["forecast", "not-renewed"]
    await asyncio.to_thread(browser.get, system.url(
        "reconciliation", f"/api/console/forecast?region={gen.REGION}&year={gen.YEAR}&day=2024-11-10"))
    chart = browser.find_element(By.CSS_SELECTOR, "#chart svg.season-chart")
    for mark in ("polyline.actual", "polyline.forecast", "polygon.band", "line.target", "polyline.last-year"):
        assert chart.find_elements(By.CSS_SELECTOR, mark), mark
    answer = await api_as_of(system, "/api/forecast", "2024-11-10")
    region = next(p for p in answer["places"] if p["township"] is None)
    assert browser.find_element(By.ID, "so-far").text == str(region["enrolled_so_far"])
    assert browser.find_element(By.ID, "final").text == f"{region['forecast']:,.0f}"
    towns = [r.get_attribute("data-township") for r in browser.find_elements(By.CSS_SELECTOR, "#forecast-townships tbody tr")]
    assert towns == [""] + sorted(p["township"] for p in answer["places"] if p["level"] == "township")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / "forecast.png"))
    assert (SHOTS / "forecast.png").stat().st_size > 10_000


async def test_the_not_renewed_page_lists_each_village_masked_and_leaves_a_screenshot(console, browser):
    system, season = console
    await import_last_year(system, season)
    await open_logged_in(browser, system, f"/api/console/not-renewed?region={gen.REGION}&year={gen.YEAR}&day=2024-11-10")
    answer = await api_as_of(system, "/api/not-renewed", "2024-11-10")
    assert browser.find_element(By.ID, "listed-total").text == str(answer["people"])
    sections = browser.find_elements(By.CSS_SELECTOR, "section.village")
    assert [(s.get_attribute("data-township"), s.get_attribute("data-village")) for s in sections] == [
        (v["township"], v["village"]) for v in answer["villages"]]
    page = browser.page_source
    assert all(p.person_id not in page for p in season.people), "the console must show IDs masked"
    assert browser.find_element(By.ID, "export").get_attribute("href").endswith("/api/not-renewed.xlsx?region=340321&year=2025&day=2024-11-10")
    browser.save_screenshot(str(SHOTS / "not-renewed.png"))
    assert (SHOTS / "not-renewed.png").stat().st_size > 10_000
