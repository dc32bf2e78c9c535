"""The daily run: its next wake-up, and started and stopped with the app; the console's live period; the inline chart."""
from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.reconciliation.api import router
from services.reconciliation.console import TEMPLATES, is_live
from services.reconciliation.domain.charts import coverage_bars
from services.reconciliation.scheduler import next_run
from services.reconciliation.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_next_run_is_today_at_the_local_time_or_tomorrow_once_it_passed():
    # 14:00 UTC is 22:00 in Beijing: 23:30 local is still ahead today
    assert next_run(datetime(2024, 11, 5, 14, 0, tzinfo=UTC), "23:30", SHANGHAI) == \
        datetime(2024, 11, 5, 15, 30, tzinfo=UTC)
    # 16:00 UTC is 00:00 the next day in Beijing: the run of that local day is at 15:30 UTC the same UTC day
    assert next_run(datetime(2024, 11, 5, 16, 0, tzinfo=UTC), "23:30", SHANGHAI) == \
        datetime(2024, 11, 6, 15, 30, tzinfo=UTC)
    # exactly at the time: the next one, not this one again
    assert next_run(datetime(2024, 11, 5, 15, 30, tzinfo=UTC), "23:30", SHANGHAI) == \
        datetime(2024, 11, 6, 15, 30, tzinfo=UTC)


def test_the_console_is_live_only_during_the_collection_period():
    window = (date(2024, 9, 1), date(2024, 12, 31))
    assert is_live(window, date(2024, 9, 1)) and is_live(window, date(2024, 12, 31))
    assert not is_live(window, date(2025, 1, 1)) and not is_live(None, date(2024, 10, 1))


def test_the_page_refreshes_itself_when_live():
    page = TEMPLATES.get_template("base.html")
    assert 'http-equiv="refresh" content="60"' in page.render(live=True, refresh_s=60)
    assert "refresh" not in page.render(live=False, refresh_s=60)


def test_the_chart_escapes_names_and_has_one_bar_per_township():
    svg = coverage_bars([{"township": "<b>甲镇</b>", "coverage_rate": 0.5, "target_completion": 0.8},
                         {"township": "乙镇", "coverage_rate": None, "target_completion": None}])
    assert svg.count('class="bar"') == 2 and "<b>" not in svg and "&lt;b&gt;" in svg


def _daily_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "reconciliation-daily" and not t.done()]


async def test_the_daily_run_starts_with_the_app_and_stops_with_it():
    for enabled, expected in ((True, 1), (False, 0)):
        app = FastAPI()
        app.state.runtime = SimpleNamespace(settings=Settings(schedule_enabled=enabled))
        app.include_router(router, prefix="/api")
        async with app.router.lifespan_context(app):
            assert len(_daily_tasks()) == expected
        assert _daily_tasks() == []
