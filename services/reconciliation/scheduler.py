"""The daily run: at `schedule_at` local time, reconcile every region with data for the campaign year.

An asyncio task started with the service. Two replicas may both wake: the run's
advisory lock serialises them and the second run finds the same answer (ids are
deterministic), so nothing is published twice.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.reconciliation import store
from services.reconciliation.runs import run_reconciliation
from services.reconciliation.settings import Settings
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.uow import utcnow

log = get_logger(__name__)


def next_run(now: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The next moment (aware, UTC) at local time `at` strictly after `now`."""
    hour, minute = (int(x) for x in at.split(":"))
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour, minute), zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), zone)
    return candidate.astimezone(now.tzinfo)


async def run_all_regions(runtime: Runtime, trigger: str = "schedule") -> list[dict]:
    settings: Settings = runtime.settings  # type: ignore[assignment]
    now = utcnow()
    day = now.astimezone(ZoneInfo(settings.timezone)).date()
    results = []
    async with runtime.pool.acquire() as conn:
        for region in await store.regions_with_data(conn, settings.campaign_year):
            results.append(await run_reconciliation(conn, settings, region=region, year=settings.campaign_year,
                                                    day=day, trigger=trigger, now=now))
    return results


async def daily(runtime: Runtime) -> None:
    settings: Settings = runtime.settings  # type: ignore[assignment]
    zone = ZoneInfo(settings.timezone)
    while True:
        wake = next_run(utcnow(), settings.schedule_at, zone)
        await asyncio.sleep(max(0.0, (wake - utcnow()).total_seconds()))
        try:
            await run_all_regions(runtime)
        except Exception as err:  # the next day's run tries again; the error is logged, not swallowed silently
            log.error("scheduled reconciliation failed", error=repr(err))
