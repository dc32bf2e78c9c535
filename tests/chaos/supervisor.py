"""The chaos run: start everything on private servers, feed the ledger, break things, settle, check, replay.

Faults, in a seeded random order, with input fed in slices between them so that
every fault lands on a system at work:
- each service: SIGKILL at a random moment, and crashes at named points (shared/faults.py:
  mid_batch, after_outbox_insert, after_db_commit, after_publish) — the service is
  restarted armed with the point, dies there by itself, and is restarted clean;
- the Kafka broker: SIGKILL, restarted on the same log directory;
- PostgreSQL: `pg_ctl stop -m immediate` (crash recovery on start);
- Redis: killed and brought back empty after a while;
- the network (proxy.py between the services and Kafka/PostgreSQL): latency, resets, a black hole.
A service that exits without having been killed is restarted and counted as an unexpected exit.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import shutil
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.identity_certification import store as identity_store
from shared.logging import get_logger
from tests.chaos import checker, leaks
from tests.chaos.infra import Kafka, Postgres, Redis, pg_home, run_home
from tests.chaos.ledger import Ledger, Submission, generate
from tests.chaos.proxy import FaultProxy
from tests.support.servers import Servers
from tests.support.system import SERVICES, System, create_system, drop_system, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "chaos"
SCHEMAS = ("identity", "enrollment", "payment", "subsidy", "reconciliation")
CRASH_PLAN = {
    "identity_certification": ("sigkill", "after_outbox_insert", "sigkill", "after_publish", "sigkill"),
    "enrollment": ("sigkill", "mid_batch", "after_db_commit", "after_outbox_insert", "after_publish"),
    "payment_ingest": ("sigkill", "mid_batch", "after_db_commit", "after_outbox_insert", "after_publish"),
    "subsidy": ("sigkill", "mid_batch", "after_db_commit", "after_outbox_insert", "after_publish"),
    "reconciliation": ("sigkill", "mid_batch", "after_db_commit", "sigkill", "mid_batch"),
}
log = get_logger(__name__)


@dataclass(frozen=True)
class Plan:
    receipts: int = 200_000
    seed: int = 7
    kills_per_service: int = 5
    broker_kills: int = 3
    pg_stops: int = 3
    redis_outages: int = 1
    network_episodes: int = 1          # each of: latency, reset, black hole
    ack_first: bool = False            # the negative control: offsets committed before processing
    crash_probability: float = 0.0     # also arm every start with random crash points (negative control)
    random_crash_services: tuple[str, ...] = ("payment_ingest",)
    replay: bool = True
    settle_timeout_s: float = 1800.0
    point_timeout_s: float = 20.0      # how long an armed crash point may take to be reached


@dataclass
class ChaosSystem(System):
    """tests.support.system.System with extra environment per start (crash points, the ack-first knob)."""

    common: dict[str, str] = field(default_factory=dict)
    armed: dict[str, str] = field(default_factory=dict)          # one start, one named point
    random_crashes: dict[str, str] = field(default_factory=dict)  # every start (negative control)

    def env(self, service: str) -> dict[str, str]:
        crash = self.armed.get(service) or self.random_crashes.get(service)
        extra = {"YIBAO_CRASH_AT": crash} if crash else {}
        return {**super().env(service), **self.common, **extra}


@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)          # service -> SIGKILLs by the supervisor
    crash_points: Counter = field(default_factory=Counter)   # "service:point" -> crashes at that point
    missed_points: Counter = field(default_factory=Counter)  # armed but not reached in time (then SIGKILLed)
    unexpected_exits: Counter = field(default_factory=Counter)
    submissions: list = field(default_factory=list)

    def killed(self, service: str) -> int:
        return self.kills[service] + sum(n for k, n in self.crash_points.items() if k.startswith(service + ":"))


class Run:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tag = f"c{uuid.uuid4().hex[:8]}"
        self.rng = random.Random(plan.seed)
        home = run_home(self.tag)
        self.kafka = Kafka(home / "kafka")
        self.pg = Postgres(pg_home(self.tag))
        self.redis = Redis(home / "redis")
        self.kafka_proxy = FaultProxy(self.kafka.advertised_port, self.kafka.service_port)
        self.pg_proxy = FaultProxy(free_port(), self.pg.port)
        self.tally = Tally()
        self.system: ChaosSystem | None = None
        self.tokens: dict[str, str] = {}
        self.replay_rows: dict[str, int] = {}

    # ---------------------------------------------------------------- servers

    def start_servers(self) -> Servers:
        self.pg.start()
        self.redis.start()
        self.kafka.start()
        self.kafka_proxy.start()
        self.pg_proxy.start()
        return Servers(f"127.0.0.1:{self.kafka.advertised_port}",
                       f"postgresql://yibao@127.0.0.1:{self.pg_proxy.listen_port}/postgres", self.redis.url, "chaos")

    def cleanup(self) -> None:
        """Kill what is left of the services, stop the private servers, remove their data (logs stay)."""
        for system in (self.system,):
            for process in (system.processes.values() if system else ()):
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
        self.stop_servers()
        shutil.rmtree(run_home(self.tag), ignore_errors=True)
        shutil.rmtree(pg_home(self.tag), ignore_errors=True)

    def stop_servers(self) -> None:
        for stop in (self.kafka_proxy.stop, self.pg_proxy.stop, self.kafka.stop, self.redis.stop, self.pg.stop):
            try:
                stop()
            except Exception as err:
                log.warning("teardown step failed", error=repr(err))

    async def new_system(self, servers: Servers) -> ChaosSystem:
        base = await create_system(servers, ARTIFACTS)
        system = ChaosSystem(**{f.name: getattr(base, f.name) for f in dataclasses.fields(System)})
        if self.plan.ack_first:
            system.common["YIBAO_UNSAFE_ACK_FIRST"] = "true"
        if self.plan.crash_probability:
            p = self.plan.crash_probability
            # mid_batch: after the work, before the commit — where offsets committed first lose the batch
            system.random_crashes = {s: f"mid_batch%{p}" for s in self.plan.random_crash_services}
        return system

    # ---------------------------------------------------------------- services

    async def healthy(self, timeout: float = 180) -> None:
        """Every service running and answering /health; one that exited unasked is restarted and counted."""
        system = self.system
        deadline = time.monotonic() + timeout
        while True:
            for service in SERVICES:
                process = system.processes.get(service)
                if process is None or process.poll() is not None:
                    if process is not None:
                        self.reap(service, process)
                    system.processes.pop(service, None)
                    system.armed.pop(service, None)
                    system.start(service)
            try:
                await system.wait_healthy(timeout=min(60.0, max(1.0, deadline - time.monotonic())))
                return
            except (RuntimeError, TimeoutError):
                if time.monotonic() > deadline:
                    raise

    def reap(self, service: str, process) -> None:
        """Account for a process that ended by itself: a random crash point (negative control) or unasked."""
        if process.returncode not in (-signal.SIGKILL, 137):
            self.tally.unexpected_exits[service] += 1
            log.warning("service exited unasked", service=service, code=process.returncode)
        elif service in self.system.random_crashes:
            self.tally.crash_points[f"{service}:random"] += 1

    def sigkill(self, service: str) -> None:
        process = self.system.processes.get(service)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            self.tally.kills[service] += 1
        elif process is not None:
            # it died on its own before the supervisor's kill (a random crash point): count that, not a kill
            self.reap(service, process)
        self.system.processes.pop(service, None)

    async def crash_at(self, service: str, point: str, during=None) -> None:
        """Restart `service` armed with `point`, let it die there, restart it clean."""
        self.sigkill(service)
        self.system.armed[service] = point
        self.system.start(service)
        process = self.system.processes[service]
        task = asyncio.create_task(during()) if during else None
        deadline = time.monotonic() + self.plan.point_timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if process.poll() == 137:
            self.tally.crash_points[f"{service}:{point}"] += 1
            self.system.processes.pop(service, None)
        else:
            self.tally.missed_points[f"{service}:{point}"] += 1
            self.sigkill(service)
        self.system.armed.pop(service, None)
        await self.healthy()
        if task:
            await task

    # ---------------------------------------------------------------- input

    async def produce(self, records) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.direct, enable_idempotence=True, acks="all",
                                    linger_ms=20, max_batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)
        await producer.start()
        try:
            topic = self.system.topic("payment.receipt-received")
            sends = [await producer.send(topic, value=r.value, key=r.key) for r in records]
            await asyncio.gather(*sends)
        finally:
            await producer.stop()

    async def credentials(self) -> None:
        conn = await asyncpg.connect(self.system.pg_dsn, server_settings={"search_path": "identity"})
        try:
            for department in ("civil_affairs", "agriculture"):
                self.tokens[department] = await identity_store.create_credential(conn, department, "340321")
        finally:
            await conn.close()

    async def post(self, submission: Submission, timeout: float = 300) -> None:
        """POST until the service answers (it may be down or crash mid-request); the content hash makes it idempotent."""
        body = {"period": submission.period, "rows": [dataclasses.asdict(r) for r in submission.rows]}
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=60) as client:
            while True:
                try:
                    answer = await client.post(self.system.url("identity_certification", "/api/submissions"), json=body,
                                               headers={"Authorization": f"Bearer {self.tokens[submission.department]}"})
                    if answer.status_code < 500:
                        self.tally.submissions.append({"n": submission.n, "status": answer.status_code,
                                                       **{k: answer.json().get(k) for k in (
                                                           "outcome", "rows_total", "rows_accepted", "rows_rejected")}})
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"submission {submission.n} not answered in {timeout}s")
                await asyncio.sleep(1.0)

    # ---------------------------------------------------------------- faults

    def schedule(self) -> list[tuple[str, str]]:
        plan = self.plan
        # each service starts at a different place in its list, so that a short run still covers every kind
        actions = [(service, kinds[(i + k) % len(kinds)]) for i, (service, kinds) in enumerate(CRASH_PLAN.items())
                   for k in range(plan.kills_per_service)]
        actions += [("kafka", "kill")] * plan.broker_kills + [("postgres", "stop")] * plan.pg_stops
        actions += [("redis", "away")] * plan.redis_outages
        actions += [(net, "latency") for net in ("kafka", "postgres")] * plan.network_episodes
        actions += [("network", "reset")] * plan.network_episodes
        actions += [(net, "blackhole") for net in ("kafka", "postgres")] * plan.network_episodes
        self.rng.shuffle(actions)
        return actions

    async def apply(self, target: str, kind: str, post=None) -> None:
        proxies = {"kafka": self.kafka_proxy, "postgres": self.pg_proxy}
        if target in CRASH_PLAN:
            if kind == "sigkill":
                task = asyncio.create_task(post()) if post else None
                await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                self.sigkill(target)
                await self.healthy()
                if task:
                    await task
            else:
                await self.crash_at(target, kind, post)
        elif (target, kind) == ("kafka", "kill"):
            self.kafka.kill()
            await asyncio.sleep(self.rng.uniform(1, 4))
            await asyncio.to_thread(self.kafka.start)
            await self.kafka_leaders()
        elif (target, kind) == ("postgres", "stop"):
            await asyncio.to_thread(self.pg.stop_immediately)
            await asyncio.sleep(self.rng.uniform(1, 4))
            await asyncio.to_thread(self.pg.start)
        elif (target, kind) == ("redis", "away"):
            self.redis.take_away()
            await asyncio.sleep(self.rng.uniform(3, 6))
            await asyncio.to_thread(self.redis.start)
        elif kind == "latency":
            proxies[target].set_mode("latency", 0.2 if target == "kafka" else 0.02)
            await asyncio.sleep(5)
            proxies[target].set_mode("pass")
        elif kind == "blackhole":
            proxies[target].set_mode("blackhole")
            await asyncio.sleep(self.rng.uniform(3, 8))
            proxies[target].set_mode("pass")
        elif kind == "reset":
            self.kafka_proxy.reset()
            self.pg_proxy.reset()
        await self.healthy()

    async def kafka_leaders(self, timeout: float = 120) -> None:
        """After a broker restart: wait until every partition of the input topic has a leader again."""
        deadline = time.monotonic() + timeout
        topic = self.system.topic("payment.receipt-received")
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.direct, request_timeout_ms=5000)
            try:
                await admin.start()
                described = await admin.describe_topics([topic])
                partitions = described[0]["partitions"] if described else []
                if partitions and all(p["leader"] >= 0 for p in partitions) and not described[0]["error_code"]:
                    return
            except Exception as err:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Kafka partitions without a leader after {timeout}s") from err
            finally:
                await admin.close()
            await asyncio.sleep(1)

    # ---------------------------------------------------------------- settling

    async def backlog(self, system: System) -> int:
        """Unconsumed records of every consumer group of the system, plus unpublished outbox rows."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.direct)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.direct, enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(system.tag + ".")]
            committed = {}
            for group in groups:
                committed[group] = await admin.list_consumer_group_offsets(group)
            await consumer._client.force_metadata_update()
            topics = [t for t in await consumer.topics() if t.startswith(system.topic_prefix)]
            partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
            ends = await consumer.end_offsets(partitions)
            behind = sum(max(0, ends[tp] - offsets[tp].offset) for offsets in committed.values() for tp in offsets
                         if tp in ends)
            # a group that consumes a topic but has committed nothing on a non-empty partition is behind too
            subscribed = {tp.topic for offsets in committed.values() for tp in offsets}
            behind += sum(ends[tp] for tp in partitions if tp.topic in subscribed and ends[tp] and not any(
                tp in offsets for offsets in committed.values()))
            if not any(g.endswith(".payment_ingest.receipts") for g in groups):
                behind += 1  # payment ingest has not even joined yet
        finally:
            await consumer.stop()
            await admin.close()
        conn = await asyncpg.connect(system.pg_dsn.replace(f":{self.pg_proxy.listen_port}/", f":{self.pg.port}/"))
        try:
            for schema in SCHEMAS:
                behind += await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")
        finally:
            await conn.close()
        return behind

    async def settle(self, system: System) -> float:
        started = time.monotonic()
        quiet = 0
        while quiet < 3:
            await asyncio.sleep(2)
            if system is self.system:
                await self.healthy()
            quiet = quiet + 1 if await self.backlog(system) == 0 else 0
            if time.monotonic() - started > self.plan.settle_timeout_s:
                raise TimeoutError(f"not settled after {self.plan.settle_timeout_s}s: backlog {await self.backlog(system)}")
        return time.monotonic() - started

    async def scan_for_leaks(self, ledger: Ledger) -> dict:
        """Logs, the dead-letter topic, /metrics and error answers, after the fault run: no full resident ID."""
        person = next(r.person_id for r in ledger.receipts if r.person_id and r.person_id[17].isdigit())
        sources = await leaks.probe_errors(self.system.url("identity_certification", ""), self.tokens["civil_affairs"],
                                           person)
        sources |= await leaks.metrics_sources({s: self.system.url(s, "/metrics") for s in SERVICES})
        dead = await self.read_topic(self.system.topic("dead-letter"))
        sources["topic:dead-letter"] = "\n".join((r.value or b"").decode("utf-8", "replace") for r in dead)
        await asyncio.sleep(1)  # let the services write what the probes made them log
        sources |= leaks.log_sources(self.system.log_dir)
        (self.system.log_dir / "error-answers.txt").write_text(
            "\n".join(f"{k}: {v}" for k, v in sources.items() if k.startswith("error:")), encoding="utf-8")
        return leaks.summary(sources)

    # ---------------------------------------------------------------- replay

    async def replayed_state(self, replay: System, want_rows: dict[str, int]) -> tuple[str, float]:
        """Wait until the replay holds as many rows as the run (and nothing is left to publish), then hash it.

        Consumer-group lag cannot tell "done" from "not joined yet" for a fresh group; row counts can."""
        started = time.monotonic()
        dsn = replay.pg_dsn.replace(f":{self.pg_proxy.listen_port}/", f":{self.pg.port}/")
        stable, unchanged, last = 0, 0, None
        # done when the counts match (three polls running), or when nothing moved for a minute (a mismatch)
        while stable < 3 and unchanged < 30 and time.monotonic() - started < self.plan.settle_timeout_s:
            await asyncio.sleep(2)
            conn = await asyncpg.connect(dsn)
            try:
                digest, rows = await checker.state_hash(conn)
                backlog = sum([await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox") for schema in SCHEMAS])
            finally:
                await conn.close()
            stable = stable + 1 if rows == want_rows and backlog == 0 else 0
            unchanged = unchanged + 1 if (rows, backlog) == last else 0
            last = (rows, backlog)
        self.replay_rows = rows
        return digest, time.monotonic() - started

    async def replay(self, servers: Servers, want_rows: dict[str, int]) -> tuple[str, float]:
        """A fresh database and groups, the same input topics copied from offset 0: the same state?"""
        replay = await self.new_system(servers)
        replay.common.clear()
        replay.random_crashes.clear()
        try:
            for name in ("payment.receipt-received", "identity.status-changed"):
                await self.copy_topic(self.system.topic(name), replay.topic(name))
            for service in SERVICES:
                replay.start(service)
            await replay.wait_healthy(timeout=120)
            return await self.replayed_state(replay, want_rows)
        finally:
            await drop_system(replay, delete_topics=False)  # a private broker, removed whole at the end

    async def partition_count(self, topic: str) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.direct)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
            return len(described[0]["partitions"]) if described and not described[0]["error_code"] else 0
        finally:
            await admin.close()

    async def read_topic(self, topic: str) -> list:
        """Every record of `topic` from offset 0 to its end (partitions from the admin API, never guessed)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.direct, enable_auto_commit=False,
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(await self.partition_count(topic))]
            if not partitions:
                raise RuntimeError(f"topic {topic} not found")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records = []
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for items in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values():
                    records += items
            return records
        finally:
            await consumer.stop()

    async def copy_topic(self, source: str, target: str) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.direct, enable_auto_commit=False,
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.direct, enable_idempotence=True, linger_ms=20,
                                    max_batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)
        await consumer.start()
        await producer.start()
        try:
            partitions = [TopicPartition(source, p) for p in range(await self.partition_count(source))]
            if not partitions:
                raise RuntimeError(f"replay: topic {source} not found")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            sends = []
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for tp, records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                    sends += [await producer.send(target, value=r.value, key=r.key, partition=tp.partition)
                              for r in records]
            await asyncio.gather(*sends)
            if len(sends) != sum(ends.values()) - sum([await consumer.beginning_offsets(partitions)][0].values()):
                raise RuntimeError(f"replay: copied {len(sends)} records of {source}, expected every one")
        finally:
            await producer.stop()
            await consumer.stop()

    # ---------------------------------------------------------------- the whole run

    async def execute(self) -> dict:
        plan, started = self.plan, time.monotonic()
        servers = await asyncio.to_thread(self.start_servers)
        self.system = await self.new_system(servers)
        try:
            ledger = await asyncio.to_thread(generate, plan.receipts, seed=plan.seed)
            ledger.write_jsonl(self.system.log_dir / "ledger.jsonl")
            await self.credentials()
            for service in SERVICES:
                self.system.start(service)
            await self.healthy()
            await self.break_while_feeding(ledger)
            settle_s = round(await self.settle(self.system), 1)
            report = {**self.tallied(), "settle_s": settle_s}
            report["check"], failures = await checker.check(
                ledger, self.system.pg_dsn.replace(f":{self.pg_proxy.listen_port}/", f":{self.pg.port}/"),
                self.read_topic, self.system.topic_prefix)
            report.update(lost=report["check"].pop("lost"), doubled=report["check"].pop("doubled"))
            report["leaks"] = await self.scan_for_leaks(ledger)
            if report["leaks"]["unmasked_ids"]:
                failures.append(f"unmasked resident IDs found: {report['leaks']['where']}")
            if plan.replay:
                digest, seconds = await self.replay(servers, report["check"]["state_rows"])
                report["replay"] = {"state_hash": digest, "same": digest == report["check"]["state_hash"],
                                    "seconds": round(seconds, 1), "rows": self.replay_rows}
                if digest != report["check"]["state_hash"]:
                    failures.append("replay from offset 0 into a fresh database gave a different state hash")
            report["failures"] = failures
            report["seconds"] = round(time.monotonic() - started, 1)
            report["logs"] = str(self.system.log_dir)
            (self.system.log_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
            return report
        finally:
            await drop_system(self.system, delete_topics=False)  # a private broker, removed whole at the end

    async def break_while_feeding(self, ledger: Ledger) -> None:
        actions = self.schedule()
        # consecutive pieces (not strides): records of one person keep their order
        size = -(-len(ledger.receipts) // (len(actions) + 1))
        slices = [ledger.receipts[i:i + size] for i in range(0, len(ledger.receipts), size)]
        pending = list(ledger.submissions)
        for i, (target, kind) in enumerate(actions):
            if i < len(slices):
                await self.produce(slices[i])
            post = None
            if target == "identity_certification" and pending:
                submission = pending.pop(0)
                post = lambda s=submission: self.post(s)  # noqa: E731
            await self.apply(target, kind, post)
            log.info("fault applied", step=i + 1, of=len(actions), target=target, kind=kind)
        for piece in slices[len(actions):]:
            await self.produce(piece)
        for submission in pending:
            await self.post(submission)

    def tallied(self) -> dict:
        """What was done to the system (read after settling: crashes may still happen while it settles)."""
        t = self.tally
        return {
            "plan": dataclasses.asdict(self.plan), "tag": self.tag,
            "kills": {s: t.killed(s) for s in SERVICES},
            "sigkills": dict(t.kills), "crash_points": dict(t.crash_points), "missed_points": dict(t.missed_points),
            "unexpected_exits": dict(t.unexpected_exits), "broker_kills": self.kafka.kills,
            "postgres_stops": self.pg.stops, "redis_outages": self.redis.outages,
            "network": {"kafka": self.kafka_proxy.episodes, "postgres": self.pg_proxy.episodes},
            "submissions": t.submissions,
        }


def run(plan: Plan) -> dict:
    """One run; whatever happens (a failure, SIGTERM, Ctrl-C), every process it started is stopped."""
    return run_cleaning_up(Run(plan))


def run_cleaning_up(chaos: Any) -> dict:
    """`chaos.execute()` to the end; whatever happens (a failure, SIGTERM, Ctrl-C), `chaos.cleanup()` after."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return asyncio.run(chaos.execute())
    finally:
        signal.signal(signal.SIGTERM, previous)
        chaos.cleanup()


def _exit_on_sigterm(*_args) -> None:
    raise SystemExit(143)
