"""Population baseline benchmark: a household register of N people (3,000,000 by default) imported from a file.

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.baseline_bench \
        [--people 3000000] [--formats csv xlsx] [--xlsx-people 300000] [--consume]

1. A fresh database with enrollment's and reconciliation's migrations; the register written to a
   temporary file as a county sends it (a title row, Chinese headers, GB18030 CSV; XLSX with
   one sheet, at most 1,048,575 people, Excel's limit: `--xlsx-people`).
2. Baseline, same run, same file: a bare COPY of the CSV into a table of the same columns.
3. The import: `enrollment.usecases.import_baseline` on `open_file` of the file, in one unit of work
   as POST /api/baseline/file does — read as a stream, judged row by row into one COPY to staging,
   merged in SQL, one population.baseline event per person written to the outbox by one statement.
4. With `--consume`: reconciliation's side of population.baseline without Kafka — the outbox's
   payloads decoded by the contract's model and recorded by reconciliation's `record_baseline` use
   case (with the inbox if its subscriber keeps one), in batches of YIBAO_BATCH_MAX_RECORDS as its
   consumer takes them, a transaction each: people/s it keeps up with.

Peak memory is the process's VmHWM, reset before each stage. JSON report in
artifacts/bench/baseline-<time>.json. The machine may be shared: say so with the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import openpyxl
from pydantic import TypeAdapter

from services.enrollment import usecases as enrollment
from services.reconciliation.handlers import SUBSCRIPTIONS
from services.reconciliation.usecases import record_baseline
from shared.access import Caller
from shared.messages import PersonBaselined
from shared.migrate import SERVICE_SCHEMAS, migrate
from shared.resident_id import check_character
from shared.settings import ServiceSettings
from shared.uow import unit_of_work
from tests.bench.reconciliation_bench import peak_mb, reset_peak, with_database

ROOT = Path(__file__).resolve().parents[2]
REGION = "340321"
HEADER = ["序号", "公民身份号码", "姓名", "乡镇(街道)", "村(社区)"]


def person(n: int) -> str:
    born = date(1930, 1, 1) + timedelta(days=n // 900 % 30000)
    first17 = f"{REGION}{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + check_character(first17)


def rows(n: int) -> Any:
    for i in range(n):
        town = f"镇{i % 20:02d}"
        yield [i + 1, person(i * 7 + i // 27000), f"居民{i % 9973}", town, f"{town}村{i % 37:02d}"]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="gb18030", newline="") as f:
        out = csv.writer(f)
        out.writerow(["怀远县户籍人口花名册"])
        out.writerow(HEADER)
        out.writerows(rows(n))


def write_xlsx(path: Path, n: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append(["怀远县户籍人口花名册"])
    sheet.append(HEADER)
    for row in rows(n):
        sheet.append(row)
    book.save(path)


async def bare_copy(conn: asyncpg.Connection, path: Path) -> float:
    await conn.execute("CREATE TEMP TABLE bare (seq int, person_id text, name text, township text, village text)")
    t0 = time.perf_counter()
    with path.open("rb") as f:
        f.readline()  # the title and header rows: COPY takes the data
        f.readline()
        await conn.copy_to_table("bare", source=f, format="csv", encoding="GB18030")
    took = time.perf_counter() - t0
    await conn.execute("DROP TABLE bare")
    return took


async def import_file(conn: asyncpg.Connection, path: Path, settings: ServiceSettings) -> dict[str, Any]:
    caller = Caller(REGION, "agency", "县医保中心")
    reset_peak()
    t0 = time.perf_counter()
    with path.open("rb") as stream:
        upload = enrollment.open_file(stream, path.name)
        async with unit_of_work(conn, schema="enrollment", topic_prefix=settings.topic_prefix) as uow:
            result = await enrollment.import_baseline(uow, caller, upload, "public_security")
    took = time.perf_counter() - t0
    return {"s": round(took, 2), "people_per_s": round(result.accepted / took), "peak_mb": peak_mb(),
            "accepted": result.accepted, "rejected": len(result.rejected), "ignored_lines": len(result.ignored_lines)}


async def consume(dsn: str, batch: int) -> dict[str, Any]:
    """Reconciliation's use case over the outbox's population.baseline payloads, a consumer batch at a time."""
    adapter: TypeAdapter[PersonBaselined] = TypeAdapter(PersonBaselined)
    inbox = next(s[4] for s in SUBSCRIPTIONS if s[0] == "baseline")  # as the service's subscriber does
    source = await asyncpg.connect(dsn, server_settings={"search_path": "enrollment"})
    target = await asyncpg.connect(dsn, server_settings={"search_path": "reconciliation"})
    people = 0
    reset_peak()
    t0 = time.perf_counter()
    try:
        after = 0
        while True:
            page = await source.fetch("SELECT id, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2", after, batch)
            if not page:
                break
            after = page[-1]["id"]
            events = [adapter.validate_json(r["payload"]) for r in page]
            async with unit_of_work(target, schema="reconciliation", topic_prefix="") as uow:
                await record_baseline(uow, await uow.claim("baseline", events) if inbox else events)
            people += len(events)
    finally:
        await source.close()
        await target.close()
    took = time.perf_counter() - t0
    return {"s": round(took, 2), "people_per_s": round(people / took), "peak_mb": peak_mb(), "people": people}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    settings = ServiceSettings()
    database = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(settings.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = with_database(settings.pg_dsn, database)
    report: dict[str, Any] = {"people": args.people}
    try:
        await asyncio.to_thread(migrate, dsn, tuple(s for s in SERVICE_SCHEMAS
                                                    if s.schema in ("enrollment", "reconciliation")))
        with tempfile.TemporaryDirectory() as folder:
            for fmt in args.formats:
                n = args.people if fmt == "csv" else min(args.xlsx_people, 1_048_575)
                path = Path(folder) / f"花名册.{fmt}"
                t0 = time.perf_counter()
                await asyncio.to_thread(write_csv if fmt == "csv" else write_xlsx, path, n)
                # On disk before the clock starts, as an uploaded file is: its write-back is the bench's cost,
                # and running under the import it slowed every stage by about a tenth.
                await asyncio.to_thread(os.sync)
                conn = await asyncpg.connect(dsn, server_settings={"search_path": "enrollment"})
                try:
                    await conn.execute("TRUNCATE population, outbox")
                    entry: dict[str, Any] = {"people": n, "file_mb": round(path.stat().st_size / 2**20, 1),
                                             "write_s": round(time.perf_counter() - t0, 1)}
                    if fmt == "csv":
                        entry["bare_copy_s"] = round(await bare_copy(conn, path), 2)
                    entry["import"] = await import_file(conn, path, settings)
                    if fmt == "csv":
                        entry["copy_over_import"] = round(entry["bare_copy_s"] / entry["import"]["s"], 3)
                finally:
                    await conn.close()
                if args.consume and fmt == "csv":
                    entry["reconciliation_consumer"] = await consume(dsn, settings.batch_max_records)
                report[fmt] = entry
                print(json.dumps({fmt: entry}, ensure_ascii=False), flush=True)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3_000_000)
    parser.add_argument("--formats", nargs="+", choices=("csv", "xlsx"), default=["csv"])
    parser.add_argument("--xlsx-people", type=int, default=300_000)
    parser.add_argument("--consume", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    result = asyncio.run(asyncio.wait_for(bench(args), args.timeout))
    out = ROOT / "artifacts" / "bench" / f"baseline-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
