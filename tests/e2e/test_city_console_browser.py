"""The city view of the console (市县汇总) in a real headless browser, on a real reconciliation service.

安康市's season (tests/support/city_season.py) is published on the topics reconciliation consumes, each county's
last-year list and targets imported by that county's own clerk; then a city credential opens the console, follows
its link to the city view, and must see the city, each county and its townships with the figures the people give
(counted apart from the service), the two counties' overrides of seed 004 L42 marked provisional and every
other county said to follow the city pack; no resident ID; a screenshot under artifacts/console/. The workbook
holds the same; a county's credential is refused the city view.
"""
from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from services.reconciliation.domain.city import NO_OVERRIDE
from shared.resident_id import person_key
from tests.e2e.reconciliation_season import credential
from tests.e2e.test_console_browser import submit
from tests.support.city_season import CITY, OUTSIDER, TARGETS, YEAR, expected, last_year_csv, messages, residents
from tests.support.kafka import produce, wait_consumed
from tests.support.system import System, create_system, drop_system

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "console"
CONSUMERS = {"population.baseline": "baseline", "identity.status-changed": "statuses", "enrollment.events": "enrollment"}
DAY = "2024-11-20"


@pytest.fixture(scope="module")
async def city(servers) -> AsyncIterator[tuple[System, dict[str, str]]]:
    system = await create_system(servers, ROOT / "artifacts" / "e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_SCHEDULE_ENABLED", "false")
        try:
            system.start("reconciliation")
            await system.wait_healthy(("reconciliation",))
            people = residents()
            for topic, events in messages(people).items():
                await produce(system.servers.kafka_bootstrap, system.topic(topic),
                              [(person_key(e.person_id).encode(), e.model_dump_json().encode()) for e in events])
            for topic, consumer in CONSUMERS.items():
                await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.reconciliation.{consumer}",
                                    system.topic(topic), timeout=60)
            await _county_imports(system, sorted({p.code for p in people}))
            viewer = (await credential(system.pg_dsn, role="viewer", region=CITY, holder="安康市医保局"))
            yield system, viewer
        finally:
            await drop_system(system)


async def _county_imports(system: System, codes: list[str]) -> None:
    """Each county's clerk hands in its own last-year list and township targets (imports are per credential)."""
    people = residents()
    async with httpx.AsyncClient(timeout=60) as client:
        for code in codes:
            clerk = await credential(system.pg_dsn, role="clerk", region=code, holder=f"{code}对账员")
            r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"), headers=clerk,
                                  params={"year": YEAR - 1, "name": f"{code}.csv"}, content=last_year_csv(people, code))
            assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
            mine = [(t, n) for (c, t), n in TARGETS.items() if c == code]
            if mine:
                text = "region,year,township,target_people\n" + "".join(f"{code},{YEAR},{t},{n}\n" for t, n in mine)
                r = await client.post(system.url("reconciliation", "/api/imports/targets"), headers=clerk,
                                      content=text.encode())
                assert r.status_code == 200, r.text


def percent(part: int, whole: int | None) -> str:
    return "—" if not whole else f"{round(part / whole, 4) * 100:.1f}%"


def figures_of(row) -> dict[str, str]:
    return {c: row.find_element(By.CSS_SELECTOR, f"td.{c}").text for c in
            ("baseline", "enrolled", "paid", "coverage", "target", "listed", "not-renewed", "vulnerable")}


def wanted(rows: list[dict]) -> dict[str, str]:
    add = {k: sum(r[k] for r in rows) for k in ("baseline", "enrolled", "paid", "listed", "not_renewed", "vulnerable")}
    targets = [r["target"] for r in rows if r["target"] is not None]
    return {"baseline": str(add["baseline"]), "enrolled": str(add["enrolled"]), "paid": str(add["paid"]),
            "coverage": percent(add["enrolled"], add["baseline"]), "target": str(sum(targets)) if targets else "—",
            "listed": str(add["listed"]), "not-renewed": str(add["not_renewed"]), "vulnerable": str(add["vulnerable"])}


async def test_the_city_view_shows_each_county_and_township_and_leaves_a_screenshot(city, browser):
    system, viewer = city
    await asyncio.to_thread(browser.get, system.url("reconciliation", f"/api/console?region={CITY}&year={YEAR}"))
    browser.find_element(By.ID, "token").send_keys(viewer["Authorization"][7:])
    submit(browser, "login")
    await asyncio.to_thread(browser.get, browser.find_element(By.ID, "city-link").get_attribute("href") + f"&day={DAY}")
    want = expected(residents())

    assert browser.find_element(By.ID, "city-baseline").text == str(sum(f["baseline"] for f in want.values()))
    assert figures_of(browser.find_element(By.ID, "city-total")) == wanted(list(want.values()))
    for row in browser.find_elements(By.CSS_SELECTOR, "#counties tbody tr"):
        code = row.get_attribute("data-county")
        mine = [f for (c, _), f in want.items() if c == code]
        if mine:
            assert figures_of(row) == wanted(mine), code
        else:
            assert figures_of(row)["baseline"] == "0" and "尚无数据" in row.text, code
    for (code, township), f in want.items():
        row = browser.find_element(By.CSS_SELECTOR, f"#townships-{code} tr[data-township='{township}']")
        assert figures_of(row) == wanted([f]), (code, township)
    shown = {r.get_attribute("data-county") for r in browser.find_elements(By.CSS_SELECTOR, "#counties tbody tr")}
    assert {"610981", "610928", CITY} <= shown and OUTSIDER not in shown

    overrides = browser.find_elements(By.CSS_SELECTOR, "#overrides tr.override")
    assert sorted({(r.get_attribute("data-county"), r.get_attribute("data-setting").rsplit(".", 1)[1]) for r in overrides}) \
        == [(c, s) for c in ("610924", "610929") for s in ("minimum_living", "poverty_monitoring")]
    ziyang = browser.find_element(By.CSS_SELECTOR, "#overrides tr[data-setting='counties.610924.subsidies.minimum_living']")
    assert "暂定" in ziyang.text and "未载金额" in ziyang.text and "待紫阳县医疗保障局填入" in ziyang.text
    plain = {r.get_attribute("data-county"): r.text for r in browser.find_elements(By.CSS_SELECTOR, "#overrides tr.no-override")}
    assert set(plain) == shown - {CITY, "610924", "610929"} and all(NO_OVERRIDE in t for t in plain.values())

    page = browser.page_source
    assert not [p for p in residents() if p.person_id in page], "no resident ID on the page"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "city.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


async def test_the_city_workbook_and_who_may_see_it(city):
    system, viewer = city
    county = await credential(system.pg_dsn, role="viewer", region="610924", holder="紫阳县医保局")
    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.get(system.url("reconciliation", "/api/console/city.xlsx"), headers=viewer,
                             params={"year": YEAR, "day": DAY})
        refused = await client.get(system.url("reconciliation", "/api/console/city"), headers=county)
        nobody = await client.get(system.url("reconciliation", "/api/console/city"))
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content))
    total = next(row for row in book["市县汇总"].iter_rows(min_row=2, values_only=True) if row[0] == "全市")
    want = expected(residents())
    assert total[3] == sum(f["baseline"] for f in want.values())
    listed = list(book["未续保与应保未保名单"].iter_rows(min_row=2, values_only=True))
    assert len(listed) == sum(f["listed"] for f in want.values())
    assert not {p.person_id for p in residents()} & {str(v) for row in listed for v in row}
    assert refused.status_code == 403 and "市县汇总需要安康市（610900）的凭证" in refused.text
    assert nobody.status_code == 401
