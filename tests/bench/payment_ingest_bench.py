"""The payment ingest benchmark: `make bench` (or `python -m tests.bench.payment_ingest_bench`).

1. Pre-fill a fresh receipt topic with a simulated season (`yibao simulate receipts`'s
   generator: ~1 % rejected, ~0.2 % not JSON, ~1.7 % duplicates) — 1,000,000 by default.
2. Alternate, `--rounds` times each: the baseline (tests/bench/bare_consumer.py: decode
   + COPY, no logic) and the pipeline (`--instances` real `python -m services.payment_ingest`
   processes in one consumer group, two by default — one per core — on a fresh database),
   both draining the same topic from the start. The
   pipeline is done when every record is in the intake ledger, the outbox is empty
   (events published) and the Redis intake counter says the same. After each, row
   counts and sums are checked against the generator's ground truth.
3. A latency run: a fresh topic, the service running, a producer offering a steady
   `--latency-rate` receipts/s; p50/p99 from the moment a receipt is handed to the
   producer until its accepted event is read back, after `--latency-warmup-seconds` at
   the same rate unmeasured (another region's receipts), and p99 per 5 s window.

CPU per process (the service or baseline consumer, PostgreSQL, Kafka, Redis) is
sampled with psutil over each drain. The machine is shared: the figures include
whatever else ran. The report goes to stdout and artifacts/bench/payment-<time>.json.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cli.receipt_season import Simulated, produce, season
from shared.kafka_admin import ensure_topics
from shared.migrate import migrate
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS
from tests.support.kafka import lag
from tests.support.system import free_port, with_database

ROOT = Path(__file__).resolve().parents[2]
RECEIVED, ACCEPTED, REJECTED, DEAD = ("payment.receipt-received", "payment.receipt-accepted",
                                      "payment.receipt-rejected", "dead-letter")


class CpuSampler:
    """CPU seconds per group of processes over a drain: the named processes, plus the servers
    (PostgreSQL backends come and go, so the server processes are looked up at every sample)."""

    def __init__(self, named: dict[str, psutil.Process]) -> None:
        self.named = named
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.t0 = self.t1 = time.monotonic()

    def sample(self) -> None:
        self.t1 = time.monotonic()
        groups = {**{k: [p] for k, p in self.named.items()}, **infra()}
        for name, procs in groups.items():
            for p in procs:
                try:
                    t = p.cpu_times()
                except psutil.Error:
                    continue
                self.first.setdefault((name, p.pid), t.user + t.system)
                self.last[(name, p.pid)] = t.user + t.system

    def start(self) -> None:
        self.first.clear()
        self.last.clear()
        self.t0 = time.monotonic()
        self.sample()

    def report(self, records: int | None = None) -> dict[str, float]:
        """Average cores busy per group; with `records`, also CPU microseconds per record."""
        wall = max(self.t1 - self.t0, 1e-9)
        used: Counter[str] = Counter()
        for (name, pid), value in self.last.items():
            used[name] += value - self.first[(name, pid)]
        out = {name: round(v / wall, 2) for name, v in used.items()}
        if records:
            out.update({f"{name} us/receipt": round(v / records * 1e6, 1) for name, v in used.items()})
        return out


_INFRA_CACHE: dict[int, tuple[str, psutil.Process]] = {}


def infra() -> dict[str, list[psutil.Process]]:
    """PostgreSQL, Kafka and Redis processes (kept psutil objects, so CPU deltas are per process)."""
    found: dict[str, list[psutil.Process]] = {"postgres": [], "kafka": [], "redis": []}
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.pid in _INFRA_CACHE:
            group, kept = _INFRA_CACHE[p.pid]
            found[group].append(kept)
            continue
        name, cmd = p.info["name"] or "", " ".join(p.info["cmdline"] or [])
        group = ("postgres" if name.startswith("postgres") else "kafka" if "kafka.Kafka" in cmd
                 else "redis" if name.startswith("redis-server") else None)
        if group:
            _INFRA_CACHE[p.pid] = (group, p)
            found[group].append(p)
    return found


@dataclasses.dataclass
class Truth:
    records: int = 0
    outcomes: Counter = dataclasses.field(default_factory=Counter)
    accepted_fen: int = 0
    all_fen: int = 0
    rejected_by: Counter = dataclasses.field(default_factory=Counter)

    def add(self, r: Simulated) -> None:
        self.records += 1
        kind, _, reason = r.expect.partition(":")
        self.outcomes[kind] += 1
        self.all_fen += r.amount_fen
        if kind == "accepted":
            self.accepted_fen += r.amount_fen
        if reason:
            self.rejected_by[reason] += 1


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = ServiceSettings()
        self.tag = f"bench{uuid.uuid4().hex[:8]}"
        self.prefix = f"{self.tag}."
        self.databases: list[str] = []
        self.log_dir = ROOT / "artifacts" / "bench" / self.tag
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # ---- set-up -------------------------------------------------------------------------------------
    async def topics(self, prefix: str) -> None:
        await ensure_topics(self.settings.kafka_bootstrap,
                            [dataclasses.replace(t, name=prefix + t.name) for t in ALL_TOPICS])

    async def database(self, name: str, *, migrated: bool) -> str:
        admin = await asyncpg.connect(self.settings.pg_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.databases.append(name)
        dsn = with_database(self.settings.pg_dsn, name)
        if migrated:
            await asyncio.to_thread(migrate, dsn)
        return dsn

    async def prefill(self) -> Truth:
        truth = Truth()
        started = time.monotonic()
        await produce(self.settings.kafka_bootstrap, self.prefix + RECEIVED,
                      season(self.args.region, self.args.receipts, seed=self.args.seed), on_sent=truth.add)
        log(f"pre-filled {truth.records:,} receipts in {time.monotonic() - started:.1f}s: {dict(truth.outcomes)}")
        return truth

    async def end_offsets(self, prefix: str, names: tuple[str, ...]) -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap)
        await consumer.start()
        try:
            out = {}
            for name in names:
                topic = prefix + name
                parts = [TopicPartition(topic, p) for p in range(next(t for t in ALL_TOPICS if t.name == name).partitions)]
                out[name] = sum((await consumer.end_offsets(parts)).values())
            return out
        finally:
            await consumer.stop()

    def service_env(self, dsn: str, prefix: str, group: str, port: int) -> dict[str, str]:
        return {**os.environ, "YIBAO_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
                "YIBAO_REDIS_URL": self.settings.redis_url, "YIBAO_PG_DSN": dsn, "YIBAO_TOPIC_PREFIX": prefix,
                "YIBAO_GROUP_PREFIX": group, "YIBAO_HTTP_PORT": str(port), "YIBAO_LOG_LEVEL": "WARNING",
                "YIBAO_BATCH_MAX_RECORDS": str(self.args.batch), "YIBAO_OUTBOX_BATCH": str(self.args.outbox_batch),
                "PYTHONUNBUFFERED": "1"}

    def start_service(self, env: dict[str, str], name: str) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "services.payment_ingest"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)

    # ---- the baseline -------------------------------------------------------------------------------
    async def baseline(self, i: int, truth: Truth, dsn: str) -> dict:
        table = f"raw_{i}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.bare_consumer", "--bootstrap", self.settings.kafka_bootstrap,
             "--topic", self.prefix + RECEIVED, "--group", f"{self.tag}.baseline{i}", "--dsn", dsn,
             "--table", table, "--expect", str(truth.records), "--batch", str(self.args.batch)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=open(self.log_dir / f"baseline{i}.log", "ab"))
        cpu = CpuSampler({"consumer": psutil.Process(proc.pid)})
        cpu.start()
        while proc.poll() is None:
            cpu.sample()
            await asyncio.sleep(0.25)
        out = json.loads(proc.stdout.read().decode().strip().splitlines()[-1])
        conn = await asyncpg.connect(dsn)
        try:
            n, fen = await conn.fetchrow(f"SELECT count(*), coalesce(sum(amount_fen), 0) FROM {table}")
            await conn.execute(f"DROP TABLE {table}")
        finally:
            await conn.close()
        checks = {"rows": (n, truth.records), "amount_fen": (int(fen), truth.all_fen)}
        return {"run": f"baseline {i + 1}", "rate": out["rate"], "seconds": out["seconds"],
                "cpu": cpu.report(truth.records),
                "checks": checks, "ok": all(a == b for a, b in checks.values())}

    # ---- the pipeline -------------------------------------------------------------------------------
    async def pipeline(self, i: int, truth: Truth, *, profile: bool = False) -> dict:
        dsn = await self.database(f"yibao_{self.tag}_p{i}", migrated=True)
        before = await self.end_offsets(self.prefix, (ACCEPTED, REJECTED, DEAD))
        t_launched = time.monotonic()
        procs = [self.start_service(self.service_env(dsn, self.prefix, f"{self.tag}p{i}", free_port()), f"pipeline{i}-{n}")
                 for n in range(self.args.instances)]
        spies = []
        if profile:  # one py-spy per instance: the relay runs in one of them (the outbox leader) only
            spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(p.pid),
                                       "--rate", "100", "--format", "raw", "--nonblocking",
                                       "--output", str(self.log_dir / f"profile-{n + 1}.txt")],
                                      stdout=subprocess.DEVNULL, stderr=open(self.log_dir / "py-spy.log", "ab"))
                     for n, p in enumerate(procs)]
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "payment"})
        redis = aioredis.from_url(self.settings.redis_url, decode_responses=True)
        group, topic = f"{self.tag}p{i}.payment_ingest.receipts", self.prefix + RECEIVED
        cpu = CpuSampler({f"service{n + 1}" if len(procs) > 1 else "service": psutil.Process(p.pid)
                          for n, p in enumerate(procs)})
        t_first = t_all_in = t_settled = None
        first_count = settled_count = 0
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        deadline = time.monotonic() + self.args.timeout
        try:
            while True:
                received = await conn.fetchval("SELECT coalesce(sum(received), 0) FROM receipt_intake")
                if t_settled is None and len(procs) > 1 and await group_settled(admin, group, len(procs)):
                    t_settled, settled_count = time.monotonic(), received
                if t_first is None and received > 0:
                    t_first, first_count = time.monotonic(), received
                    cpu.start()
                elif t_first is not None:
                    cpu.sample()
                # Done: every record's offset committed (so its transaction and counters are done: a batch
                # redelivered after a rebalance counts twice in `received`, as duplicates the second
                # time), and the outbox empty (every event published).
                if received >= truth.records and t_all_in is None:
                    t_all_in = time.monotonic()  # every receipt decided and committed; events may still wait
                if received >= truth.records and await lag(self.settings.kafka_bootstrap, group, topic) == 0:
                    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)"):
                        break
                if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                    raise RuntimeError(f"pipeline {i} did not finish (received {received}); see {self.log_dir}")
                await asyncio.sleep(0.1)
            t_done = time.monotonic()
            checks = await self.check_pipeline(conn, redis, truth, before)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=60)
            for spy in spies:
                spy.wait(timeout=60)
            await redis.delete(f"{self.prefix}payment:intake")
            await redis.aclose()
            await conn.close()
            await admin.close()
        seconds = t_done - t_first
        if first_count >= truth.records:  # a run too small to time between polls: count from the launch
            seconds, first_count = t_done - t_launched, 0
        return {"run": f"pipeline {i + 1}" + (f" ×{len(procs)}" if len(procs) > 1 else "") + (" (profiled)" if profile else ""),
                "rate": (truth.records - first_count) / seconds, "seconds": seconds,
                # how long the last events took to leave the outbox after the last receipt was committed:
                # near 0 when the consumers limit the rate, large when the outbox relay does
                "publish_tail_s": round(t_done - t_all_in, 2),
                # several instances join the group one after another, and each join pauses every consumer
                # (a rebalance): the rate from the moment all were in, as a campaign running for weeks sees it
                **({"rate_settled": (truth.records - settled_count) / (t_done - t_settled)}
                   if t_settled is not None and settled_count < truth.records * 0.8 else {}),
                "cpu": (usage := cpu.report(truth.records - first_count)),
                "cpu_ceiling": cpu_ceiling(usage),
                "checks": checks, "ok": all(a == b for a, b in checks.values())}

    async def check_pipeline(self, conn, redis, truth: Truth, before: dict[str, int]) -> dict:
        acc_n, acc_fen = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(amount_fen), 0) FROM receipt WHERE verdict = 'accepted'")
        by_reason = Counter({r["reason_code"]: r["n"] for r in await conn.fetch(
            "SELECT reason_code, count(*) n FROM receipt WHERE verdict = 'rejected' GROUP BY 1")})
        t = await conn.fetchrow("SELECT sum(received) r, sum(accepted) a, sum(rejected) j, sum(dead_lettered) d, "
                                "sum(duplicate) u FROM receipt_intake")
        dead_rows = await conn.fetchval("SELECT count(*) FROM dead_letter")
        after = await self.end_offsets(self.prefix, (ACCEPTED, REJECTED, DEAD))
        live = Counter()
        for key in await redis.smembers(f"{self.prefix}payment:counters"):
            values = await redis.hgetall(key)
            for name in ("accepted", "reversed", "accepted:fen", "reversed:fen"):
                live[name] += int(values.get(name, 0))
        for key in await redis.smembers(f"{self.prefix}payment:counters"):
            await redis.delete(key)
        await redis.delete(f"{self.prefix}payment:counters")
        return {
            "accepted rows": (acc_n, truth.outcomes["accepted"]),
            "accepted fen": (int(acc_fen), truth.accepted_fen),
            "rejected by reason": (dict(sorted(by_reason.items())), dict(sorted(truth.rejected_by.items()))),
            "dead letters kept": (dead_rows, truth.outcomes["dead_lettered"]),
            "in = acc + rej + dead + dup": (t["r"], t["a"] + t["j"] + t["d"] + t["u"]),
            # records delivered twice (a rebalance between the commit and the offset commit) are duplicates
            "duplicates (less redelivered)": (t["u"] - (t["r"] - truth.records), truth.outcomes["duplicate"]),
            "redis intake = ledger": (int(await redis.hget(f"{self.prefix}payment:intake", "received") or 0), t["r"]),
            "accepted events published": (after[ACCEPTED] - before[ACCEPTED], truth.outcomes["accepted"]),
            "rejected events published": (after[REJECTED] - before[REJECTED], truth.outcomes["rejected"]),
            "dead-letter events published": (after[DEAD] - before[DEAD], truth.outcomes["dead_lettered"]),
            "redis accepted count": (live["accepted"] + live["reversed"], truth.outcomes["accepted"]),
            "redis accepted fen": (live["accepted:fen"] + live["reversed:fen"], truth.accepted_fen),
        }

    # ---- latency at a steady offered rate ----------------------------------------------------------
    async def latency(self) -> dict:
        prefix = f"{self.tag}l."
        await self.topics(prefix)
        dsn = await self.database(f"yibao_{self.tag}_lat", migrated=True)
        port = free_port()
        proc = self.start_service(self.service_env(dsn, prefix, f"{self.tag}lat", port), "latency")
        count = int(self.args.latency_rate * self.args.latency_seconds)
        records = list(season(self.args.region, count, seed=self.args.seed + 1))
        want = sum(1 for r in records if r.expect == "accepted")
        sent: dict[str, float] = {}
        latencies: list[float] = []
        sent_at: list[float] = []
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False)
        try:
            await wait_healthy(proc, port)
            await consumer.start()
            parts = [TopicPartition(prefix + ACCEPTED, p) for p in range(12)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            cpu = CpuSampler({"service": psutil.Process(proc.pid)})

            async def read_back() -> None:
                while len(latencies) < want:
                    for rs in (await consumer.getmany(timeout_ms=100)).values():
                        now = time.monotonic()
                        for r in rs:
                            at = sent.get(json.loads(r.value)["receipt_no"])
                            if at is None:
                                continue  # a warm-up receipt
                            latencies.append(now - at)
                            sent_at.append(at)
                    cpu.sample()

            def stamp(r: Simulated) -> None:
                if r.expect == "accepted":
                    sent.setdefault(r.receipt_no, time.monotonic())

            # Warm up first: the service joins its consumer group after it reports healthy, and the
            # first receipts would otherwise measure the group join, not the pipeline.
            # (another region's season: its receipt numbers cannot clash with the measured ones)
            other = "341522" if self.args.region != "341522" else "430502"
            warm = [r for r in season(other, 200, seed=self.args.seed + 2) if r.expect == "accepted"]
            await produce(self.settings.kafka_bootstrap, prefix + RECEIVED, iter(warm))
            seen = 0
            while seen < len(warm):
                seen += sum(len(rs) for rs in (await consumer.getmany(timeout_ms=200)).values())
            reader = asyncio.create_task(read_back())
            # Then the same rate, unmeasured, for --latency-warmup-seconds: the tables fill and get their
            # planner statistics, as a running campaign's have (a fresh receipt table is planned with
            # sequential scans until autovacuum first analyzes it, a stall of several seconds).
            steady = list(season(other, int(self.args.latency_rate * self.args.latency_warmup_seconds),
                                 seed=self.args.seed + 3))
            await produce(self.settings.kafka_bootstrap, prefix + RECEIVED, iter(steady),
                          rate=self.args.latency_rate, linger_ms=5)
            cpu.start()
            started = time.monotonic()
            await produce(self.settings.kafka_bootstrap, prefix + RECEIVED, iter(records),
                          rate=self.args.latency_rate, on_sent=stamp, linger_ms=5)
            offered = count / (time.monotonic() - started)
            await asyncio.wait_for(reader, timeout=self.args.timeout)
        finally:
            await consumer.stop()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        q = statistics.quantiles(latencies, n=100)
        # p99 per 5 s of sending: shows whether slow receipts cluster (a stall) or spread (capacity)
        windows: dict[int, list[float]] = {}
        for at, latency in zip(sent_at, latencies):
            windows.setdefault(int((at - started) // 5), []).append(latency)
        by_window = {f"{w * 5}-{w * 5 + 5}s": round(statistics.quantiles(v, n=100)[98] * 1000, 1)
                     for w, v in sorted(windows.items()) if len(v) > 100}
        return {"offered_rate": round(offered), "accepted_events": len(latencies),
                "p99_ms_by_window": by_window,
                "p50_ms": round(q[49] * 1000, 1), "p90_ms": round(q[89] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
                "max_ms": round(max(latencies) * 1000, 1), "cpu": cpu.report(len(latencies))}

    async def cleanup(self) -> None:
        redis = aioredis.from_url(self.settings.redis_url)
        try:
            async for key in redis.scan_iter(match=f"{self.tag}*"):
                await redis.delete(key)
        finally:
            await redis.aclose()
        admin = await asyncpg.connect(self.settings.pg_dsn)
        try:
            for name in self.databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        from aiokafka.admin import AIOKafkaAdminClient
        client = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await client.start()
        try:
            mine = [t for t in await client.list_topics() if t.startswith(self.tag)]
            if mine:
                await client.delete_topics(mine)
        finally:
            await client.close()


async def group_settled(admin: AIOKafkaAdminClient, group: str, members: int) -> bool:
    """The consumer group is Stable with `members` members (every instance joined, partitions assigned)."""
    try:
        [response] = await admin.describe_consumer_groups([group])
    except Exception:
        return False
    _error, _group, state, _protocol_type, _protocol, joined, *_ = response.groups[0]
    return state == "Stable" and len(joined) == members


async def wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("service exited")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health", timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("service not healthy")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_ceiling(usage: dict[str, float]) -> dict:
    """What limits the rate: the CPU every process spent per receipt (services, PostgreSQL, Kafka, Redis),
    and the rate at which that would keep every core of this machine busy."""
    total = sum(v for k, v in usage.items() if k.endswith(" us/receipt"))
    cores = psutil.cpu_count()
    return {"us_per_receipt": round(total, 1), "cores": cores, "rate": round(cores * 1e6 / total) if total else 0}


def table(runs: list[dict]) -> str:
    lines = [f"{'run':<24}{'receipts/s':>12}{'seconds':>9}  cpu: cores busy on average, and CPU µs per receipt"]
    for r in runs:
        cpu = "  ".join(f"{k} {v}" for k, v in r["cpu"].items())
        tail = f"  publish tail {r['publish_tail_s']} s" if "publish_tail_s" in r else ""
        if "rate_settled" in r:
            tail += f"  after the group settled {r['rate_settled']:,.0f}/s"
        if "cpu_ceiling" in r:
            tail += (f"  CPU {r['cpu_ceiling']['us_per_receipt']} µs/receipt in all = at most "
                     f"{r['cpu_ceiling']['rate']:,}/s on {r['cpu_ceiling']['cores']} cores")
        lines.append(f"{r['run']:<24}{r['rate']:>12,.0f}{r['seconds']:>9.1f}  {'checks ok' if r['ok'] else 'CHECKS FAILED'}{tail}  {cpu}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = Bench(args)
    report: dict = {"started": datetime.now(UTC).isoformat(), "args": vars(args), "cores": psutil.cpu_count()}
    try:
        await bench.topics(bench.prefix)
        truth = await bench.prefill()
        raw_dsn = await bench.database(f"yibao_{bench.tag}_raw", migrated=False)
        runs = []
        for i in range(args.rounds):
            for which in ("baseline", "pipeline"):
                result = await (bench.baseline(i, truth, raw_dsn) if which == "baseline" else bench.pipeline(i, truth))
                log(f"{result['run']}: {result['rate']:,.0f} receipts/s, cpu {result['cpu']}, checks "
                    f"{'ok' if result['ok'] else json.dumps(result['checks'], ensure_ascii=False)}")
                runs.append(result)
        if args.profile:
            runs.append(await bench.pipeline(args.rounds, truth, profile=True))
            report["profile"] = sorted(str(p) for p in bench.log_dir.glob("profile-*.txt"))
        report["runs"] = runs
        base = statistics.median(r["rate"] for r in runs if r["run"].startswith("baseline"))
        pipe = statistics.median(r["rate"] for r in runs if r["run"].startswith("pipeline") and "profiled" not in r["run"])
        report["summary"] = {"baseline_rate": round(base), "pipeline_rate": round(pipe), "ratio": round(pipe / base, 3)}
        if args.latency_seconds > 0:
            report["latency"] = await bench.latency()
    finally:
        await bench.cleanup()
    out = ROOT / "artifacts" / "bench" / f"payment-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(table(report["runs"]))
    print(f"median: pipeline {report['summary']['pipeline_rate']:,} receipts/s = "
          f"{report['summary']['ratio']:.2f} × baseline {report['summary']['baseline_rate']:,} receipts/s")
    if "latency" in report:
        lat = report["latency"]
        print(f"latency at {lat['offered_rate']:,} receipts/s offered: p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, "
              f"p99 {lat['p99_ms']} ms, "
              f"max {lat['max_ms']} ms ({lat['accepted_events']:,} accepted events), cpu {lat['cpu']}")
        print(f"  p99 (ms) by when the receipt was sent: {lat['p99_ms_by_window']}")
    print(f"report: {out}")
    return 0 if all(r["ok"] for r in report["runs"]) else 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=1_000_000, help="receipts pre-filled (default 1,000,000)")
    p.add_argument("--rounds", type=int, default=2, help="baseline/pipeline alternations (default 2)")
    p.add_argument("--region", default="340321")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=10_000, help="most records per consumed batch")
    p.add_argument("--instances", type=int, default=2,
                   help="service processes in the pipeline's consumer group (default 2: one per core)")
    p.add_argument("--outbox-batch", type=int, default=20_000, help="most outbox rows the relay sends at once")
    p.add_argument("--latency-rate", type=float, default=10_000, help="receipts/s offered in the latency run")
    p.add_argument("--latency-seconds", type=float, default=20, help="length of the latency run (0: skip it)")
    p.add_argument("--latency-warmup-seconds", type=float, default=15,
                   help="the same rate, unmeasured, before the latency run (tables get their statistics)")
    p.add_argument("--profile", action="store_true", help="one more pipeline round under py-spy (not in the median)")
    p.add_argument("--timeout", type=float, default=900, help="seconds before a drain counts as stuck")
    sys.exit(asyncio.run(run(p.parse_args())))


if __name__ == "__main__":
    main()
