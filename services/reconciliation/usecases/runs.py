"""Use cases of a run: reconcile one region-year as of a business day, and the weekly progress snapshot.

A run holds the region-year's lock for its transaction, so a scheduled run and an
on-demand one never interleave. It reads the season a part at a time (a range of
person IDs holding about `Settings.run_part_rows` rows of each table), matches the
part (pure), records its findings and announces the discrepancies found for the
first time (`reconciliation.discrepancy-found`, written to the outbox with the rows)
before it reads the next: memory holds one part, whatever the region's size. The
lines no part owns (settlement lines naming no receipt of the season, the banks' day
totals) are checked once, after the parts. Then the run's figures, and the current
week's snapshot counted in SQL. Discrepancy ids and message ids derive from what was
found, so a repeated run publishes nothing new, however the season was cut.
"""
from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from services.reconciliation import store
from services.reconciliation.domain.discrepancies import (
    DayTotal,
    Discrepancy,
    Limits,
    day_total_differences,
    match_part,
    settled_without_receipt,
)
from services.reconciliation.domain.progress import village_rows
from services.reconciliation.settings import Settings
from services.reconciliation.usecases.reports import collection_window
from shared.logging import get_logger
from shared.messages import DiscrepancyFound
from shared.resident_id import mask, person_key
from shared.topics import DISCREPANCY_FOUND
from shared.uow import UnitOfWork

log = get_logger(__name__)
SAVE_BATCH = 5_000  # discrepancies written (and announced) per statement


def business_day(settings: Settings, now: datetime) -> date:
    """The local date of `now` in the service's time zone: the day a run or snapshot is of by default."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def week_of(day: date) -> date:
    """The Monday of `day`'s week: the key of the weekly snapshot."""
    return day - timedelta(days=day.weekday())


def limits_for(settings: Settings, region: str, year: int) -> Limits:
    """The region's rules for a run; without a policy pack any certified status of the category counts."""
    return Limits(settlement_lag_days=settings.settlement_lag_days, agent_deposit_days=settings.deposit_days(region),
                  status_window=collection_window(region, year))


@dataclass
class Tally:
    """What a run has found so far (counts per kind, how many, how many new) and where its time went."""

    counts: Counter[str] = field(default_factory=Counter)
    found: int = 0
    new: int = 0
    parts: int = 0
    timings: Counter[str] = field(default_factory=Counter)

    def took(self, stage: str, since: float) -> float:
        """Add the time since `since` to `stage`; return now."""
        now = time.perf_counter()
        self.timings[stage] += now - since
        return now


@dataclass
class _Run:
    uow: UnitOfWork
    region: str
    year: int
    day: date
    id: int
    tally: Tally = field(default_factory=Tally)

    async def record(self, found: Sequence[Discrepancy]) -> None:
        """Save findings in batches, announcing the new ones; the outbox is written batch by batch."""
        since = time.perf_counter()
        for i in range(0, len(found), SAVE_BATCH):
            batch = found[i:i + SAVE_BATCH]
            new = await store.save_found(self.uow.conn, run_id=self.id, region=self.region, year=self.year,
                                         found=batch, now=self.uow.now)
            announce_new(self.uow, self.region, self.year, self.day, batch, set(new), new)
            await self.uow.flush()
            self.tally.counts.update(str(x.kind) for x in batch)
            self.tally.found += len(batch)
            self.tally.new += len(new)
        self.tally.took("save_s", since)


async def run_reconciliation(uow: UnitOfWork, settings: Settings, *, region: str, year: int | None = None,
                             day: date | None = None, trigger: str) -> dict[str, Any]:
    """Run, record and announce; return the run's summary (ids, counts per kind, fingerprint, timings).

    `year` defaults to the campaign year, `day` to today in the service's time zone."""
    year = year or settings.campaign_year
    day = day or business_day(settings, uow.now)
    await store.lock_region_year(uow.conn, region, year)
    started = time.perf_counter()
    run = _Run(uow, region, year, day, await store.start_run(uow.conn, region=region, year=year, day=day,
                                                             trigger=trigger, started_at=uow.now))
    with _without_cyclic_gc():
        await _match_parts(run, settings, limits_for(settings, region, year))
    since = time.perf_counter()
    tally = run.tally
    counts = dict(sorted(tally.counts.items()))
    fingerprint = await store.finish_run(uow.conn, run_id=run.id, region=region, year=year, counts=counts,
                                         found=tally.found, new=tally.new,
                                         finished_at=uow.now + timedelta(seconds=since - started))
    since = tally.took("save_s", since)
    await _save_snapshot(uow, region, year, day)
    tally.took("snapshot_s", since)
    timings = {stage: round(tally.timings[stage], 3) for stage in ("load_s", "match_s", "save_s", "snapshot_s")}

    async def logged() -> None:
        log.info("reconciliation run", region=region, year=year, day=str(day), found=tally.found, new=tally.new,
                 parts=tally.parts, **timings)

    uow.after_commit(logged)
    return {"run_id": run.id, "region": region, "year": year, "day": day.isoformat(), "trigger": trigger,
            "parts": tally.parts, "found": tally.found, "new": tally.new, "counts": counts,
            "fingerprint": fingerprint, "timings": timings}


async def _match_parts(run: _Run, settings: Settings, limits: Limits) -> None:
    """Each part read, matched and saved in turn; then the lines no part owns, and the day totals."""
    conn = run.uow.conn
    totals: dict[tuple[str, date], DayTotal] = await store.day_totals(conn, run.region)
    expected: Counter[tuple[str, date]] = Counter()
    async for lo, hi in store.part_bounds(conn, run.region, run.year, settings.run_part_rows):
        since = time.perf_counter()
        part = await store.load_part(conn, run.region, run.year, settings.timezone, lo, hi)
        since = run.tally.took("load_s", since)
        matched = match_part(part, run.day, limits, totals)
        run.tally.took("match_s", since)
        del part  # freed before the next part is read
        expected.update(matched.expected)
        run.tally.parts += 1
        await run.record(matched.found)
    async for lines in store.lines_without_receipt(conn, run.region, run.year, SAVE_BATCH):
        await run.record(settled_without_receipt(lines))
    await run.record(day_total_differences(totals, expected))


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """A part is tens of thousands of rows that live until it is matched: the cyclic garbage collector would
    walk them again and again while they are built (none of them form cycles; reference counting frees each
    part when the next is read)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def announce_new(uow: UnitOfWork, region: str, year: int, day: date, found: Sequence[Discrepancy], new: set[UUID],
                 townships: Mapping[UUID, str | None]) -> None:
    """Publish `reconciliation.discrepancy-found` for each discrepancy found for the first time (id in `new`),
    keyed by the person (else the subject), its message id derived from the discrepancy."""
    for x in found:
        xid = x.id(region, year)
        if xid not in new:
            continue
        key = person_key(x.person_id) if x.person_id else None
        uow.publish(DISCREPANCY_FOUND.name, key or x.subject, DiscrepancyFound(
            message_id=uuid5(xid, "found"), occurred_at=uow.now, discrepancy_id=xid, region=region, year=year,
            kind=str(x.kind), person_key=key, person_masked=mask(x.person_id) if x.person_id else None,
            receipt_no=x.receipt_no, amount_fen=x.amount_fen, detail=x.detail, township=townships.get(xid),
            run_day=day))


async def _save_snapshot(uow: UnitOfWork, region: str, year: int, day: date) -> list[dict[str, Any]]:
    return village_rows(await store.save_snapshot(uow.conn, region, year, week_of(day), uow.now))


async def take_snapshot(uow: UnitOfWork, settings: Settings, *, region: str, year: int,
                        day: date | None = None) -> list[dict[str, Any]]:
    """Rewrite the weekly progress snapshot of `day`'s week (default: today); return the villages' figures."""
    return await _save_snapshot(uow, region, year, day or business_day(settings, uow.now))


async def regions_to_reconcile(uow: UnitOfWork, year: int) -> list[str]:
    """The regions with receipts, enrollments or agents' cash for the year: the daily run's list."""
    return await store.regions_with_data(uow.conn, year)


async def list_runs(uow: UnitOfWork, region: str, year: int, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs of the region-year, newest first."""
    return [{"run_id": r["id"], "day": r["day"].isoformat(), "trigger": r["trigger"], "found": r["found"],
             "new": r["new"], "counts": r["counts"], "fingerprint": r["fingerprint"],
             "finished_at": r["finished_at"].isoformat()} for r in await store.runs(uow.conn, region, year, limit)]
