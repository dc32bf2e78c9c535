"""The city view's roll-up (services/reconciliation/usecases/city.py) on the real PostgreSQL: 安康市's season
(tests/support/city_season.py) stored by reconciliation's own use cases, then read back township → county →
city. Every township's figures must be the people's own (counted apart from the service), every county the
sum of its townships, the city the sum of its counties, nobody dropped or counted twice, another city's
county left out — and each county's overrides as the city pack (seed 004 L42) gives them, no more.
"""
from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook

from services.reconciliation import usecases
from services.reconciliation.domain.city import CITY_OWN, Figures
from services.reconciliation.usecases.city import NotACity, city_sheets, city_view
from services.reconciliation.usecases.imports import import_targets
from services.reconciliation.usecases.renewals import import_prior_enrollment, not_renewed
from shared.db import create_pool
from shared.migrate import ServiceSchema
from shared.regions import counties_of
from shared.sheets import workbook
from shared.uow import unit_of_work
from tests.support.city_season import CITY, DAY, NOW, OUTSIDER, YEAR, expected, last_year_csv, messages, residents, targets_csv
from tests.support.system import fresh_database

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator:
    people = residents()
    async with fresh_database(servers, "city", ServiceSchema("reconciliation", "reconciliation")) as dsn:
        pool = await create_pool(dsn, "reconciliation")
        try:
            events = messages(people)
            async with unit_of_work(pool, schema="reconciliation", topic_prefix="city.", now=NOW) as uow:
                await usecases.record_baseline(uow, events["population.baseline"])
                await usecases.record_statuses_changed(uow, events["identity.status-changed"])
                await usecases.record_enrollment_events(uow, events["enrollment.events"])
                await import_targets(uow, name="targets.csv", text=targets_csv())
            for code in sorted({p.code for p in people}):
                async with unit_of_work(pool, schema="reconciliation", topic_prefix="city.", now=NOW) as uow:
                    done = await import_prior_enrollment(uow, name=f"{code}.csv", content=last_year_csv(people, code),
                                                         region=code, year=YEAR - 1)
                    assert done["rejected"] == 0, done
            yield pool
        finally:
            await pool.close()


async def view_of(pool, city: str = CITY):
    async with unit_of_work(pool, schema="reconciliation", topic_prefix="city.", now=NOW) as uow:
        return await city_view(uow, city, YEAR, DAY)


def as_dict(f: Figures) -> dict[str, int | None]:
    return {"baseline": f.baseline_people, "enrolled": f.enrolled_people, "paid": f.paid_people,
            "paid_fen": f.paid_fen, "target": f.target_people, "listed": f.listed, "not_renewed": f.not_renewed,
            "vulnerable": f.vulnerable_not_enrolled}


def summed(rows) -> dict[str, int | None]:
    total = Figures()
    for f in rows:
        total.add(f)
    return as_dict(total)


async def test_each_township_shows_its_own_people_and_each_level_adds_up(pool):
    view = await view_of(pool)
    want = expected(residents())
    shown = {(c.code, t): as_dict(f) for c in view.counties for t, f in c.townships.items()}
    assert shown == want, "every township's figures are its people's, 紫阳县's and 白河县's 城关镇 apart"
    for county in view.counties:
        assert as_dict(county.figures) == summed(county.townships.values()), county.code
    assert as_dict(view.figures) == summed(c.figures for c in view.counties)
    people_of_city = [p for p in residents() if p.code != OUTSIDER]
    assert view.figures.baseline_people == len(people_of_city), "nobody dropped, nobody counted twice"
    assert view.figures.listed == sum(not p.enrolled and (p.last_year or p.minimum_living) for p in people_of_city)


async def test_the_counties_are_the_citys_in_use_and_any_code_that_holds_data(pool):
    view = await view_of(pool)
    codes = [c.code for c in view.counties]
    assert codes[0] == CITY and view.counties[0].name == CITY_OWN, "rows under the city's own code come first"
    assert set(codes[1:]) == set(counties_of(CITY, YEAR)) | {"610928"}
    assert "610981" in codes and OUTSIDER not in codes
    notes = {c.code: c.note for c in view.counties if c.note}
    assert list(notes) == ["610928"] and "2021年后停用" in notes["610928"]
    empty = [c for c in view.counties if not c.has_data]
    assert {c.code for c in empty} == set(counties_of(CITY, YEAR)) - {"610924", "610929", "610902"}
    assert all(as_dict(c.figures) == as_dict(Figures()) for c in empty)


async def test_the_lists_roll_up_as_each_countys_own_list(pool):
    view = await view_of(pool)
    async with unit_of_work(pool, schema="reconciliation", topic_prefix="city.", now=NOW) as uow:
        for county in view.counties:
            own = await not_renewed(uow, county.code, YEAR, DAY)
            assert [p.person for p in county.listed] == [p.person for p in own.listed], county.code
    assert all(p.person.count("*") >= 8 for c in view.counties for p in c.listed), "IDs masked"


async def test_overrides_are_the_packs_and_a_county_without_any_follows_the_city(pool):
    view = await view_of(pool)
    by_code = {c.code: c for c in view.counties}
    for code, name in (("610924", "紫阳县"), ("610929", "白河县")):
        rules = {o.setting: o for o in by_code[code].overrides}
        assert set(rules) == {f"counties.{code}.subsidies.minimum_living", f"counties.{code}.subsidies.poverty_monitoring"}
        rule = rules[f"counties.{code}.subsidies.minimum_living"]
        assert rule.city == "200元" and "第42行" in rule.cites
        assert rule.provisional and "未载金额" in rule.provisional and f"{name}医疗保障局" in rule.provisional
    assert all(not c.overrides for code, c in by_code.items() if code not in ("610924", "610929"))


async def test_the_workbook_holds_the_same_figures(pool):
    view = await view_of(pool)
    book = load_workbook(io.BytesIO(workbook(city_sheets(view))))
    assert book.sheetnames == ["市县汇总", "各县区乡镇", "县区特别规定", "未续保与应保未保名单"]
    summary = {(r[0].value, r[1].value): [c.value for c in r[3:]] for r in book["市县汇总"].iter_rows(min_row=2)}
    assert summary[("全市", CITY)][0] == view.figures.baseline_people
    assert summary[("县区", CITY)][0] == 3 and summary[("县区", "610924")][0] == 15  # 市本级; 紫阳县 9 + 6
    towns = [(r[0].value, r[2].value, r[3].value) for r in book["各县区乡镇"].iter_rows(min_row=2)]
    assert sum(baseline for *_, baseline in towns) == view.figures.baseline_people
    listed = list(book["未续保与应保未保名单"].iter_rows(min_row=2, values_only=True))
    assert len(listed) == view.figures.listed
    assert not {p.person_id for p in residents()} & {str(v) for row in listed for v in row}, "IDs masked"
    rules = list(book["县区特别规定"].iter_rows(min_row=2, values_only=True))
    assert ("610921", "汉阴县", "政策文件未给本县（区）单独标准：执行市级政策包", "", "", "", "") in [
        tuple("" if v is None else v for v in r) for r in rules]


async def test_a_county_or_a_county_pooled_region_has_no_city_view(pool):
    for code in ("610924", OUTSIDER):
        with pytest.raises(NotACity):
            await view_of(pool, code)
