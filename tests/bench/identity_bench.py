"""Identity certification benchmark: a department's monthly file of N rows (1,000,000 by default), as a
GB18030 CSV and as an XLSX workbook.

    eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.bench.identity_bench [--rows N]
        [--formats csv,xlsx] [--profile] [--chain]

1. Writes the file of N rows (the headers a department uses, distinct valid IDs, civil-affairs
   categories; the CSV in GB18030 as Windows Excel saves it, the XLSX with openpyxl's write-only
   mode, dates as date cells) to artifacts/bench/, once (kept for the next run).
2. Baseline, same run, same data: a bare `COPY … FROM STDIN (FORMAT csv, ENCODING 'GB18030')` of
   the CSV into a table of text columns (no parsing, no validation, no events). An XLSX cannot be
   COPYed: its ratio is to the COPY of the same rows as CSV.
3. Pipeline, per format: a fresh database and topic prefix, the real `python -m
   services.identity_certification` process; the file is uploaded to POST /api/submissions/file as
   `yibao identity submit` does, and the clock stops when the last identity.status-changed event is
   on the topic (sum of end offsets == people changed). Meanwhile GET /api/submissions is polled as a
   department would: when reading, merging and announcing ended, and the highest counts seen. Peak RSS
   of the service process is read from /proc (VmHWM): one process per format.

4. With `--chain`, the same list through the chain (the other four services run beside identity, with
   their own batch settings, as in `make run`): the clock runs on until every person's due is
   reassessed and published (subsidy.due-assessed) and every consumer group of every service has
   caught up with an empty outbox (tests/bench/chain_bench.py's `Chain.caught_up`); reported per
   consumer group when it caught up, per service process its CPU seconds, and checked (exit status 1
   otherwise) that subsidy holds a current due (or a reason it could not judge one) for every person the
   list changed and that enrollment's and reconciliation's records hold their statuses; the funded
   enrollments the zero dues brought are counted.

Reports rows/s, the ratio to the bare COPY (pipeline rows/s ÷ COPY rows/s) and peak memory against the
targets (≤ 60 s to the last event, ≥ 0.2 of COPY, < 300 MB); JSON to artifacts/bench/identity-<time>.json.
The whole run is bounded by --timeout. The machine is shared: figures include whatever else ran.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.identity_certification import store
from shared.resident_id import check_character
from shared.settings import ServiceSettings
from tests.bench.chain_bench import BenchSystem, Chain, Lags, consumer_groups, forget_redis, profile_summary
from tests.support.servers import find_servers
from tests.support.system import ROOT, SERVICES, System, create_system, drop_system

OUT = ROOT / "artifacts" / "bench"
HEADER = ("序号", "姓名", "身份证号", "人员类别", "认定时间", "乡镇（街道）", "村(社区)")
CATEGORIES = ("低保对象", "特困供养人员", "低保边缘家庭成员", "孤儿")
TARGET = {"last_event_s": 60.0, "vs_copy": 0.2, "peak_rss_mb": 300.0, "chain_s": 120.0}
TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def people(rows: int):
    """Distinct people: 999 sequence numbers per birth day, days counted from 1940-01-01."""
    start = date(1940, 1, 1)
    for i in range(rows):
        born = start + timedelta(days=i // 999)
        first17 = f"340321{born:%Y%m%d}{i % 999 + 1:03d}"
        yield (i + 1, "某某", first17 + check_character(first17), CATEGORIES[i % 4], date(2024, 11, i % 28 + 1),
               "榴城镇", f"村{i % 300}")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="gb18030", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for n, name, pid, category, day, township, village in people(rows):
            out.write(f"{n},{name},{pid},{category},{day:%Y-%m-%d},{township},{village}\r\n")


def write_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(list(HEADER))
    for row in people(rows):
        sheet.append(list(row))
    book.save(path)


WRITTEN: dict[Path, float] = {}  # seconds each file took to write in this run


def data_file(fmt: str, rows: int) -> tuple[Path, float]:
    """The file (written once, kept) and the seconds it took to write in this run (0 when it was there)."""
    path = OUT / (f"identity-{rows}-gb18030.csv" if fmt == "csv" else f"identity-{rows}.xlsx")
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_name(path.name + ".partial")
        (write_xlsx if fmt == "xlsx" else write_csv)(partial, rows)
        partial.rename(path)
        WRITTEN[path] = time.perf_counter() - started
    return path, WRITTEN.get(path, 0.0)


async def bare_copy(dsn: str, path: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE bench_raw (n text, name text, id text, category text, certified text, "
                           "township text, village text)")
        started = time.perf_counter()
        await conn.copy_to_table("bench_raw", source=path, format="csv", header=True, encoding="GB18030")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def events_on_topic(consumer: AIOKafkaConsumer, topic: str) -> int:
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    return sum((await consumer.end_offsets(partitions)).values())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Watcher:
    """Polls the department's progress route while the list is processed: when each phase was first seen
    over (a phase seen later, or the answer), and the highest counts."""

    def __init__(self, client: httpx.AsyncClient, url: str, token: str, started: float) -> None:
        self.client, self.url, self.token, self.started = client, url, token, started
        self.phases: dict[str, float] = {}
        self.highest: dict[str, int] = {}
        self.polls = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                answer = await self.client.get(self.url, headers={"Authorization": f"Bearer {self.token}"},
                                               params={"limit": 1}, timeout=5)
            except httpx.HTTPError:
                continue
            if answer.status_code != 200 or not answer.json():
                continue
            self.polls += 1
            latest = answer.json()[0]
            self.phases.setdefault(latest["phase"], round(time.perf_counter() - self.started, 2))
            for name in ("rows_read", "rows_validated", "rows_merged", "events_written"):
                self.highest[name] = max(self.highest.get(name, 0), latest[name])


async def through_chain(system: System, since: float, deadline: float, changed: int) -> dict:
    """After the list's last event: until every consumer group of every service has caught up (the services
    were started with identity); then what subsidy holds for the people the list changed."""
    lags = Lags(system.servers.kafka_bootstrap, consumer_groups(system))
    conn = await asyncpg.connect(system.pg_dsn)
    chain = Chain(argparse.Namespace(poll_s=0.5), system, lags.groups, lags, conn,
                  pids={name: process.pid for name, process in system.processes.items()})
    await lags.start()
    try:
        t_done, done_at, ends = await chain.caught_up(since=since, timeout=max(deadline - time.monotonic(), 1))
        cpu = chain.cpu()
        year = ServiceSettings.model_fields["campaign_year"].default
        held = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM subsidy.due WHERE year = $1) AS dues, "
            "(SELECT count(*) FROM subsidy.unassessed WHERE year = $1) AS unassessed, "
            "(SELECT count(*) FROM enrollment.person_status) AS enrollment_statuses, "
            "(SELECT count(*) FROM reconciliation.person_status) AS reconciliation_statuses, "
            "(SELECT count(*) FROM enrollment.enrollment WHERE year = $1) AS funded_enrollments", year)
    finally:
        await lags.stop()
        await conn.close()
    due_topic = system.topic("subsidy.due-assessed")
    return {
        "caught_up_s": round(t_done - since, 2),
        "due_assessed_events": sum(n for tp, n in ends.items() if tp.topic == due_topic),
        **dict(held),
        # the list reached each person's record in every service that keeps one
        "every_person_assessed": held["dues"] + held["unassessed"] >= changed,
        "every_person_recorded": min(held["enrollment_statuses"], held["reconciliation_statuses"]) >= changed,
        "groups": {g.removeprefix(system.tag + "."): round(t, 2) for g, t in sorted(done_at.items(), key=lambda x: x[1])},
        "cpu_s": {name: round(seconds, 1) for name, seconds in cpu.items()},
    }


async def pipeline(system: System, path: Path, fmt: str, deadline: float, profile: bool, chain: bool) -> dict:
    for service in (SERVICES if chain else ("identity_certification",)):
        system.start(service)
    await system.wait_healthy(tuple(system.processes))
    pid = system.processes["identity_certification"].pid
    spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(process.pid),
                               "--rate", "50", "--format", "raw", "--nonblocking",
                               "--output", str(system.log_dir / f"profile-{name}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, process in system.processes.items()] if profile else []
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "identity"})
    try:
        token = await store.create_credential(conn, "civil_affairs", "340321")
    finally:
        await conn.close()
    topic = system.topic("identity.status-changed")
    consumer = AIOKafkaConsumer(bootstrap_servers=system.servers.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    started, since = time.perf_counter(), time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=max(deadline - time.monotonic(), 1)) as client:
            watcher = Watcher(client, system.url("identity_certification", "/api/submissions"), token, started)
            watching = asyncio.create_task(watcher.run())
            with path.open("rb") as file:
                response = await client.post(
                    system.url("identity_certification", "/api/submissions/file"),
                    headers={"Authorization": f"Bearer {token}"}, files={"file": (path.name, file, TYPES[fmt])},
                    data={"period": "2024-11", "department": "civil_affairs", "region": "340321"})
            answered = time.perf_counter() - started
            watching.cancel()
        body = response.json()
        assert response.status_code == 200, body
        await consumer._client.force_metadata_update()
        while (published := await events_on_topic(consumer, topic)) < body["people_changed"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {published} of {body['people_changed']} events published in time")
            await asyncio.sleep(0.1)
        last_event = time.perf_counter() - started
        through = await through_chain(system, since, deadline, body["people_changed"]) if chain else None
    finally:
        await consumer.stop()
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(timeout=60)
    result = {"answered_s": round(answered, 2), "last_event_s": round(last_event, 2),
              "peak_rss_mb": round(peak_rss_mb(pid)), "events": published, "rows_accepted": body["rows_accepted"],
              "rows_rejected": body["rows_rejected"], "progress_phase_first_seen_s": watcher.phases,
              "progress_highest": watcher.highest, "progress_polls": watcher.polls}
    if through is not None:
        result["chain"] = through
    if profile:
        result["profiles"] = {name: profile_summary(system.log_dir / f"profile-{name}.txt") for name in system.processes}
    return result


async def run_format(servers, fmt: str, rows: int, csv_path: Path, deadline: float, profile: bool,
                     chain: bool) -> dict:
    path, written_s = data_file(fmt, rows)
    # Through the chain, the services' own batch settings (BenchSystem); identity alone as the tests start it.
    system = await create_system(servers, OUT / "logs", kind=BenchSystem if chain else System)
    try:
        baseline = await bare_copy(system.pg_dsn, csv_path)
        result = await pipeline(system, path, fmt, deadline, profile, chain)
    finally:
        await drop_system(system)
        await forget_redis(servers.redis_url, system.topic_prefix)  # the due cache of everyone the chain assessed
    vs_copy = baseline / result["last_event_s"]
    return {
        "format": fmt, "file_mb": round(path.stat().st_size / 2**20, 1), "file_written_s": round(written_s, 1),
        "baseline_copy_s": round(baseline, 2), "baseline_rows_per_s": round(rows / baseline),
        "pipeline_rows_per_s": round(rows / result["last_event_s"]), "vs_bare_copy": round(vs_copy, 3),
        **result,
        "targets_met": {"last_event_s": result["last_event_s"] <= TARGET["last_event_s"],
                        "vs_copy": vs_copy >= TARGET["vs_copy"],
                        "peak_rss_mb": result["peak_rss_mb"] < TARGET["peak_rss_mb"],
                        **({"chain_s": result["chain"]["caught_up_s"] <= TARGET["chain_s"]} if chain else {})},
    }


async def main(rows: int, formats: list[str], timeout: float, profile: bool, chain: bool) -> dict:
    deadline = time.monotonic() + timeout
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path, _ = data_file("csv", rows)
    report: dict = {"rows": rows, "targets": TARGET, "machine": "2 cores, shared with other sessions", "runs": []}
    with ExitStack() as stack:
        servers = find_servers(stack)
        for fmt in formats:
            report["runs"].append(await run_format(servers, fmt, rows, csv_path, deadline, profile, chain))
    (OUT / f"identity-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(report, indent=2,
                                                                                    ensure_ascii=False))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the monthly file (default 1,000,000)")
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv (GB18030), xlsx")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--profile", action="store_true", help="py-spy record the services (summaries in the report)")
    parser.add_argument("--chain", action="store_true",
                        help="the five services running: on until every due is reassessed and every group caught up")
    args = parser.parse_args()
    chosen = [f.strip() for f in args.formats.split(",") if f.strip()]
    if unknown := set(chosen) - set(TYPES):
        parser.error(f"unknown format(s): {', '.join(sorted(unknown))}")
    report = asyncio.run(main(args.rows, chosen, args.timeout, args.profile, args.chain))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    chains = [run["chain"] for run in report["runs"] if "chain" in run]
    sys.exit(0 if all(c["every_person_assessed"] and c["every_person_recorded"] for c in chains) else 1)
