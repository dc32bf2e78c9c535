"""The season's end on the real stack (issue 17, items 1 and 2): last year's list imported, the 未续保 list per
village, and the season-end forecast with its chart.

The reconciliation service runs as a real process on Kafka and PostgreSQL and is given a generated season
(tests/e2e/reconciliation_season.py) as the other services would publish it; a clerk imports last year's
list as the county exports it (XLSX over HTTP; the same list as GB18030 CSV through `yibao reconcile
import-last-year`). Every expectation is counted from the generated people, not from the service's SQL.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.e2e import reconciliation_season as gen
from tests.e2e.test_reconciliation_season import load_season
from tests.support.system import System, create_system, drop_system

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2024, 11, 10)  # 71 of the 122 days of 怀远县's collection period (policy pack 340321-2025)
HEADERS: dict[str, str] = {}
CLI = ("-c", "from services.reconciliation.cli import app; app()")


@pytest.fixture(scope="module")
async def season(servers) -> AsyncIterator[tuple[System, gen.Season, set[str], dict]]:
    system = await create_system(servers, ROOT / "artifacts" / "e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_SCHEDULE_ENABLED", "false")
        try:
            system.start("reconciliation")
            await system.wait_healthy(("reconciliation",))
            generated = gen.generate(seed=7, people=240)
            HEADERS.update(await gen.credential(system.pg_dsn))
            rows, taken = gen.last_year_rows(generated)
            async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
                await load_season(system, generated, client)
                r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"),
                                      params={"name": "2024年度参保名单.xlsx"}, content=gen.last_year_xlsx(rows))
                assert r.status_code == 200, r.text
            yield system, generated, taken, r.json()
        finally:
            await drop_system(system)


async def get(system: System, path: str, headers: dict[str, str] | None = None, **params) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60, headers=HEADERS if headers is None else headers) as client:
        return await client.get(system.url("reconciliation", path),
                                params={"region": gen.REGION, "year": gen.YEAR, "day": AS_OF.isoformat(), **params})


def expected_list(generated: gen.Season, taken: set[str]) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """(masked ID, name) -> (township, village, vulnerable) of everyone the list must hold (a masked ID alone is
    not unique: it keeps the region and the last two characters)."""
    return {(gen.mask(p.person_id), p.name): (p.township, p.village, p.category is not None) for p in generated.people
            if not gen.enrolled(p) and p.state != "ended" and (p.person_id in taken or p.category is not None)}


async def test_the_import_counts_every_row_and_keeps_each_refusal(season):
    _, _, taken, summary = season
    assert summary["accepted"] == len(taken) and summary["rejected"] == 3
    assert summary["lines_in"] == summary["accepted"] + summary["rejected"]
    reasons = [r["reason"] for r in summary["rejections"]]
    assert "身份证号被 Excel 存成了数字" in reasons[0]
    assert "参保年度为2023" in reasons[1] and "同一人" in reasons[2]
    assert summary["not_people"] == [f"第{len(taken) + 6}行"], "the 合计 row is not a person"


async def test_the_same_list_as_gb18030_csv_through_the_command_line(season):
    system, generated, taken, _ = season
    rows, _ = gen.last_year_rows(generated)
    path = ROOT / "artifacts" / "e2e" / f"{system.tag}-last-year.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gen.last_year_csv(rows))
    env = {**os.environ, "YIBAO_PG_DSN": system.pg_dsn}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, *CLI, "import-last-year", str(path), "--region",
                                                    gen.REGION], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["accepted"], answer["year"], answer["format"]) == (len(taken), gen.YEAR - 1, "csv")
    again = await asyncio.to_thread(subprocess.run, [sys.executable, *CLI, "import-last-year", str(path), "--region",
                                                     gen.REGION], capture_output=True, text=True, env=env, timeout=120)
    assert json.loads(again.stdout)["already_imported"] is True
    bad = path.with_name(f"{system.tag}-broken.xlsx")
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    refused = await asyncio.to_thread(subprocess.run, [sys.executable, *CLI, "import-last-year", str(bad), "--region",
                                                       gen.REGION], capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and "无法打开这个 Excel 文件" in refused.stderr


async def test_importing_needs_a_clerk_and_reading_a_credential_of_the_region(season):
    system, *_ = season
    viewer = await gen.credential(system.pg_dsn, role="viewer", holder="乡镇医保站")
    other = await gen.credential(system.pg_dsn, role="clerk", region="341522", holder="霍邱县对账员")
    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"), headers=viewer,
                              content=b"x")
        assert r.status_code == 403
        r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"), content=b"x")
        assert r.status_code == 401
        r = await client.post(system.url("reconciliation", "/api/imports/prior-enrollment"), headers=HEADERS,
                              content="姓名\n张三\n".encode())
        assert r.status_code == 422 and "找不到身份证号列" in r.json()["detail"]
    for path in ("/api/not-renewed", "/api/not-renewed.xlsx", "/api/forecast"):
        assert (await get(system, path, headers=other)).status_code == 403
        assert (await get(system, path, headers=viewer)).status_code == 200


async def test_the_not_renewed_list_holds_exactly_who_it_should_ranked_per_village(season):
    system, generated, taken, _ = season
    r = await get(system, "/api/not-renewed")
    assert r.status_code == 200, r.text
    assert all(p.person_id not in r.text for p in generated.people), "IDs masked"
    answer = r.json()
    listed = {(p["person"], p["name"]): (p["township"], p["village"], p["vulnerable"]) for v in answer["villages"]
              for p in v["people_listed"]}
    assert listed == expected_list(generated, taken)
    for v in answer["villages"]:
        people = v["people_listed"]
        flags = [p["vulnerable"] for p in people]
        assert flags == sorted(flags, reverse=True), "vulnerable first"
        assert all(p["last_day"] == "2024-12-31" and p["days_left"] == 51 for p in people), "怀远县: to 31 December"
        assert v["people"] == len(people) and v["vulnerable"] == sum(flags)


async def test_the_workbook_has_one_sheet_per_village_ids_masked(season):
    system, generated, taken, _ = season
    r = await get(system, "/api/not-renewed.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    expected = expected_list(generated, taken)
    villages = {(t, v) for t, v, _ in expected.values()}
    assert len(book.sheetnames) == len(villages)
    found = {}
    for ws in book.worksheets:
        for row in list(ws.iter_rows(values_only=True))[1:]:
            found[(row[3], row[4])] = (row[1], row[2].lstrip("'"))
    assert found == {m: (t, v) for m, (t, v, _) in expected.items()}
    assert all(p.person_id not in repr(list(ws.values)) for ws in book.worksheets for p in generated.people)


def so_far(generated: gen.Season, day: date) -> dict[tuple[str, str], int]:
    """Enrolled by the end of `day`, per village: the first payment's local date, or none (fully subsidised)."""
    out: dict[tuple[str, str], int] = {}
    for p in generated.people:
        paid = sorted((r.paid_at + timedelta(hours=8)).date() for r in p.receipts if r.amount_fen > 0)
        if gen.enrolled(p) and (not paid or paid[0] <= day):
            out[(p.township, p.village)] = out.get((p.township, p.village), 0) + 1
    return out


async def test_the_forecast_of_every_place_from_its_curve_and_last_years(season):
    system, generated, *_ = season
    r = await get(system, "/api/forecast")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["period"] == {"start": "2024-09-01", "end": "2024-12-31", "days": 122}
    assert answer["last_year"]["people"] > 0 and answer["last_year"]["period"]["start"] == "2023-09-01"
    counted = so_far(generated, AS_OF)
    places = {(p["township"], p["village"]): p for p in answer["places"]}
    for (township, village), n in counted.items():
        assert places[(township, village)]["enrolled_so_far"] == n, (township, village)
    region = places[(None, None)]
    assert region["enrolled_so_far"] == sum(counted.values()) and region["method"] == "last_year_shape"
    assert region["target"] == 200 and places[("荆山镇", None)]["target"] == 60
    for p in answer["places"]:
        assert p["enrolled_so_far"] <= p["forecast"] <= p["baseline"]
        if p["low"] is not None:
            assert p["low"] <= p["forecast"] <= p["high"]
    too_early = await get(system, "/api/forecast", day="2024-08-01")
    assert too_early.status_code == 422 and "尚未开始" in too_early.json()["detail"]


async def test_the_console_pages_render_the_chart_and_the_list(season):
    system, generated, taken, _ = season
    r = await get(system, "/api/console/forecast", township="榴城镇")
    assert r.status_code == 200, r.text
    page = r.text
    for mark in ('class="season-chart"', 'polyline class="actual"', 'polyline class="forecast"', 'polygon class="band"',
                 'line class="target"', 'polyline class="last-year"'):
        assert mark in page, mark
    assert 'id="forecast-villages"' in page and "城关村" in page
    r = await get(system, "/api/console/not-renewed")
    assert r.status_code == 200, r.text
    assert f'<span id="listed-total">{len(expected_list(generated, taken))}</span>' in r.text
    assert all(p.person_id not in r.text for p in generated.people)
    assert (await get(system, "/api/console/not-renewed", headers={})).text.count('id="token"') == 1, "login first"
