"""The console's policy page in a real headless browser (Debian's chromium through chromedriver): two packs
compared (政策包对比), leaving a screenshot under artifacts/console/.

A real reconciliation service runs on a fresh database; the page must show what shared/policy/diff.py
answers, behind the same login as the other pages.
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
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from shared.policy import load_pack
from shared.policy.diff import diff_packs, pack_named
from tests.e2e import reconciliation_season as gen
from tests.e2e.test_console_browser import SHOTS, submit
from tests.support.system import System, create_system, drop_system
from tests.support.whatif_population import HQ, HY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def console(servers) -> AsyncIterator[tuple[System, dict]]:
    system = await create_system(servers, ROOT / "artifacts" / "e2e", create_topics=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_SCHEDULE_ENABLED", "false")
        try:
            system.start("reconciliation")
            await system.wait_healthy(("reconciliation",))
            tokens = {HY: (await gen.credential(system.pg_dsn, role="viewer", region=HY, holder="怀远县医保局"))["Authorization"][7:],
                      HQ: (await gen.credential(system.pg_dsn, role="viewer", region=HQ, holder="霍邱县医保局"))["Authorization"][7:]}
            yield system, tokens
        finally:
            await drop_system(system)



async def log_in(browser: WebDriver, system: System, token: str, path: str) -> None:
    """Open `path`, which without a credential is the login form, log in, and open `path` again."""
    browser.delete_all_cookies()
    await asyncio.to_thread(browser.get, system.url("reconciliation", path))
    browser.find_element(By.ID, "token").send_keys(token)
    submit(browser, "login")
    await asyncio.to_thread(browser.get, system.url("reconciliation", path))


def cells(browser: WebDriver, row_css: str, *classes: str) -> dict[str, tuple[str, ...]]:
    return {row.get_attribute("data-setting"): tuple(row.find_element(By.CSS_SELECTOR, f"td.{c}").text for c in classes)
            for row in browser.find_elements(By.CSS_SELECTOR, row_css)}


async def test_the_pack_diff_page_shows_the_same_rows_as_the_diff_and_leaves_a_screenshot(console, browser):
    system, tokens = console
    await log_in(browser, system, tokens[HY], "/api/console/packs?a=340321-2024&b=340321-2025")
    found = diff_packs(pack_named("340321-2024"), pack_named("340321-2025"))
    assert browser.find_element(By.ID, "diff-count").text == str(len(found.rows))
    shown = cells(browser, "#diff tbody tr", "left", "right", "change")
    assert list(shown) == [r.setting for r in found.rows]
    assert shown["money.individual_contribution"] == ("380元", "400元", "+20.00")
    assert shown["waiting.fixed_months"][0].startswith("本包未设待遇等待期")
    cites = browser.find_element(By.CSS_SELECTOR, "tr[data-setting='money.individual_contribution'] td.cites").text
    assert cites == load_pack("340321", 2024).money.source
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / "pack-diff.png"))

    Select(browser.find_element(By.ID, "pack-a")).select_by_value("341522-2025")
    Select(browser.find_element(By.ID, "pack-b")).select_by_value("610900-2025")
    submit(browser, "compare")
    regions = diff_packs(pack_named("341522-2025"), pack_named("610900-2025"))
    shown = cells(browser, "#diff tbody tr", "left", "right", "change")
    assert list(shown) == [r.setting for r in regions.rows]
    assert shown["subsidies.minimum_living.amount"] == ("360元", "200元", "-160.00")
    assert "341522" in browser.current_url and "610900" in browser.current_url
    async with httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {tokens[HY]}"}) as client:
        sheet = await client.get(system.url("reconciliation", "/api/console/packs.xlsx"),
                                 params={"a": "341522-2025", "b": "610900-2025"})
    assert sheet.status_code == 200
    assert load_workbook(io.BytesIO(sheet.content))["政策包差异"].max_row == len(regions.rows) + 1

