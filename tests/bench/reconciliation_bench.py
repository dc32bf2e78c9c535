"""Reconciliation benchmark: a full run for one region over N receipts (1,000,000 by default).

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.reconciliation_bench [--receipts N]

1. A fresh database with every migration; reconciliation's tables filled by COPY with a
   consistent season of N accepted receipts for N people (each booked by enrollment,
   assessed, settled by a bank; 1 in 20 collected in cash by a village agent; 1 in 10
   subsidised with a certified status) and a few faults per thousand of each kind, so
   the run has discrepancies to write and publish.
2. Baseline, same run, same data: reading the receipts the run reads
   (`SELECT … FROM receipt WHERE region AND year` through asyncpg) with no matching.
3. The run: the `run_reconciliation` use case — load, match, record discrepancies, outbox,
   weekly snapshot — in one unit of work, as POST /api/runs does. Twice: the second run is the
   repeat (same fingerprint, nothing new).

Prints receipts/s for both, the ratio, the run's stage timings and peak RSS; JSON to
artifacts/bench/reconciliation-<time>.json. Bounded by --timeout; the machine is shared.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
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
    await conn.execute("ANALYZE")
    return {"receipts": sizes["receipt"], "settlement_lines": sizes["settlement_line"],
            "agent_lines": sizes["agent_collection"]}


async def bench(args: argparse.Namespace) -> dict:
    settings = Settings(schedule_enabled=False)
    database = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(settings.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = with_database(settings.pg_dsn, database)
    try:
        await asyncio.to_thread(migrate, dsn)
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "reconciliation"})
        try:
            t0 = time.perf_counter()
            sizes = await fill(conn, args.receipts, args.seed)
            fill_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            rows = await conn.fetch(
                "SELECT receipt_no, person_id, year, amount_fen, channel, agent_id, (paid_at AT TIME ZONE $3)::date, "
                "original_receipt_no FROM receipt WHERE region = $1 AND year = $2", REGION, YEAR, settings.timezone)
            baseline_s = time.perf_counter() - t0
            assert len(rows) == args.receipts
            del rows

            rss_before_runs = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

            async def run() -> dict:
                async with unit_of_work(conn, schema="reconciliation", topic_prefix=settings.topic_prefix) as uow:
                    return await run_reconciliation(uow, settings, region=REGION, year=YEAR, day=DAY, trigger="bench")

            t0 = time.perf_counter()
            first = await run()
            run_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = await run()
            repeat_s = time.perf_counter() - t0
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    assert again["fingerprint"] == first["fingerprint"] and again["new"] == 0
    n = args.receipts
    return {
        "receipts": n, **sizes, "fill_s": round(fill_s, 2),
        "baseline_read_s": round(baseline_s, 2), "baseline_receipts_per_s": round(n / baseline_s),
        "run_s": round(run_s, 2), "run_receipts_per_s": round(n / run_s), "run_over_baseline": round(run_s / baseline_s, 2),
        "run_stages": first["timings"], "repeat_run_s": round(repeat_s, 2), "repeat_stages": again["timings"],
        "found": first["found"], "counts": first["counts"], "same_answer_on_repeat": True,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_runs_mb": rss_before_runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1500.0, help="Stop after this many seconds.")
    args = parser.parse_args()
    result = asyncio.run(asyncio.wait_for(bench(args), args.timeout))
    out = ROOT / "artifacts" / "bench" / f"reconciliation-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
