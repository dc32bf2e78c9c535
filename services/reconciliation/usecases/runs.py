"""Use cases of a run: reconcile one region-year as of a business day, and the weekly progress snapshot.

A run holds the region-year's lock for its transaction, so a scheduled run and an
on-demand one never interleave; it loads the season, matches it (pure), records the
run and its findings, announces the discrepancies found for the first time
(`reconciliation.discrepancy-found`, written to the outbox with the rows) and rewrites
the current week's snapshot. Discrepancy ids and message ids derive from what was
found, so a repeated run publishes nothing new.
"""
from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import asyncpg

from services.reconciliation import store
from services.reconciliation.domain.discrepancies import Discrepancy, Limits, Season, fingerprint, reconcile
from services.reconciliation.domain.progress import village_rows
from services.reconciliation.settings import Settings
from services.reconciliation.usecases.reports import collection_window
from shared.logging import get_logger
from shared.messages import DiscrepancyFound
from shared.resident_id import mask, person_key
from shared.topics import DISCREPANCY_FOUND
from shared.uow import UnitOfWork

log = get_logger(__name__)


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


@dataclass(frozen=True)
class Findings:
    """What matching a season found, with the counts per kind and the answer's fingerprint."""

    found: list[Discrepancy]
    counts: dict[str, int]
    fingerprint: str

    @classmethod
    def of(cls, region: str, year: int, found: list[Discrepancy]) -> Findings:
        return cls(found, dict(sorted(Counter(str(x.kind) for x in found).items())), fingerprint(region, year, found))


async def run_reconciliation(uow: UnitOfWork, settings: Settings, *, region: str, year: int | None = None,
                             day: date | None = None, trigger: str) -> dict[str, Any]:
    """Run, record and announce; return the run's summary (ids, counts per kind, fingerprint, timings).

    `year` defaults to the campaign year, `day` to today in the service's time zone."""
    year = year or settings.campaign_year
    day = day or business_day(settings, uow.now)
    await store.lock_region_year(uow.conn, region, year)
    started = time.perf_counter()
    season, findings, timings = await _load_and_match(uow.conn, settings, region, year, day)
    saving = time.perf_counter()
    run_id, new = await store.save_run(
        uow.conn, region=region, year=year, day=day, trigger=trigger, started_at=uow.now,
        finished_at=uow.now + timedelta(seconds=time.perf_counter() - started), found=findings.found,
        counts=findings.counts, fingerprint=findings.fingerprint)
    announce_new(uow, region, year, day, findings.found, new, await store.townships_of(uow.conn, new))
    await _save_snapshot(uow, region, year, day)
    timings["save_s"] = round(time.perf_counter() - saving, 3)

    async def logged() -> None:
        log.info("reconciliation run", region=region, year=year, day=str(day), found=len(findings.found), new=len(new),
                 **timings)

    uow.after_commit(logged)
    return {"run_id": run_id, "region": region, "year": year, "day": day.isoformat(), "trigger": trigger,
            "receipts": len(season.receipts), "found": len(findings.found), "new": len(new), "counts": findings.counts,
            "fingerprint": findings.fingerprint, "timings": timings}


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """A county's season is millions of rows that all live until the run ends: the cyclic garbage collector
    would walk them again and again while they are built (none of them form cycles)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


async def _load_and_match(conn: asyncpg.Connection, settings: Settings, region: str, year: int,
                          day: date) -> tuple[Season, Findings, dict[str, float]]:
    with _without_cyclic_gc():
        loading = time.perf_counter()
        season = await store.load_season(conn, region, year, settings.timezone)
        matching = time.perf_counter()
        found = reconcile(season, day, limits_for(settings, region, year))
        matched = time.perf_counter()
    return season, Findings.of(region, year, found), {"load_s": round(matching - loading, 3),
                                                      "match_s": round(matched - matching, 3)}


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
    counts = await store.place_counts(uow.conn, region, year)
    await store.save_snapshot(uow.conn, region, year, week_of(day), counts, uow.now)
    return village_rows(counts)


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
