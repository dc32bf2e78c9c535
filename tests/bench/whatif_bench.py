"""What-if benchmark: `yibao whatif` over a generated region of N people (1,000,000 by default), time and peak memory.

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.whatif_bench [--people N]

1. A throwaway database with the subsidy schema, filled by COPY with N people of 怀远县 (340321) for 2025,
   spread over the county's 22 townships (seed 000, 附件2): most registered (some as migrant workers or
   school pupils) with a history of earlier years, a share with a certified status of the kinds the pack
   subsidises (特困, 低保, 监测, 重点优抚, 独女户, 独男户, 事实无人抚养儿童; certified on any day of ten years,
   some ended, some with two; a few known by the status alone), most of the registered paid on a day of the
   collection period. The shares are test data, not policy; the spread of dates makes most status holders'
   facts their own, so the engine's memo helps little for them, as in a real county.
2. Baseline, same run, same data: the reads the what-if makes — every page of people and their facts
   (`store.people_in`, `store.load_facts`) — and nothing else.
3. The what-if as an official runs it: the `yibao whatif` command in its own process (个人缴费标准 420, 低保
   360), its wall time and its peak resident memory (the child's ru_maxrss), beside the baseline's.

Prints the figures; JSON to artifacts/bench/whatif-<time>.json. The database is dropped at the end.
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

from services.subsidy import store
from services.subsidy.settings import Settings
from shared.migrate import ServiceSchema, migrate
from shared.resident_id import check_character
from tests.support.system import with_database

ROOT = Path(__file__).resolve().parents[2]
REGION, YEAR, ON = "340321", 2025, date(2024, 11, 20)
TOWNSHIPS = ("望淮街道", "榴城镇", "龙亢镇", "淝南镇", "褚集镇", "双桥集镇", "淝河乡", "古城镇", "包集镇", "陈集镇", "魏庄镇",
             "白乳泉街道", "引凤街道", "荆山镇", "白莲坡镇", "常坟镇", "唐集镇", "万福镇", "兰桥镇", "徐圩乡", "河溜镇", "龙亢农场")
STATUSES = (("extreme_poverty", 0.01), ("minimum_living", 0.04), ("poverty_monitoring", 0.03),
            ("entitled_veteran", 0.005), ("daughter_family", 0.003), ("only_son_family", 0.002),
            ("unsupported_child", 0.003))
HISTORIES = ((2022, 2023, 2024), 0.6), ((2023, 2024), 0.2), ((2021, 2022), 0.1), ((), 0.1)
CHANGES = ("money.individual_contribution=420", "subsidies.minimum_living.amount=360")
PAGE = 100_000  # rows generated and copied at a time: the bench's own memory stays small


def person(n: int) -> str:
    """The n-th person's resident ID: birth dates over 80 years, sequence numbers from 100."""
    born = date(1944, 1, 1) + timedelta(days=n % 29_000)
    first17 = f"{REGION}{born:%Y%m%d}{100 + n // 29_000:03d}"
    return first17 + check_character(first17)


def _pick(rnd: random.Random, shares: tuple) -> object:
    x, total = rnd.random(), 0.0
    for value, share in shares:
        total += share
        if x < total:
            return value
    return None


def _statuses(rnd: random.Random, category: object) -> list[dict]:
    """The person's statuses as identity announces them: certified on any day of ten years (a few after the
    collection period opened), one in ten ended, one in twenty with a second status."""
    def one(code: object) -> dict:
        certified = date(2015, 1, 1) + timedelta(days=rnd.randrange(3650))
        ended = certified + timedelta(days=rnd.randrange(1, 900)) if rnd.random() < 0.1 else None
        return {"category": code, "department": "civil_affairs", "certified_on": certified.isoformat(),
                "ended_on": ended.isoformat() if ended else None}

    more = [one(_pick(rnd, STATUSES[:3]) or "poverty_monitoring")] if rnd.random() < 0.05 else []
    return [one(category), *more]


async def fill(conn: asyncpg.Connection, n: int, seed: int) -> dict[str, int]:
    rnd, now = random.Random(seed), datetime.now(UTC)
    people, enrollments, payments = [], [], []
    sizes = {"person": 0, "enrollment": 0, "payment": 0}
    for i in range(n):
        pid, township = person(i), TOWNSHIPS[i % len(TOWNSHIPS)]
        village = f"{township}{i % 17 + 1}村"
        category = _pick(rnd, STATUSES)
        if category is not None:
            people.append((pid, REGION, township, village, json.dumps(_statuses(rnd, category)), now))
        if category is None or rnd.random() < 0.9:  # a few are known by their status alone
            kind = "migrant_worker" if rnd.random() < 0.02 else "school_student" if rnd.random() < 0.01 else "general"
            born = int(pid[6:10])
            history = [y for y in _pick(rnd, HISTORIES) if y >= born]  # nobody was covered before birth
            registered = date(2024, 9, 1) + timedelta(days=rnd.randrange(100))
            enrollments.append((pid, YEAR, REGION, township, village, kind, "registered", None, None, now, None,
                                registered, json.dumps(history), "[]"))
            if rnd.random() < 0.7:
                paid = registered + timedelta(days=rnd.randrange(10))
                payments.append((f"B{i:012d}", pid, YEAR, REGION, 40000 if category is None else 6000,
                                 datetime(paid.year, paid.month, paid.day, 2, tzinfo=UTC), now))
        if len(enrollments) >= PAGE or i == n - 1:
            for table, rows, columns in (
                    ("person", people, ("person_id", "region", "township", "village", "statuses", "updated_at")),
                    ("enrollment", enrollments, ("person_id", "year", "region", "township", "village", "kind", "state",
                                                 "ended_on", "end_reason", "updated_at", "event_date", "registered_on",
                                                 "enrolled_years", "paid_back_years")),
                    ("payment", payments, ("receipt_no", "person_id", "year", "region", "amount_fen", "paid_at",
                                           "recorded_at"))):
                await conn.copy_records_to_table(table, records=rows, columns=columns, schema_name="subsidy")
                sizes[table] += len(rows)
                rows.clear()
    await conn.execute("ANALYZE")
    return sizes


async def baseline(conn: asyncpg.Connection, chunk: int) -> tuple[int, float]:
    """The what-if's reads alone: every page of people and their facts, nothing decided."""
    t0, after, seen = time.perf_counter(), "", 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        while people := await store.people_in(conn, REGION, YEAR, whole_city=False, after=after, limit=chunk):
            after = people[-1]
            await store.load_facts(conn, [(p, YEAR) for p in people])
            seen += len(people)
    return seen, time.perf_counter() - t0


def run_whatif(dsn: str, chunk: int) -> dict:
    """`yibao whatif` in a process of its own: wall time, peak RSS, and its answer's headline."""
    command = [str(Path(sys.executable).parent / "yibao"), "whatif", "--region", REGION, "--year", str(YEAR),
               "--on", ON.isoformat(), "--chunk", str(chunk), "--plain"]
    for change in CHANGES:
        command += ["--set", change]
    env = {**os.environ, "YIBAO_PG_DSN": dsn, "YIBAO_LOG_LEVEL": "WARNING", "COLUMNS": "160"}
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    wall = time.perf_counter() - t0
    lines = done.stdout.splitlines()
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "headline": lines[0], "reported": next(x for x in lines if x.startswith("用时")), "output": done.stdout}


async def bench(args: argparse.Namespace) -> dict:
    settings = Settings()
    database = f"yibao_whatif_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(settings.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = with_database(settings.pg_dsn, database)
    try:
        await asyncio.to_thread(migrate, dsn, (ServiceSchema("subsidy", "subsidy"),))
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "subsidy"})
        try:
            t0 = time.perf_counter()
            sizes = await fill(conn, args.people, args.seed)
            fill_s = time.perf_counter() - t0
            await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            read, read_s = await baseline(conn, args.chunk)
        finally:
            await conn.close()
        answer = await asyncio.to_thread(run_whatif, dsn, args.chunk)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return {"people": args.people, "rows": sizes, "fill_s": round(fill_s, 1), "chunk": args.chunk,
            "baseline_read_s": round(read_s, 1), "baseline_people": read,
            "whatif_wall_s": answer["wall_s"], "whatif_us_per_person": round(answer["wall_s"] / read * 1e6),
            "whatif_over_baseline": round(answer["wall_s"] / read_s, 2), "whatif_peak_rss_mb": answer["peak_rss_mb"],
            "whatif_reported": answer["reported"], "headline": answer["headline"], "output": answer["output"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=5000, help="people per page (yibao whatif --chunk)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    out = ROOT / "artifacts" / "bench" / f"whatif-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(result.pop("output"))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
