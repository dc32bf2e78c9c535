"""A reconciliation run for one region and business day: load, match, record, publish — one transaction.

Runs of one region-year never overlap (a transaction-level advisory lock), so a
scheduled run and an on-demand one cannot interleave. New discrepancies go to the
outbox in the same transaction as the rows that record them.
"""
from __future__ import annotations

import gc
import time
import zlib
from collections import Counter
from datetime import date, datetime, timedelta
from uuid import uuid5

import asyncpg

from services.reconciliation import store
from services.reconciliation.domain.discrepancies import Limits, discrepancy_id, fingerprint, reconcile
from services.reconciliation.domain.progress import village_rows
from services.reconciliation.settings import Settings
from shared import outbox
from shared.logging import get_logger
from shared.messages import DiscrepancyFound
from shared.outbox import Outgoing
from shared.policy import PolicyError, load_pack
from shared.resident_id import mask, person_key
from shared.topics import DISCREPANCY_FOUND

log = get_logger(__name__)


def limits_for(settings: Settings, region: str, year: int) -> Limits:
    try:
        period = load_pack(region, year).collection_period
        window: tuple[date, date] | None = (period.start, period.end)
    except PolicyError:
        window = None  # no pack for the region-year: any certified status of the category counts
    return Limits(settlement_lag_days=settings.settlement_lag_days,
                  agent_deposit_days=settings.deposit_days(region), status_window=window)


def week_of(day: date) -> date:
    """The Monday of `day`'s week: the key of the weekly snapshot."""
    return day - timedelta(days=day.weekday())


async def run_reconciliation(conn: asyncpg.Connection, settings: Settings, *, region: str, year: int, day: date,
                             trigger: str, now: datetime) -> dict:
    """Run, record and publish; return the run's summary (ids, counts per kind, fingerprint, timings)."""
    timings: dict[str, float] = {}
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(f"reconcile:{region}:{year}".encode()))
        t0 = time.perf_counter()
        # A county's season is millions of rows that all live until the run ends: the cyclic garbage
        # collector would walk them again and again while they are built (none of them form cycles).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            season = await store.load_season(conn, region, year, settings.timezone)
            timings["load_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            found = reconcile(season, day, limits_for(settings, region, year))
            timings["match_s"] = time.perf_counter() - t1
        finally:
            if gc_was_on:
                gc.enable()
        counts = dict(sorted(Counter(str(x.kind) for x in found).items()))
        print_ = fingerprint(region, year, found)
        t2 = time.perf_counter()
        run_id, new = await store.save_run(conn, region=region, year=year, day=day, trigger=trigger, started_at=now,
                                           finished_at=now + timedelta(seconds=time.perf_counter() - t0), found=found, counts=counts, fingerprint=print_)
        townships = {r["id"]: r["township"] for r in await conn.fetch(
            "SELECT id, township FROM discrepancy WHERE id = ANY($1::uuid[])", list(new))} if new else {}
        events = []
        for x in found:
            xid = discrepancy_id(region, year, x.kind, x.subject)
            if xid not in new:
                continue
            events.append(Outgoing(DISCREPANCY_FOUND.name, person_key(x.person_id) if x.person_id else x.subject,
                                   DiscrepancyFound(
                message_id=uuid5(xid, "found"), occurred_at=now, discrepancy_id=xid, region=region, year=year,
                kind=str(x.kind), person_key=person_key(x.person_id) if x.person_id else None,
                person_masked=mask(x.person_id) if x.person_id else None, receipt_no=x.receipt_no,
                amount_fen=x.amount_fen, detail=x.detail, township=townships.get(xid), run_day=day)))
        await outbox.add(conn, events, topic_prefix=settings.topic_prefix, schema="reconciliation")
        await store.save_snapshot(conn, region, year, week_of(day), await store.place_counts(conn, region, year), now)
        timings["save_s"] = time.perf_counter() - t2
    log.info("reconciliation run", region=region, year=year, day=str(day), found=len(found), new=len(new),
             **{k: round(v, 3) for k, v in timings.items()})
    return {"run_id": run_id, "region": region, "year": year, "day": day.isoformat(), "trigger": trigger,
            "receipts": len(season.receipts), "found": len(found), "new": len(new), "counts": counts,
            "fingerprint": print_, "timings": {k: round(v, 3) for k, v in timings.items()}}


async def take_snapshot(conn: asyncpg.Connection, region: str, year: int, day: date, now: datetime) -> list[dict]:
    counts = await store.place_counts(conn, region, year)
    await store.save_snapshot(conn, region, year, week_of(day), counts, now)
    return village_rows(counts)
