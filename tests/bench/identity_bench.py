"""Identity certification benchmark: a department's monthly file of N rows (1,000,000 by default).

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.identity_bench [--rows N]

1. Writes a CSV of N rows (UTF-8, the headers a department uses, distinct valid IDs,
   civil-affairs categories) to artifacts/bench/.
2. Baseline, same run, same file: a bare `COPY … FROM STDIN (FORMAT csv)` into a table
   of text columns (no parsing, no validation, no events).
3. Pipeline: a fresh database and topic prefix, the real `python -m
   services.identity_certification` process; the file is uploaded to
   POST /api/submissions/file as `yibao identity submit` does, and the clock stops when
   the last identity.status-changed event is on the topic (sum of end offsets ==
   people changed). Peak RSS of the service process is read from /proc (VmHWM).

Reports rows/s for both, the ratio, and peak memory; JSON to artifacts/bench/identity-<time>.json.
The whole run is bounded by --timeout. The machine is shared: figures include whatever else ran.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.identity_certification import store
from shared.resident_id import check_character
from tests.support.servers import find_servers
from tests.support.system import ROOT, System, create_system, drop_system

OUT = ROOT / "artifacts" / "bench"
CATEGORIES = ("低保对象", "特困供养人员", "低保边缘家庭成员", "孤儿")


def write_file(path: Path, rows: int) -> None:
    """Distinct people: 999 sequence numbers per birth day, days counted from 1940-01-01."""
    start = date(1940, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("序号,姓名,身份证号,人员类别,认定时间,乡镇（街道）,村(社区)\n")
        for i in range(rows):
            born = start + timedelta(days=i // 999)
            first17 = f"340321{born:%Y%m%d}{i % 999 + 1:03d}"
            out.write(f"{i + 1},某某,{first17}{check_character(first17)},{CATEGORIES[i % 4]},"
                      f"2024-11-{i % 28 + 1:02d},榴城镇,村{i % 300}\n")


async def bare_copy(dsn: str, path: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE bench_raw (n text, name text, id text, category text, certified text, "
                           "township text, village text)")
        started = time.perf_counter()
        await conn.copy_to_table("bench_raw", source=path, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def events_on_topic(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def pipeline(system: System, path: Path, deadline: float) -> dict:
    system.start("identity_certification")
    await system.wait_healthy(("identity_certification",))
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "identity"})
    try:
        token = await store.create_credential(conn, "civil_affairs", "340321")
    finally:
        await conn.close()
    topic = system.topic("identity.status-changed")
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=max(deadline - time.monotonic(), 1)) as client:
        with path.open("rb") as file:
            response = await client.post(
                system.url("identity_certification", "/api/submissions/file"),
                headers={"Authorization": f"Bearer {token}"}, files={"file": (path.name, file, "text/csv")},
                data={"period": "2024-11", "department": "civil_affairs", "region": "340321"})
    answered = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200, body
    while (published := await events_on_topic(system.servers.kafka_bootstrap, topic)) < body["people_changed"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {published} of {body['people_changed']} events published in time")
        await asyncio.sleep(0.25)
    last_event = time.perf_counter() - started
    rss = peak_rss_mb(system.processes["identity_certification"].pid)
    return {"answered_s": answered, "last_event_s": last_event, "peak_rss_mb": rss, "events": published,
            "rows_accepted": body["rows_accepted"], "rows_rejected": body["rows_rejected"]}


async def main(rows: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"identity-{rows}.csv"
    if not path.exists():
        write_file(path, rows)
    with ExitStack() as stack:
        servers = find_servers(stack)
        system = await create_system(servers, OUT / "logs")
        try:
            baseline = await bare_copy(system.pg_dsn, path)
            result = await pipeline(system, path, deadline)
        finally:
            await drop_system(system)
    report = {
        "rows": rows, "file_mb": round(path.stat().st_size / 2**20, 1),
        "baseline_copy_s": round(baseline, 2), "baseline_rows_per_s": round(rows / baseline),
        "pipeline_answered_s": round(result["answered_s"], 2),
        "pipeline_last_event_s": round(result["last_event_s"], 2),
        "pipeline_rows_per_s": round(rows / result["last_event_s"]),
        "pipeline_vs_bare_copy": f"1 : {result['last_event_s'] / baseline:.1f}",
        "service_peak_rss_mb": round(result["peak_rss_mb"]),
        "events_published": result["events"], "rows_accepted": result["rows_accepted"],
        "rows_rejected": result["rows_rejected"],
    }
    (OUT / f"identity-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the monthly file (default 1,000,000)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rows, args.timeout)), indent=2, ensure_ascii=False))
