"""The chain benchmark: `make bench-chain` (or `python -m tests.bench.chain_bench`), issue 14.

How fast the five services together take a December backlog of receipts through the whole chain
(payment ingest → enrollment, subsidy, reconciliation → their own events and each other's), how
fresh the person's record and the village counter are at a steady rate, and what each service
process spends per receipt. Three parts, in one invocation, on the local stack (loopback only):

1. Ingest only (the baseline of the ratios): the payment ingest service alone (one process, as in
   the chain) drains the same N receipts from its own topics and database, timed and checked by the
   ingest benchmark's own `Bench.pipeline` (tests/bench/payment_ingest_bench.py). `--no-ingest`
   skips it; `make bench` also runs the full ingest benchmark before this one.
2. The drain: a fresh system (tests/support/system.py: its own topics, consumer groups and
   database), the household register of every person loaded by COPY into enrollment's `population`
   and reconciliation's `baseline_person` (what the baseline import and its `population.baseline`
   events would leave: so receipts land in villages; `--no-register` leaves everyone unplaced), N
   receipts (tests/bench/chain_receipts.py: valid, one per person, four regions, standard 400) put
   on `payment.receipt-received` while the services are stopped; then the five services started
   and the clock run until every consumer group of every service has caught up: lag 0 on every
   partition of every topic it consumes (the groups are read off the subscribers each service
   registers, built as `python -m services.<name>` builds them), every outbox empty, twice in a
   row with no new records. Reported: receipts/s end to end (from the first receipt in the intake
   ledger, and from the launch), per consumer group when it caught up for the last time and its
   rate, per service process its CPU seconds (utime + stime from /proc/<pid>/stat, from launch and
   from when every service answered /health) and µs per receipt, and the servers' CPU. Then every
   accepted receipt must be in enrollment's and subsidy's `payment`, reconciliation's `receipt` and
   `enrollment_payment`, and the paid people in enrollment and the village counters, with equal
   sums (SQL on each service's schema in the system's database).
3. Freshness: with the services warm (after the drain; `--fresh-warmup-seconds` more at the rate,
   unmeasured), new people's receipts at a steady `--fresh-rate` (3,000/s) for `--fresh-seconds`
   (60). One receipt in `--sample` (50) is followed from the moment it was handed to the producer
   until (a) payment ingest accepted it, (b) enrollment's record of the person shows it paid, (c)
   reconciliation's village counter includes it (the person's `enrollment_year` row paid: what
   `/api/progress` counts) and (d) reconciliation's receipt ledger holds it. For a benchmark the
   followed receipts are polled by batch SQL on the service schemas every `--poll-ms` (one query
   per target for all those still pending), not through the HTTP APIs: a latency is the start of
   the first query that saw it minus the send, so it overstates by up to one poll interval.
   p50/p90/p99/max per target, p99 per 10 s window, and each service's CPU per receipt at that rate.

JSON and a table: artifacts/bench/chain-<time>.json, the services' logs in artifacts/bench/<tag>/.
Bounded: `--timeout` per drain, `--fresh-timeout` for the last followed receipt. The machine is
shared (2 cores; other engineers' tests use the same PostgreSQL and Kafka): every figure includes
whatever else ran, and the report records the load average before and after.

    CHAIN_RECEIPTS=20000 make bench-chain CHAIN_ARGS="--fresh-rate 500 --fresh-seconds 10"
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from cli.receipt_season import Simulated, produce
from shared.contracts import NAMES, contract
from shared.runtime import Runtime
from shared.service import build_broker
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS
from tests.bench import chain_receipts
from tests.bench.payment_ingest_bench import Bench as IngestBench
from tests.bench.payment_ingest_bench import CpuSampler, Truth
from tests.support.servers import find_servers
from tests.support.system import SERVICES, System, create_system, drop_system

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = "payment.receipt-received"
PARTITIONS = {t.name: t.partitions for t in ALL_TOPICS}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEFAULTS = ServiceSettings.model_fields


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15, after the command's parentheses)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLOCK_TICKS


def machine() -> tuple[float, float, float, float]:
    """(busy, total) CPU seconds of the whole machine (/proc/stat), seconds some task waited for a CPU
    (/proc/pressure/cpu "some", 0 where the kernel has no PSI) and the monotonic clock."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    try:
        with open("/proc/pressure/cpu") as f:
            waited = int(f.readline().rsplit("total=", 1)[1]) / 1e6
    except (OSError, IndexError, ValueError):
        waited = 0.0
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS, waited, time.monotonic()


def machine_share(before: tuple[float, float, float, float]) -> dict[str, float]:
    """How busy the whole machine was since `before` (every process, not only ours), and the share of the
    time some runnable task waited for a CPU: near 1, the figures are distorted by CPU contention."""
    after = machine()
    wall = max(after[3] - before[3], 1e-9)
    return {"cpu_busy_share": round((after[0] - before[0]) / max(after[1] - before[1], 1e-9), 2),
            "cores_busy": round((after[0] - before[0]) / wall, 2),
            "cpu_pressure_share": round((after[2] - before[2]) / wall, 2)}


def quantiles_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    if len(values) == 1:
        return {k: round(values[0] * 1000, 1) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(q[49] * 1000, 1), "p90_ms": round(q[89] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}


@dataclass(frozen=True)
class Group:
    """One consumer group of one service and the topic it consumes (prefixed names)."""

    service: str
    group: str
    topic: str

    def partitions(self) -> list[TopicPartition]:
        name = self.topic.split(".", 1)[1]  # without the system's prefix
        return [TopicPartition(self.topic, p) for p in range(PARTITIONS[name])]


def consumer_groups(system: System) -> list[Group]:
    """Every (group, topic) the five services subscribe, as each service really registers them (built without
    connecting, with this system's topic and group prefixes; as tests/unit/test_kafka_acl_plan.py does)."""
    out = []
    for name in NAMES:
        spec = importlib.import_module(f"services.{name}.app").SPEC
        settings = spec.settings(topic_prefix=system.topic_prefix, group_prefix=system.tag)
        for sub in build_broker(spec, Runtime(spec.name, spec.schema, settings)).subscribers:
            out.extend(Group(name, sub.group_id, topic) for topic in sub.topic_names)
    return sorted(out, key=lambda g: (NAMES.index(g.service), g.group))


class BenchSystem(System):
    """The test system's services with the services' own batch settings (the tests shorten the batch wait),
    the benchmark's log level, and no scheduled reconciliation run in the middle of a measurement."""

    batch: int = DEFAULTS["batch_max_records"].default
    outbox_batch: int = DEFAULTS["outbox_batch"].default
    log_level: str = "WARNING"

    def env(self, service: str) -> dict[str, str]:
        env = super().env(service)
        env.pop("YIBAO_BATCH_TIMEOUT_MS", None)
        env.update({"YIBAO_BATCH_MAX_RECORDS": str(self.batch), "YIBAO_OUTBOX_BATCH": str(self.outbox_batch),
                    "YIBAO_LOG_LEVEL": self.log_level, "YIBAO_SCHEDULE_ENABLED": "false"})
        return env


@dataclass
class Lags:
    """Committed offsets of every group against the end offsets of its topic, polled."""

    bootstrap: str
    groups: list[Group]
    admin: AIOKafkaAdminClient | None = None
    consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self.admin.start()
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer:
            await self.consumer.stop()
        if self.admin:
            await self.admin.close()

    async def ends(self) -> dict[TopicPartition, int]:
        assert self.consumer is not None
        parts = sorted({tp for g in self.groups for tp in g.partitions()})
        return await self.consumer.end_offsets(parts)

    async def committed(self, group: Group) -> dict[TopicPartition, int]:
        assert self.admin is not None
        try:
            offsets = await self.admin.list_consumer_group_offsets(group.group, partitions=group.partitions())
        except Exception:  # the group is not there yet (the service is still starting)
            return {}
        return {tp: o.offset for tp, o in offsets.items() if o is not None and o.offset >= 0}

    async def poll(self) -> tuple[dict[TopicPartition, int], dict[str, int]]:
        """End offsets, and each group's committed offsets summed over its partitions."""
        ends = await self.ends()
        committed = await asyncio.gather(*(self.committed(g) for g in self.groups))
        return ends, {g.group: sum(c.get(tp, 0) for tp in g.partitions())
                      for g, c in zip(self.groups, committed, strict=True)}


@dataclass
class Chain:
    args: argparse.Namespace
    system: System
    groups: list[Group]
    lags: Lags
    conn: asyncpg.Connection
    pids: dict[str, int] = field(default_factory=dict)

    async def outboxes_empty(self) -> bool:
        schemas = [contract(n).schema for n in NAMES]
        return not await self.conn.fetchval(
            "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {s}.outbox)" for s in schemas))

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def exited(self) -> str | None:
        for name, process in self.system.processes.items():
            if process.poll() is not None:
                return f"{name} exited with {process.returncode}:\n{self.system.log_tail(name)}"
        return None

    async def caught_up(self, *, since: float, timeout: float, on_poll=None) -> tuple[float, dict[str, float], dict]:
        """Poll until every group has lag 0, every outbox is empty, and the next poll finds the same with no new
        record on any consumed topic. Returns the moment everything was first seen caught up (the first of
        the two polls), when each group had committed all it consumes at the end (seconds after `since`: the
        first poll that saw its committed offsets at the final end offsets; a fast consumer may never show a
        lag between two polls, so the last move to lag 0 is not observable) and the final end offsets."""
        deadline = time.monotonic() + timeout
        history: list[tuple[float, dict[str, int]]] = []
        candidate: tuple[float, int] | None = None
        lag: dict[str, int] = {}
        last_report = time.monotonic()
        while True:
            if (why := self.exited()) is not None:
                raise RuntimeError(why)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not caught up within {timeout:.0f} s; lags {lag}; logs in {self.system.log_dir}")
            at = time.monotonic()
            empty = await self.outboxes_empty()
            ends, committed = await self.lags.poll()
            history.append((at - since, committed))
            lag = {g.group: sum(ends[tp] for tp in g.partitions()) - committed[g.group] for g in self.groups}
            if on_poll is not None:
                await on_poll(at)
            total = sum(ends.values())
            if empty and not any(lag.values()):
                if candidate is not None and candidate[1] == total:
                    final = {g.group: sum(ends[tp] for tp in g.partitions()) for g in self.groups}
                    done = {g: next(t for t, c in history if c[g] >= n) for g, n in final.items()}
                    return candidate[0], done, ends
                candidate = (at, total)
            else:
                candidate = None
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                behind = {g.split(".", 1)[1]: n for g, n in lag.items() if n}
                log(f"  {at - since:6.1f} s: behind {behind or 'nothing'}, outboxes {'empty' if empty else 'busy'}")
            await asyncio.sleep(self.args.poll_s)


def instances(system: System, service: str) -> list[str]:
    """The processes of `service` (`service`, `service#2` …: System.start)."""
    return [p for p in system.processes if p.split("#")[0] == service]


async def batch_metrics(system: System) -> dict[tuple[str, str], dict[str, float]]:
    """Per (service, topic): batches, seconds inside them and records processed, from each service's /metrics."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for process in system.processes:  # every instance: its figures add to its service's
            service = process.split("#")[0]
            text = (await client.get(system.url(process, "/metrics/"))).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    topic = sample.labels.get("topic", "").removeprefix(system.topic_prefix)
                    figures = out.setdefault((service, topic), {})
                    if sample.name == "yibao_batch_seconds_count":
                        figures["batches"] = figures.get("batches", 0) + sample.value
                    elif sample.name == "yibao_batch_seconds_sum":
                        figures["seconds"] = figures.get("seconds", 0) + sample.value
                    elif sample.name == "yibao_messages_total" and sample.labels.get("outcome") == "processed":
                        figures["processed"] = figures.get("processed", 0) + sample.value
                    elif sample.name == "yibao_batch_failures_total":
                        out.setdefault((service, topic), {})["failures"] = sample.value
    return out


def metrics_delta(after: dict, before: dict) -> dict[tuple[str, str], dict[str, float]]:
    return {k: {f: v - before.get(k, {}).get(f, 0.0) for f, v in fields.items()} for k, fields in after.items()}


class Sessions:
    """PostgreSQL sessions of the system's database, sampled at each poll: what they were doing (a rough
    share of where the database time goes: executing, waiting for a lock or I/O, or idle in a transaction,
    i.e. waiting for the service process)."""

    def __init__(self, conn: asyncpg.Connection, database: str) -> None:
        self.conn, self.database = conn, database
        self.states: Counter[str] = Counter()
        self.samples = 0

    async def sample(self) -> None:
        self.samples += 1
        for r in await self.conn.fetch(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'", self.database):
            what = r["state"]
            if r["wait_event_type"] and r["wait_event_type"] != "Client":
                what += f" waiting {r['wait_event_type']}:{r['wait_event']}"
            self.states[what] += 1

    def report(self) -> dict[str, float]:
        """Average number of sessions in each state."""
        return {k: round(v / max(self.samples, 1), 2) for k, v in self.states.most_common()}


async def load_register(dsn: str, count: int, chunk: int = 100_000) -> float:
    """The household register of people 0 … count-1 into enrollment and reconciliation (COPY), analyzed."""
    started = time.monotonic()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        for first in range(0, count, chunk):
            rows = [(*r, "public_security", now) for r in chain_receipts.register_rows(first, min(chunk, count - first))]
            await conn.copy_records_to_table(
                "population", schema_name="enrollment", records=rows,
                columns=("person_id", "region", "township", "village", "source", "imported_at"))
            await conn.copy_records_to_table(
                "baseline_person", schema_name="reconciliation", records=rows,
                columns=("person_id", "region", "township", "village", "source", "updated_at"))
        await conn.execute("ANALYZE enrollment.population; ANALYZE reconciliation.baseline_person")
    finally:
        await conn.close()
    return time.monotonic() - started


def profile_summary(path: Path, top: int = 12) -> dict:
    """A py-spy raw profile (collapsed stacks) in short: the start-up (imports) left out, the functions most
    often on top of the stack (self) and the project's functions most often anywhere in it (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = startup = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if any("_find_and_load" in f for f in frames):
            startup += int(n)
            continue
        total += int(n)
        own[frames[-1]] += int(n)
        for name in {f.rsplit(":", 1)[0] + ")" for f in frames if "services/" in f or "shared/" in f}:
            inclusive[name] += int(n)
    share = {k: round(v / max(total, 1) * 100, 1) for k, v in own.most_common(top)}
    project = {k: round(v / max(total, 1) * 100, 1) for k, v in inclusive.most_common(top + 8)
               if "shared/service.py" not in k and "__main__" not in k}
    return {"samples": total, "startup_samples": startup, "self_%": share, "project_inclusive_%": project}


async def prefill(bootstrap: str, topic: str, start: int, count: int) -> tuple[Truth, float]:
    truth = Truth()
    started = time.monotonic()
    await produce(bootstrap, topic, chain_receipts.receipts(start, count), on_sent=truth.add)
    return truth, time.monotonic() - started


# ---- 1. ingest only --------------------------------------------------------------------------------------

async def ingest_only(args: argparse.Namespace, bootstrap: str) -> dict:
    """The payment ingest service alone on the same receipts, measured by the ingest benchmark's pipeline."""
    bench = IngestBench(argparse.Namespace(receipts=args.receipts, batch=args.batch, outbox_batch=args.outbox_batch,
                                           instances=1, timeout=args.timeout, region=chain_receipts.REGIONS[0],
                                           seed=0))
    try:
        await bench.topics(bench.prefix)
        truth, seconds = await prefill(bootstrap, bench.prefix + RECEIVED, 0, args.receipts)
        log(f"ingest only: pre-filled {truth.records:,} receipts in {seconds:.1f} s; draining")
        result = await bench.pipeline(0, truth)
    finally:
        await bench.cleanup()
    result["run"] = "ingest only (payment_ingest ×1)"
    log(f"ingest only: {result['rate']:,.0f} receipts/s, checks {'ok' if result['ok'] else result['checks']}")
    return result


# ---- 2. the drain ----------------------------------------------------------------------------------------

async def drain(chain: Chain, truth: Truth) -> dict:
    args, system = chain.args, chain.system
    intake = "SELECT coalesce(sum(received), 0) FROM payment.receipt_intake"
    sampler = CpuSampler({})  # the servers (PostgreSQL, Kafka, Redis); the services are read from /proc
    spies: list[subprocess.Popen] = []
    t_launch = time.monotonic()
    for service in SERVICES:
        for instance in range(1, args.instances + 1):
            name = system.start(service, instance)
            chain.pids[name] = system.processes[name].pid
    cpu_launch = chain.cpu()
    # What the drain writes: WAL (the whole server's: includes anyone else's meanwhile) and the database's growth.
    wal_launch = await chain.conn.fetchval("SELECT pg_current_wal_lsn()")
    size_launch = await chain.conn.fetchval("SELECT pg_database_size(current_database())")
    if args.profile:
        spy = str(Path(sys.executable).parent / "py-spy")
        spies = [subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "50", "--format", "raw",
                                   "--nonblocking", "--output", str(system.log_dir / f"profile-{name}.txt")],
                                  stdout=subprocess.DEVNULL, stderr=open(system.log_dir / "py-spy.log", "ab"))
                 for name, pid in chain.pids.items()]
    healthy: dict[str, float] = {}
    first: dict[str, float] = {}

    async def wait_healthy() -> None:
        await system.wait_healthy(tuple(system.processes), timeout=120)
        healthy["at"] = time.monotonic()
        healthy.update({f"cpu:{k}": v for k, v in chain.cpu().items()})

    sessions = Sessions(chain.conn, system.pg_dsn.rsplit("/", 1)[1])

    async def on_poll(at: float) -> None:
        sampler.sample()
        await sessions.sample()
        if "at" not in first and await chain.conn.fetchval(intake) > 0:
            first["at"], first["count"] = at, await chain.conn.fetchval(intake)

    health = asyncio.create_task(wait_healthy())
    sampler.start()
    at_launch = machine()
    try:
        t_done, done_at, ends = await chain.caught_up(since=t_launch, timeout=args.timeout, on_poll=on_poll)
        await health
    finally:
        for spy_process in spies:
            if spy_process.poll() is None:
                spy_process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT (not on SIGTERM)
    cpu_done = chain.cpu()
    wal_bytes = await chain.conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", wal_launch)
    grown = await chain.conn.fetchval("SELECT pg_database_size(current_database())") - size_launch
    whole_machine = machine_share(at_launch)
    metrics = await batch_metrics(system)
    for spy_process in spies:
        try:
            spy_process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy_process.kill()
    n = truth.records
    if "at" in first and first["count"] < n:
        from_first, counted = t_done - first["at"], n - first["count"]
    else:  # a run too small to see between two polls: from the launch
        from_first, counted = t_done - t_launch, n
    groups = []
    for g in chain.groups:
        records = sum(ends[tp] for tp in g.partitions())
        caught = done_at[g.group]
        m = metrics.get((g.service, g.topic.removeprefix(system.topic_prefix)), {})
        groups.append({"service": g.service, "group": g.group.removeprefix(system.tag + "."),
                       "topic": g.topic.removeprefix(system.topic_prefix), "records": records,
                       "caught_up_s": round(caught, 2),
                       "receipts_per_s": round(n / caught) if records and caught else None,
                       "records_per_s": round(records / caught) if records and caught else None,
                       # the consumer's batches: how many, their mean time (database commit included), and the
                       # share of the time to its catch-up it spent inside one (near 1: the consumer itself limits)
                       "batches": int(m.get("batches", 0)),
                       "batch_ms": round(m["seconds"] / m["batches"] * 1000, 1) if m.get("batches") else None,
                       "busy": round(m.get("seconds", 0) / caught, 2) if caught else None,
                       "failures": int(m.get("failures", 0))})
    services = {}
    for name in SERVICES:
        processes = instances(system, name)
        total = sum(cpu_done[p] - cpu_launch[p] for p in processes)
        after = sum(cpu_done[p] - healthy[f"cpu:{p}"] for p in processes)
        services[name] = {"cpu_s": round(total, 2), "cpu_s_after_startup": round(after, 2),
                          "us_per_receipt": round(total / n * 1e6, 1),
                          "us_per_receipt_after_startup": round(after / n * 1e6, 1),
                          "cores_busy": round(total / (t_done - t_launch), 2)}
    servers = {k: v for k, v in sampler.report(n).items()}
    us_services = sum(s["us_per_receipt"] for s in services.values())
    us_servers = sum(v for k, v in servers.items() if k.endswith("us/receipt"))
    return {
        "receipts": n, "seconds_from_launch": round(t_done - t_launch, 2),
        "seconds_from_first_receipt": round(from_first, 2),
        "healthy_after_s": round(healthy["at"] - t_launch, 2),
        "first_receipt_after_s": round(first["at"] - t_launch, 2) if "at" in first else None,
        # the end-to-end rate: receipts counted in after the first poll that saw any, to the moment all caught up
        "rate": counted / from_first if from_first > 0 else 0.0,
        "rate_from_launch": n / (t_done - t_launch),
        "groups": groups, "services": services, "servers": servers,
        "postgres_sessions": sessions.report(), "machine": whole_machine,
        "postgres_bytes_per_receipt": {"wal": round(float(wal_bytes) / n), "database_growth": round(grown / n)},
        "cpu_us_per_receipt": {"services": round(us_services, 1), "servers": round(us_servers, 1),
                               "all": round(us_services + us_servers, 1), "cores": psutil.cpu_count(),
                               "rate_that_fills_the_cores": round(psutil.cpu_count() * 1e6 / (us_services + us_servers))
                               if us_services + us_servers else 0},
        **({"profiles": {p.stem.removeprefix("profile-"): {"file": str(p), **profile_summary(p)}
                         for p in sorted(system.log_dir.glob("profile-*.txt"))}} if args.profile else {}),
    }


async def checks(conn: asyncpg.Connection, accepted: int, accepted_fen: int) -> dict:
    """Every accepted receipt in each service's books, with equal sums; no dead letter, no unplaced payer."""
    one = "SELECT count(*), coalesce(sum(amount_fen), 0)::bigint FROM "
    books = {
        "payment ingest accepted": one + "payment.receipt WHERE verdict = 'accepted'",
        "enrollment payment rows": one + "enrollment.payment",
        "subsidy payment rows": one + "subsidy.payment",
        "reconciliation receipt rows": one + "reconciliation.receipt",
        "reconciliation booked by enrollment": one + "reconciliation.enrollment_payment",
        "enrollment people paid": "SELECT count(*), coalesce(sum(paid_total_fen), 0)::bigint FROM enrollment.enrollment "
                                  "WHERE paid_total_fen > 0",
        "village counters (paid people, fen)": "SELECT count(*) FILTER (WHERE paid_total_fen > 0), "
                                               "coalesce(sum(paid_total_fen), 0)::bigint FROM reconciliation.enrollment_year",
    }
    out: dict[str, tuple] = {}
    for name, sql in books.items():
        n, fen = await conn.fetchrow(sql)
        out[name] = ([n, int(fen)], [accepted, accepted_fen])
    missing = "SELECT count(*) FROM payment.receipt p WHERE p.verdict = 'accepted' AND NOT EXISTS " \
              "(SELECT 1 FROM {} x WHERE x.receipt_no = p.receipt_no)"
    for name, table in (("missing from enrollment", "enrollment.payment"), ("missing from subsidy", "subsidy.payment"),
                        ("missing from reconciliation", "reconciliation.receipt")):
        out[name] = (await conn.fetchval(missing.format(table)), 0)
    out["rejected by payment ingest"] = (await conn.fetchval(
        "SELECT count(*) FROM payment.receipt WHERE verdict = 'rejected'"), 0)
    out["dead letters (all services)"] = (await conn.fetchval(
        "SELECT " + " + ".join(f"(SELECT count(*) FROM {contract(n).schema}.dead_letter)" for n in NAMES)), 0)
    out["paid but no village"] = (await conn.fetchval(
        "SELECT count(*) FROM reconciliation.enrollment_year WHERE paid_total_fen > 0 AND village IS NULL"), 0)
    return {k: v for k, v in out.items()}


def checks_ok(found: dict, *, placed: bool) -> bool:
    return all(a == b for k, (a, b) in found.items() if placed or k != "paid but no village")


# ---- 3. freshness ----------------------------------------------------------------------------------------

TARGETS = {  # what is polled for a followed receipt: (query over the pending keys, key: receipt number or person)
    "ingest accepted": ("SELECT receipt_no FROM payment.receipt WHERE receipt_no = ANY($1::text[]) "
                        "AND verdict = 'accepted'", "receipt"),
    "enrollment record paid": ("SELECT person_id FROM enrollment.enrollment WHERE person_id = ANY($1::text[]) "
                               "AND year = 2025 AND paid_total_fen > 0", "person"),
    "village counter": ("SELECT person_id FROM reconciliation.enrollment_year WHERE person_id = ANY($1::text[]) "
                        "AND year = 2025 AND paid_total_fen > 0", "person"),
    "reconciliation receipt ledger": ("SELECT receipt_no FROM reconciliation.receipt "
                                      "WHERE receipt_no = ANY($1::text[])", "receipt"),
}


async def freshness(chain: Chain, start: int, truth: Truth) -> dict:
    args, system = chain.args, chain.system
    bootstrap, topic = system.servers.kafka_bootstrap, system.topic(RECEIVED)
    warm = int(args.fresh_rate * args.fresh_warmup_seconds)
    count = int(args.fresh_rate * args.fresh_seconds)
    if warm:
        log(f"freshness: warming up, {warm:,} receipts at {args.fresh_rate:,.0f}/s")
        await produce(bootstrap, topic, chain_receipts.receipts(start, warm), rate=args.fresh_rate, linger_ms=5,
                      on_sent=truth.add)
    records = list(chain_receipts.receipts(start + warm, count))
    followed = {chain_receipts.receipt_no(i): chain_receipts.person_id(i)
                for i in range(start + warm, start + warm + count) if (i - start - warm) % args.sample == 0}
    sent: dict[str, float] = {}
    pending: dict[str, dict[str, str]] = {t: {} for t in TARGETS}   # target -> polled key -> receipt number
    found: dict[str, list[tuple[float, float]]] = {t: [] for t in TARGETS}  # (sent, latency)
    conn = await asyncpg.connect(system.pg_dsn)
    sending = True

    def stamp(r: Simulated) -> None:
        truth.add(r)
        if r.receipt_no in followed:
            at = time.monotonic()
            sent[r.receipt_no] = at
            for target, (_sql, key) in TARGETS.items():
                pending[target][followed[r.receipt_no] if key == "person" else r.receipt_no] = r.receipt_no

    async def poll() -> None:
        while sending or any(pending.values()):
            round_started = time.monotonic()
            for target, (sql, _key) in TARGETS.items():
                keys = list(pending[target])
                if not keys:
                    continue
                asked = time.monotonic()
                for row in await conn.fetch(sql, keys):
                    no = pending[target].pop(row[0], None)
                    if no is not None:
                        found[target].append((sent[no], asked - sent[no]))
            await asyncio.sleep(max(0.0, args.poll_ms / 1000 - (time.monotonic() - round_started)))

    poller = asyncio.create_task(poll())
    cpu_before = chain.cpu()
    metrics_before = await batch_metrics(system)
    at_start = machine()
    started = time.monotonic()
    try:
        log(f"freshness: {count:,} receipts at {args.fresh_rate:,.0f}/s, following {len(followed):,}")
        await produce(bootstrap, topic, iter(records), rate=args.fresh_rate, on_sent=stamp, linger_ms=5)
        offered = count / (time.monotonic() - started)
        sending = False
        try:
            await asyncio.wait_for(asyncio.shield(poller), timeout=args.fresh_timeout)
        except TimeoutError:
            log(f"freshness: still pending after {args.fresh_timeout:.0f} s: "
                f"{ {t: len(p) for t, p in pending.items()} }")
        cpu_after = chain.cpu()
        whole_machine = machine_share(at_start)
        ended = time.monotonic()
    finally:
        sending = False
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        await conn.close()
    t_caught, _, _ = await chain.caught_up(since=started, timeout=args.timeout)
    batches = metrics_delta(await batch_metrics(system), metrics_before)
    out: dict = {"offered_rate": round(offered), "receipts": count, "followed": len(followed),
                 "poll_ms": args.poll_ms, "warmup_receipts": warm,
                 "caught_up_after_s": round(t_caught - started, 2),
                 # the chain kept up with the offered rate: everything in soon after the last send (otherwise the
                 # latencies measure a growing backlog, not the pipeline)
                 "kept_up": t_caught - started <= args.fresh_seconds * 1.1 + 5,
                 "machine": whole_machine, "targets": {}}
    for target, values in found.items():
        latencies = [v for _, v in values]
        windows: dict[int, list[float]] = {}
        for at, v in values:
            windows.setdefault(int((at - started) // 10), []).append(v)
        out["targets"][target] = {
            "seen": len(values), "missing": len(pending[target]), **quantiles_ms(latencies),
            "p99_ms_by_10s": {f"{w * 10}-{w * 10 + 10}s": quantiles_ms(v)["p99_ms"]
                              for w, v in sorted(windows.items()) if len(v) >= 5}}
    out["batches"] = {f"{service} {topic}": {"batches": int(m.get("batches", 0)),
                                              "batch_ms": round(m["seconds"] / m["batches"] * 1000, 1)}
                      for (service, topic), m in sorted(batches.items()) if m.get("batches")}
    wall = ended - started
    spent = {name: sum(cpu_after[p] - cpu_before[p] for p in instances(chain.system, name)) for name in SERVICES}
    out["services"] = {name: {"cores_busy": round(spent[name] / wall, 2),
                              "us_per_receipt": round(spent[name] / count * 1e6, 1)} for name in SERVICES}
    return out


# ---- the report ------------------------------------------------------------------------------------------

def table(report: dict) -> str:
    lines = []
    base = report.get("ingest_only")
    d = report["chain"]
    lines.append(f"chain: {d['receipts']:,} receipts through the five services")
    lines.append(f"  end to end {d['rate']:,.0f} receipts/s ({d['seconds_from_first_receipt']:.1f} s from the first "
                 f"receipt in; {d['rate_from_launch']:,.0f}/s, {d['seconds_from_launch']:.1f} s from the launch; "
                 f"healthy after {d['healthy_after_s']:.1f} s)")
    if base:
        lines.append(f"  ingest only {base['rate']:,.0f} receipts/s (payment_ingest alone, same receipts, "
                     f"{base['seconds']:.1f} s): chain = {report['ratios']['chain_vs_ingest']:.2f} × ingest only")
    lines.append(f"  {'service':<24}{'group':<20}{'topic':<28}{'records':>9}{'caught up s':>12}{'receipts/s':>11}"
                 f"{'records/s':>10}{'batches':>8}{'batch ms':>9}{'busy':>6}")
    for g in d["groups"]:
        rate = f"{g['receipts_per_s']:,}" if g["receipts_per_s"] else "-"
        rrate = f"{g['records_per_s']:,}" if g["records_per_s"] else "-"
        lines.append(f"  {g['service']:<24}{g['group'].split('.', 1)[1]:<20}{g['topic']:<28}{g['records']:>9,}"
                     f"{g['caught_up_s']:>12.1f}{rate:>11}{rrate:>10}{g['batches']:>8}{g['batch_ms'] or '-':>9}"
                     f"{g['busy'] if g['records'] else '-':>6}" + (f"  {g['failures']} FAILED" if g["failures"] else ""))
    lines.append(f"  {'process':<24}{'CPU s':>8}{'µs/receipt':>12}{'after start-up':>16}{'cores busy':>12}")
    for name, s in d["services"].items():
        lines.append(f"  {name:<24}{s['cpu_s']:>8.1f}{s['us_per_receipt']:>12.1f}{s['us_per_receipt_after_startup']:>16.1f}"
                     f"{s['cores_busy']:>12.2f}")
    servers = {k.removesuffix(" us/receipt"): v for k, v in d["servers"].items() if k.endswith(" us/receipt")}
    for name, us in servers.items():
        lines.append(f"  {name + ' (shared)':<24}{'':>8}{us:>12.1f}{'':>16}{d['servers'].get(name, 0):>12.2f}")
    c = d["cpu_us_per_receipt"]
    lines.append(f"  all: {c['all']} µs/receipt (services {c['services']}, servers {c['servers']}) = at most "
                 f"{c['rate_that_fills_the_cores']:,}/s on {c['cores']} cores")
    if "postgres_bytes_per_receipt" in d:
        b = d["postgres_bytes_per_receipt"]
        lines.append(f"  PostgreSQL per receipt: {b['wal']:,} bytes of WAL, the database grew {b['database_growth']:,} bytes")
    lines.append(f"  PostgreSQL sessions of the system (average, not idle): {d['postgres_sessions']}")
    lines.append(f"  the whole machine meanwhile (everyone's processes): {d['machine']}")
    if base:
        lines.append(f"  ingest only: service {base['cpu'].get('service us/receipt')} µs/receipt, all "
                     f"{base['cpu_ceiling']['us_per_receipt']} µs/receipt")
    for name, prof in d.get("profiles", {}).items():
        lines.append(f"  py-spy {name} ({prof['samples']} samples): most on CPU in "
                     + ", ".join(f"{k} {v}%" for k, v in list(prof["project_inclusive_%"].items())[:6]))
    lines.append(f"  checks: {'ok' if report['checks_ok'] else 'FAILED ' + json.dumps(report['checks'], ensure_ascii=False)}")
    f = report.get("freshness")
    if f:
        lines.append(f"freshness: {f['receipts']:,} receipts at {f['offered_rate']:,}/s offered, "
                     f"{f['followed']:,} followed (polled every {f['poll_ms']} ms), all caught up "
                     f"{f['caught_up_after_s']:.1f} s after the first"
                     + ("" if f["kept_up"] else " — DID NOT KEEP UP: the latencies include a growing backlog"))
        lines.append(f"  {'from the post to':<32}{'seen':>6}{'missing':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
                     f"{'max ms':>9}  p99 per 10 s")
        for t, v in f["targets"].items():
            lines.append(f"  {t:<32}{v['seen']:>6}{v['missing']:>9}{v.get('p50_ms', '-'):>9}{v.get('p90_ms', '-'):>9}"
                         f"{v.get('p99_ms', '-'):>9}{v.get('max_ms', '-'):>9}  {v['p99_ms_by_10s']}")
        lines.append("  mean batch ms: " + ", ".join(f"{k} {v['batch_ms']} ({v['batches']})"
                                                  for k, v in f["batches"].items()))
        lines.append(f"  the whole machine meanwhile: {f['machine']}")
        lines.append("  cores busy / µs per receipt: " + ", ".join(
            f"{n} {s['cores_busy']}/{s['us_per_receipt']}" for n, s in f["services"].items()))
    lines.append(f"load average before {report['load_before']}, after {report['load_after']} (shared machine)")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    BenchSystem.batch, BenchSystem.outbox_batch, BenchSystem.log_level = args.batch, args.outbox_batch, args.log_level
    report: dict = {"started": datetime.now(UTC).isoformat(), "args": vars(args), "cores": psutil.cpu_count(),
                    "load_before": [round(x, 2) for x in os.getloadavg()]}
    with ExitStack() as stack:
        servers = find_servers(stack)
        if not args.no_ingest:
            report["ingest_only"] = await ingest_only(args, servers.kafka_bootstrap)
        system = await create_system(servers, ROOT / "artifacts" / "bench", kind=BenchSystem)
        lags = Lags(servers.kafka_bootstrap, consumer_groups(system))
        conn = await asyncpg.connect(system.pg_dsn)
        chain = Chain(args, system, lags.groups, lags, conn)
        extra = int(args.fresh_rate * (args.fresh_seconds + args.fresh_warmup_seconds)) if args.fresh_seconds else 0
        try:
            await lags.start()
            if not args.no_register:
                seconds = await load_register(system.pg_dsn, args.receipts + extra)
                log(f"chain: register of {args.receipts + extra:,} people loaded in {seconds:.1f} s")
            truth, seconds = await prefill(servers.kafka_bootstrap, system.topic(RECEIVED), 0, args.receipts)
            log(f"chain: pre-filled {truth.records:,} receipts in {seconds:.1f} s "
                f"({dict(truth.outcomes)}); starting the five services, {len(lags.groups)} consumer groups")
            report["chain"] = await drain(chain, truth)
            log(f"chain: caught up, {report['chain']['rate']:,.0f} receipts/s end to end; checking the books")
            report["checks"] = await checks(conn, truth.outcomes["accepted"], truth.accepted_fen)
            report["checks_ok"] = checks_ok(report["checks"], placed=not args.no_register)
            if args.fresh_seconds > 0:
                report["freshness"] = await freshness(chain, args.receipts, truth)  # adds to truth
                report["checks_after_freshness"] = await checks(conn, truth.outcomes["accepted"], truth.accepted_fen)
                report["checks_ok"] = report["checks_ok"] and checks_ok(report["checks_after_freshness"],
                                                                        placed=not args.no_register)
        finally:
            await lags.stop()
            await conn.close()
            if args.keep:
                system.stop_all()
                log(f"kept: database {system.pg_dsn}, topics {system.topic_prefix}*")
            else:
                await drop_system(system)
                await forget_redis(servers.redis_url, system.topic_prefix)
    if "ingest_only" in report:
        base = report["ingest_only"]["rate"]
        d = report["chain"]
        report["ratios"] = {"chain_vs_ingest": round(d["rate"] / base, 3),
                            "groups_vs_ingest": {g["group"]: round(g["receipts_per_s"] / base, 3)
                                                 for g in d["groups"] if g["receipts_per_s"]},
                            "cpu_per_receipt_vs_ingest": round(
                                d["cpu_us_per_receipt"]["all"] / report["ingest_only"]["cpu_ceiling"]["us_per_receipt"], 2)}
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "artifacts" / "bench" / f"chain-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(table(report))
    print(f"report: {out}")
    return 0 if report["checks_ok"] and (not report.get("ingest_only") or report["ingest_only"]["ok"]) else 1


async def forget_redis(url: str, prefix: str) -> None:
    redis = aioredis.from_url(url)
    try:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
    finally:
        await redis.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=int(os.environ.get("CHAIN_RECEIPTS") or 1_000_000),
                   help="receipts pre-filled (default $CHAIN_RECEIPTS or 1,000,000)")
    p.add_argument("--no-ingest", action="store_true", help="skip the ingest-only run (no ratios)")
    p.add_argument("--instances", type=int, default=1, help="processes per service (the same consumer groups)")
    p.add_argument("--no-register", action="store_true", help="no household register: every payer unplaced")
    p.add_argument("--batch", type=int, default=DEFAULTS["batch_max_records"].default,
                   help="YIBAO_BATCH_MAX_RECORDS of every service (default: the services' own)")
    p.add_argument("--outbox-batch", type=int, default=DEFAULTS["outbox_batch"].default,
                   help="YIBAO_OUTBOX_BATCH of every service (default: the services' own)")
    p.add_argument("--log-level", default="WARNING", help="YIBAO_LOG_LEVEL of the services (as the ingest bench)")
    p.add_argument("--fresh-rate", type=float, default=3000, help="receipts/s offered in the freshness run")
    p.add_argument("--fresh-seconds", type=float, default=60, help="length of the freshness run (0: skip it)")
    p.add_argument("--fresh-warmup-seconds", type=float, default=10, help="the same rate, unmeasured, before it")
    p.add_argument("--sample", type=int, default=50, help="follow one receipt in this many")
    p.add_argument("--poll-ms", type=float, default=50, help="how often followed receipts are looked for")
    p.add_argument("--fresh-timeout", type=float, default=600,
                   help="seconds to wait for the last followed receipt after the last send")
    p.add_argument("--poll-s", type=float, default=0.25, help="how often consumer lags are polled in the drain")
    p.add_argument("--timeout", type=float, default=3600, help="seconds before a drain counts as stuck")
    p.add_argument("--profile", action="store_true", help="py-spy record every service during the drain (raw stacks "
                   "in the log folder; distorts the figures)")
    p.add_argument("--keep", action="store_true", help="keep the database and topics for inspection")
    sys.exit(asyncio.run(run(p.parse_args())))


if __name__ == "__main__":
    main()
