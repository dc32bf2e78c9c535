"""The daily run: at `schedule_at` local time, reconcile every region with data for the campaign year.

An asyncio task started with the service (the API router's lifespan). Two replicas may
both wake: the run's lock serialises them and the second run finds the same answer
(ids are deterministic), so nothing is published twice. Each region is its own unit of work.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.reconciliation import usecases
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


async def run_all_regions(runtime: Runtime) -> list[dict[str, Any]]:
    """One run per region with data, all of the same business day."""
    settings = cast(Settings, runtime.settings)
    async with runtime.unit_of_work() as uow:
        now = uow.now
        regions = await usecases.regions_to_reconcile(uow, settings.campaign_year)
    results = []
    for region in regions:
        async with runtime.unit_of_work(now=now) as uow:
            results.append(await usecases.run_reconciliation(uow, settings, region=region, trigger="schedule"))
    return results


async def daily(runtime: Runtime) -> None:
    settings = cast(Settings, runtime.settings)
    zone = ZoneInfo(settings.timezone)
    while True:
        wake = next_run(utcnow(), settings.schedule_at, zone)
        await asyncio.sleep(max(0.0, (wake - utcnow()).total_seconds()))
        try:
            await run_all_regions(runtime)
        except Exception as err:  # the next day's run tries again; the error is logged, not swallowed silently
            log.error("scheduled reconciliation failed", error=repr(err))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Keep the daily run going while the app serves (when `schedule_enabled`)."""
    runtime: Runtime = app.state.runtime
    enabled = cast(Settings, runtime.settings).schedule_enabled
    task = asyncio.create_task(daily(runtime), name="reconciliation-daily") if enabled else None
    try:
        yield
    finally:
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
