"""Reconciliation benchmark: a full run for one region over N receipts, at one size or several.

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.reconciliation_bench \
        [--receipts 1000000 5000000] [--part-rows N]

For each size, in turn:
1. A fresh database with every migration; reconciliation's tables filled by COPY (in a child
   process, so the figures below are the run's own) with a consistent season of N accepted
   receipts for N people (each booked by enrollment, assessed, settled by a bank; 1 in 20
   collected in cash by a village agent; 1 in 10 subsidised with a certified status; everyone
   on the population baseline, in 20 townships and 740 villages) and a few faults per thousand of
   each kind, so the run has discrepancies to write and publish; then VACUUM (ANALYZE), as autovacuum
   leaves tables written over a season (hint bits set: the first read after a bulk COPY rewrites every page).
2. Baseline, same data: reading the receipts the run reads (`SELECT … FROM receipt WHERE
   region AND year` through an asyncpg cursor, no matching), its time and peak memory.
3. The run: the `run_reconciliation` use case — the season read and matched part by part
   (`run_part_rows`), discrepancies recorded and announced in batches, the weekly snapshot
   counted in SQL — in one unit of work, as POST /api/runs does. Twice: the second run is the
   repeat (same fingerprint, nothing new).

Peak memory is the process's VmHWM, reset before each stage (/proc/self/clear_refs). Prints
receipts/s, the ratio to the baseline, the stage timings (load, match, save, snapshot) and peak
memory per size; JSON to artifacts/bench/reconciliation-<time>.json. Bounded by --timeout; the
machine may be shared with other work: say so with the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import re
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.reconciliation.settings import Settings
from services.reconciliation.usecases import run_reconciliation
from shared.migrate import migrate
from shared.resident_id import check_character
from shared.uow import unit_of_work

ROOT = Path(__file__).resolve().parents[2]
REGION, YEAR, DAY = "340321", 2025, date(2024, 12, 20)
TOWNS = [f"镇{t:02d}" for t in range(20)]
FAULT_EVERY = 1000  # one fault of each kind per this many receipts


def person(n: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=n // 900)
    first17 = f"{REGION}{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + check_character(first17)


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def fill(conn: asyncpg.Connection, n: int, seed: int) -> dict:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    file_id = await conn.fetchval(
        "INSERT INTO import_file (kind, name, sha256, lines_in, accepted, rejected, imported_at) "
        "VALUES ('bank_settlement', 'bench', 'bench', $1, $1, 0, $2) RETURNING id", n, now)
    agent_file = await conn.fetchval(
        "INSERT INTO import_file (kind, name, sha256, lines_in, accepted, rejected, imported_at) "
        "VALUES ('agent_deposit', 'bench', 'bench-agent', 0, 0, 0, $1) RETURNING id", now)
    receipts, bookings, dues, settle, agents, statuses, years, baseline = [], [], [], [], [], [], [], []
    sizes: dict[str, int] = defaultdict(int)
    low_line = json.dumps([{"category": "minimum_living", "amount_fen": 34000, "funding_source": "medical_assistance",
                            "mode": "net"}])
    for i in range(n):
        pid = person(i)
        town = TOWNS[i % len(TOWNS)]
        village = f"{town}村{i % 37:02d}"
        subsidised = i % 10 == 1
        due = 6000 if subsidised else 40000
        amount = due
        fault = i % FAULT_EVERY
        if fault == 7:
            amount = due - 2000                       # amount differs from the due
        paid_on = date(2024, 9, 1) + timedelta(days=rnd.randrange(100))
        channel = "village_agent" if i % 20 == 3 else rnd.choice(("wechat", "alipay", "bank", "app"))
        no = f"3340{i:014d}"
        receipts.append((no, pid, REGION, YEAR, amount, channel, "AG" + str(i % 300) if channel == "village_agent"
                         else None, datetime(paid_on.year, paid_on.month, paid_on.day, 2, tzinfo=UTC), None))
        if fault != 11:                               # 11: collected, never recorded
            bookings.append((no, pid, YEAR, REGION, amount))
        if fault == 13:                               # 13: recorded paid, no money
            bookings.append((f"3340GHOST{i:09d}", pid, YEAR, REGION, due))
        dues.append((pid, YEAR, REGION, due, 0, "active", 1, low_line if subsidised else "[]"))
        if subsidised and fault != 21:                # 21: a subsidy line with no status behind it
            statuses.append((pid, REGION, town, village, json.dumps([{"category": "minimum_living",
                             "department": "civil_affairs", "certified_on": "2024-08-20", "ended_on": None}]), now))
        if fault != 17:                               # 17: the bank never settled it
            settled = amount - 400 if fault == 19 else amount  # 19: settled for a different amount
            settle.append(("农商行", f"S{paid_on:%Y%m%d}", no, paid_on + timedelta(days=1), REGION, channel, paid_on, no,
                           settled, file_id))
        if fault == 23:                               # 23: settled, no receipt
            settle.append(("邮储银行", "SX", f"NOSUCH{i}", paid_on + timedelta(days=1), REGION, "wechat", paid_on,
                           f"3340NOSUCH{i:08d}", 40000, file_id))
        if channel == "village_agent":
            late = 4 if i % 2000 == 3 else 1          # one in a hundred agent lines deposited late
            agents.append(("AG" + str(i % 300), f"L{i}", REGION, YEAR, town, village, pid, no, amount, paid_on,
                           paid_on + timedelta(days=late), None, agent_file))
        years.append((pid, YEAR, REGION, town, village, "general", "paid", amount, now))
        baseline.append((pid, REGION, town, village, None, "public_security", now))
        if len(receipts) >= 100_000 or i == n - 1:  # in chunks: the bench's peak memory is the run's, not ours
            for table, rows in (("receipt", receipts), ("enrollment_payment", bookings), ("due", dues),
                                ("settlement_line", settle), ("agent_collection", agents),
                                ("person_status", statuses), ("enrollment_year", years), ("baseline_person", baseline)):
                await conn.copy_records_to_table(table, records=rows, schema_name="reconciliation")
                sizes[table] += len(rows)
                rows.clear()
    # As autovacuum leaves tables written over a season: a run right after a bulk COPY would otherwise pay for
    # setting every row's hint bits (rewriting each page once), a cost of this benchmark's fill, not of a run.
    await conn.execute("VACUUM (ANALYZE)")
    return {"receipts": sizes["receipt"], "settlement_lines": sizes["settlement_line"],
            "agent_lines": sizes["agent_collection"]}


def peak_mb() -> int:
    """This process's peak resident memory since the last `reset_peak` (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        found = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    return round(int(found.group(1)) / 1024) if found else -1


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _fill_child(dsn: str, n: int, seed: int) -> dict:
    async def go() -> dict:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "reconciliation"})
        try:
            return await fill(conn, n, seed)
        finally:
            await conn.close()
    return asyncio.run(go())


async def fill_apart(dsn: str, n: int, seed: int) -> dict:
    """The season filled by a child process: the memory of building it is not the run's."""
    def run() -> dict:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            return pool.apply(_fill_child, (dsn, n, seed))
    return await asyncio.to_thread(run)


async def read_receipts(conn: asyncpg.Connection, timezone: str) -> int:
    count = 0
    async with conn.transaction():
        async for _row in conn.cursor(
                "SELECT receipt_no, person_id, year, amount_fen, channel, agent_id, (paid_at AT TIME ZONE $3)::date, "
                "original_receipt_no FROM receipt WHERE region = $1 AND year = $2", REGION, YEAR, timezone,
                prefetch=10_000):
            count += 1
    return count


async def one_size(settings: Settings, n: int, seed: int) -> dict:
    database = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(settings.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = with_database(settings.pg_dsn, database)
    try:
        await asyncio.to_thread(migrate, dsn)
        t0 = time.perf_counter()
        sizes = await fill_apart(dsn, n, seed)
        fill_s = time.perf_counter() - t0
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "reconciliation"})
        try:
            reset_peak()
            t0 = time.perf_counter()
            assert await read_receipts(conn, settings.timezone) == n
            baseline_s, baseline_mb = time.perf_counter() - t0, peak_mb()

            async def run() -> tuple[dict, float, int]:
                reset_peak()
                t0 = time.perf_counter()
                async with unit_of_work(conn, schema="reconciliation", topic_prefix=settings.topic_prefix) as uow:
                    answer = await run_reconciliation(uow, settings, region=REGION, year=YEAR, day=DAY, trigger="bench")
                return answer, time.perf_counter() - t0, peak_mb()

            first, run_s, run_mb = await run()
            again, repeat_s, repeat_mb = await run()
            snapshot_rows = await conn.fetchval("SELECT count(*) FROM progress_snapshot")
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    assert again["fingerprint"] == first["fingerprint"] and again["new"] == 0
    return {
        "receipts": n, **sizes, "fill_s": round(fill_s, 2),
        "baseline_read_s": round(baseline_s, 2), "baseline_receipts_per_s": round(n / baseline_s),
        "baseline_peak_mb": baseline_mb,
        "run_s": round(run_s, 2), "run_receipts_per_s": round(n / run_s), "run_over_baseline": round(run_s / baseline_s, 2),
        "run_peak_mb": run_mb, "run_parts": first["parts"], "run_stages": first["timings"],
        "repeat_run_s": round(repeat_s, 2), "repeat_peak_mb": repeat_mb, "repeat_stages": again["timings"],
        "found": first["found"], "counts": first["counts"], "same_answer_on_repeat": True,
        "snapshot_villages": snapshot_rows,
    }


async def bench(args: argparse.Namespace) -> dict:
    settings = Settings(schedule_enabled=False, **({"run_part_rows": args.part_rows} if args.part_rows else {}))
    runs = []
    for n in args.receipts:
        runs.append(await one_size(settings, n, args.seed))
        print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    first = runs[0]
    return {"part_rows": settings.run_part_rows, "runs": runs,
            "time_ratio_to_first": [round(r["run_s"] / first["run_s"], 2) for r in runs],
            "memory_ratio_to_first": [round(r["run_peak_mb"] / first["run_peak_mb"], 2) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--part-rows", type=int, default=None, help="run_part_rows (default: the setting's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0, help="Stop after this many seconds.")
    args = parser.parse_args()
    result = asyncio.run(asyncio.wait_for(bench(args), args.timeout))
    out = ROOT / "artifacts" / "bench" / f"reconciliation-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
