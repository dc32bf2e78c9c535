"""The chain on a three-broker Kafka cluster while brokers die and instances come and go.

    python -m tests.chaos.cluster --rate 400                 # `make chaos` (full size)
    python -m tests.chaos.cluster --rate 40 --down 8         # about what `make test` runs

A private cluster of three KRaft nodes (tests/chaos/infra.py: KafkaCluster; every topic
with replication factor 3 and min.insync.replicas=2), a private PostgreSQL and Redis, and
the five services unchanged. The tax gateway's receipts are offered at a steady rate
(the chaos ledger's, every kind of defect) the whole time, while, one after the other:

- one_broker      the broker leading most receipt partitions is SIGKILLed, kept down, restarted;
- two_brokers     two brokers SIGKILLed: only one is left, so an acks=all write cannot reach two
                  replicas; a probe write must not be acknowledged; both return;
- rolling_restart each broker in turn stopped (controlled shutdown) and started again, waiting for
                  every partition to be in sync before the next, as an upgrade does it;
- rebalance       a second instance of some services joins their consumer groups, then the first
                  is SIGKILLed (and restarted by the supervisor, as Kubernetes would).

The services are never restarted for a broker fault (their pids are compared). The chain's
progress (receipts recorded by payment ingest, and by reconciliation at the chain's end) is
sampled every half second; a phase's stall is the longest time the chain's end did not move
while the phase lasted. At the end the chaos checker (tests/chaos/checker.py) counts lost and
doubled receipts against the ledger of what was fed.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka_admin import ensure_topics
from shared.logging import get_logger
from shared.topics import ALL_TOPICS, Topic
from tests.chaos import checker
from tests.chaos.infra import KafkaCluster
from tests.chaos.ledger import Ledger, generate
from tests.chaos.supervisor import ARTIFACTS, ChaosSystem, Plan, Run, run_cleaning_up
from tests.support.servers import Servers
from tests.support.system import SERVICES, System, create_system, drop_system

PROBE = Topic("probe.min-isr", "chaos harness", 1, "none",
              description="One partition, replicated 3 times: an acks=all write here needs two brokers.")
PHASES = ("one_broker", "two_brokers", "rolling_restart", "rebalance")
log = get_logger(__name__)


@dataclass(frozen=True)
class ClusterPlan:
    rate: float = 40.0                 # receipts per second offered by the gateway
    max_receipts: int = 200_000        # the ledger's size: what can be fed at most
    seed: int = 7
    brokers: int = 3
    down_s: float = 8.0                # how long killed brokers stay down
    phases: tuple[str, ...] = PHASES
    rebalance_services: tuple[str, ...] = ("payment_ingest", "enrollment", "reconciliation")
    warmup_s: float = 5.0              # feeding before the first fault
    tail_s: float = 5.0                # feeding after the last
    settle_timeout_s: float = 600.0


@dataclass
class Progress:
    """Samples of (seconds since the start, receipts recorded by payment ingest, by reconciliation)."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def longest_stall(self, column: int, start: float = 0.0, end: float = float("inf")) -> float:
        """The longest time between two advances of `column` (1 ingest, 2 chain end) that began in [start, end):
        a stall is the phase's in which the chain stopped, however long it lasts after."""
        advances = [now[0] for prev, now in zip(self.samples, self.samples[1:]) if now[column] > prev[column]]
        longest = 0.0
        for a, b in zip(advances, advances[1:]):
            if start <= a < end:
                longest = max(longest, b - a)
        return round(longest, 1)


class ClusterRun(Run):
    def __init__(self, plan: ClusterPlan) -> None:
        super().__init__(Plan(receipts=plan.max_receipts, seed=plan.seed, settle_timeout_s=plan.settle_timeout_s,
                              replay=False))
        self.cplan = plan
        self.cluster = KafkaCluster(self.kafka.home.parent / "cluster", plan.brokers)
        self.kafka = self.cluster  # type: ignore[assignment]  # Run's helpers only use .direct and .kills
        self.started = time.monotonic()
        self.progress = Progress()
        self.phases: list[dict] = []
        self.fed = 0

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)

    # ---------------------------------------------------------------- servers

    def start_servers(self) -> Servers:
        self.pg.start()
        self.redis.start()
        self.cluster.start()
        return Servers(self.cluster.direct, f"postgresql://yibao@127.0.0.1:{self.pg.port}/postgres", self.redis.url,
                       "chaos-cluster")

    async def new_system(self, servers: Servers) -> ChaosSystem:
        await self.brokers_registered()
        base = await create_system(servers, ARTIFACTS, create_topics=False)
        topics = [dataclasses.replace(t, name=base.topic(t.name)) for t in (*ALL_TOPICS, PROBE)]
        await ensure_topics(self.cluster.direct, topics, replication_factor=min(self.cplan.brokers, 3))
        return ChaosSystem(**{f.name: getattr(base, f.name) for f in dataclasses.fields(System)})

    async def admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.cluster.direct, request_timeout_ms=10000)
        await admin.start()
        return admin

    async def brokers_registered(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = await self.admin()
                try:
                    if len((await admin.describe_cluster())["brokers"]) == self.cplan.brokers:
                        return
                finally:
                    await admin.close()
            except Exception as err:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.cplan.brokers} brokers not registered after {timeout}s") from err
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.cplan.brokers} brokers not registered after {timeout}s")
            await asyncio.sleep(1)

    async def partitions(self) -> list[dict]:
        """The system's partitions and the consumer offsets', with leader and in-sync replicas."""
        admin = await self.admin()
        try:
            topics = await admin.describe_topics()
        finally:
            await admin.close()
        return [{"topic": t["topic"], **p} for t in topics
                if t["topic"].startswith(self.system.topic_prefix) or t["topic"] == "__consumer_offsets"
                for p in t["partitions"]]

    async def in_sync(self, timeout: float = 180) -> float:
        """Wait until every partition has a leader and all its replicas in sync; returns the seconds waited."""
        started, want = time.monotonic(), min(self.cplan.brokers, 3)
        while True:
            try:
                parts = await self.partitions()
                if parts and all(p["leader"] >= 0 and len(p["isr"]) == want for p in parts):
                    return round(time.monotonic() - started, 1)
            except Exception as err:
                log.info("cluster metadata not available yet", error=repr(err))
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"partitions not back in sync after {timeout}s")
            await asyncio.sleep(1)

    async def leader_counts(self) -> dict[int, int]:
        topic = self.system.topic("payment.receipt-received")
        counts = {n.node_id: 0 for n in self.cluster.nodes}
        for p in await self.partitions():
            if p["topic"] == topic and p["leader"] in counts:
                counts[p["leader"]] += 1
        return counts

    # ---------------------------------------------------------------- load and progress

    async def feed(self, receipts: list, stop: asyncio.Event) -> None:
        """Offer receipts at the plan's rate until `stop`; an outage makes the gateway wait, then catch up.
        A record is never sent twice: a send that is not acknowledged in 180 s fails the run."""
        producer = AIOKafkaProducer(bootstrap_servers=self.cluster.direct, enable_idempotence=True, acks="all",
                                    linger_ms=20, request_timeout_ms=180_000, max_batch_size=512 * 1024,
                                    max_request_size=4 * 1024 * 1024)
        await producer.start()
        topic, t0 = self.system.topic("payment.receipt-received"), time.monotonic()
        try:
            while self.fed < len(receipts) and not stop.is_set():
                due = min(len(receipts), int((time.monotonic() - t0) * self.cplan.rate))
                chunk = receipts[self.fed:due]
                if chunk:
                    sends = [await producer.send(topic, value=r.value, key=r.key) for r in chunk]
                    await asyncio.gather(*sends)
                    self.fed += len(chunk)
                await asyncio.sleep(0.2)
        finally:
            await producer.stop()

    async def sample(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.system.pg_dsn)
        try:
            while not stop.is_set():
                row = await conn.fetchrow("SELECT (SELECT count(*) FROM payment.receipt) AS ingest, "
                                          "(SELECT count(*) FROM reconciliation.receipt) AS chain_end")
                self.progress.samples.append((self.now(), row["ingest"], row["chain_end"]))
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.system.processes.items() if p.poll() is None}

    # ---------------------------------------------------------------- phases

    async def phase(self, name: str) -> dict:
        start, pids = self.now(), self.pids()
        detail = await getattr(self, f"_{name}")()
        end = self.now()
        record = {"phase": name, "start_s": start, "end_s": end, "seconds": round(end - start, 1), **detail,
                  "service_restarts": sorted(n for n, pid in pids.items() if self.pids().get(n) != pid)}
        log.info("cluster phase done", **{k: v for k, v in record.items() if not isinstance(v, (dict, list))})
        self.phases.append(record)
        return record

    async def _one_broker(self) -> dict:
        leaders = await self.leader_counts()
        victim = max(leaders, key=lambda n: leaders[n])
        await asyncio.to_thread(self.cluster.node(victim).kill)
        await asyncio.sleep(self.cplan.down_s)
        await asyncio.to_thread(self.cluster.restart, victim)
        return {"killed": [victim], "leaders_before": leaders, "in_sync_after_s": await self.in_sync()}

    async def _two_brokers(self) -> dict:
        first, second = (n.node_id for n in self.cluster.nodes[:2])
        await asyncio.to_thread(self.cluster.node(first).kill)
        await asyncio.sleep(1)
        await asyncio.to_thread(self.cluster.node(second).kill)
        probe = await self.probe_write(timeout_s=min(10.0, self.cplan.down_s))
        await asyncio.sleep(max(0.0, self.cplan.down_s - probe["seconds"]))
        await asyncio.gather(asyncio.to_thread(self.cluster.restart, first),
                             asyncio.to_thread(self.cluster.restart, second))
        return {"killed": [first, second], "probe": probe, "in_sync_after_s": await self.in_sync()}

    async def probe_write(self, timeout_s: float) -> dict:
        """One acks=all write with only one broker up: it must not be acknowledged (min.insync.replicas=2)."""
        started = time.monotonic()
        producer = AIOKafkaProducer(bootstrap_servers=self.cluster.direct, acks="all",
                                    request_timeout_ms=int(timeout_s * 1000))
        try:
            await asyncio.wait_for(producer.start(), timeout_s)
            await asyncio.wait_for(producer.send_and_wait(self.system.topic(PROBE.name), b"probe"), timeout_s + 5)
            outcome = {"acknowledged": True, "error": None}
        except Exception as err:  # the expected outcome: a timeout or NotEnoughReplicas, never an ack
            outcome = {"acknowledged": False, "error": type(err).__name__}
        finally:
            try:
                await asyncio.wait_for(producer.stop(), 10)
            except Exception as err:
                log.info("probe producer did not stop cleanly", error=repr(err))
        return {**outcome, "seconds": round(time.monotonic() - started, 1)}

    async def _rolling_restart(self) -> dict:
        waits = {}
        for node in self.cluster.nodes:
            await asyncio.to_thread(node.stop)
            await asyncio.to_thread(self.cluster.restart, node.node_id)
            waits[node.node_id] = await self.in_sync()
        return {"restarted": [n.node_id for n in self.cluster.nodes], "in_sync_after_s": waits}

    async def _rebalance(self) -> dict:
        added = [self.system.start(service, instance=2) for service in self.cplan.rebalance_services]
        await self.system.wait_healthy(tuple(added), timeout=120)
        joined = await self.members(wanted=2)
        await asyncio.sleep(3)
        for service in self.cplan.rebalance_services:
            self.sigkill(service)
        await asyncio.sleep(2)
        await self.healthy()
        return {"added": added, "killed": list(self.cplan.rebalance_services), "members_after_join": joined,
                "members_at_end": await self.members(wanted=2)}

    async def members(self, wanted: int, timeout: float = 90) -> dict[str, int]:
        """Members of each consumer group of the rebalanced services, once each has `wanted` (or at timeout)."""
        prefixes = tuple(f"{self.system.tag}.{s}." for s in self.cplan.rebalance_services)
        deadline = time.monotonic() + timeout
        while True:
            admin = await self.admin()
            try:
                groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefixes)]
                counts = {}
                for group in groups:
                    described = await admin.describe_consumer_groups([group])
                    counts[group] = sum(len(g["members"]) for r in described for g in r.to_object()["groups"])
            finally:
                await admin.close()
            if (counts and all(n >= wanted for n in counts.values())) or time.monotonic() > deadline:
                return {g.removeprefix(self.system.tag + "."): n for g, n in sorted(counts.items())}
            await asyncio.sleep(1)

    # ---------------------------------------------------------------- the run

    async def execute(self) -> dict:  # type: ignore[override]
        plan = self.cplan
        servers = await asyncio.to_thread(self.start_servers)
        self.system = await self.new_system(servers)
        try:
            ledger = await asyncio.to_thread(generate, plan.max_receipts, seed=plan.seed)
            await self.credentials()
            for service in SERVICES:
                self.system.start(service)
            await self.healthy()
            self.started = time.monotonic()
            stop_feed, stop_sampling = asyncio.Event(), asyncio.Event()
            feeder = asyncio.create_task(self.feed(ledger.receipts, stop_feed))
            sampler = asyncio.create_task(self.sample(stop_sampling))
            for submission in ledger.submissions:  # in order: a later list ends statuses an earlier one began
                await self.post(submission)
            await asyncio.sleep(plan.warmup_s)
            for name in plan.phases:
                await self.phase(name)
                if feeder.done():
                    break
            await asyncio.sleep(plan.tail_s)
            stop_feed.set()
            await feeder
            settle_s = round(await self.settle(self.system), 1)
            stop_sampling.set()
            await sampler
            return await self.report(ledger, settle_s)
        finally:
            await drop_system(self.system, delete_topics=False)  # a private cluster, removed whole at the end

    async def report(self, ledger: Ledger, settle_s: float) -> dict:
        fed = Ledger(ledger.seed, ledger.receipts[:self.fed], ledger.submissions)
        check, failures = await checker.check(fed, self.system.pg_dsn, self.read_topic, self.system.topic_prefix)
        for record in self.phases:
            record["stall_chain_s"] = self.progress.longest_stall(2, record["start_s"], record["end_s"])
            record["stall_ingest_s"] = self.progress.longest_stall(1, record["start_s"], record["end_s"])
            if record["phase"] != "rebalance" and record["service_restarts"]:
                failures.append(f"{record['phase']}: services restarted during a broker fault: "
                                f"{record['service_restarts']}")
            if record.get("probe", {}).get("acknowledged"):
                failures.append("two_brokers: a write was acknowledged with only one broker in sync")
        if self.tally.unexpected_exits:
            failures.append(f"services exited unasked: {dict(self.tally.unexpected_exits)}")
        report = {
            "plan": dataclasses.asdict(self.cplan), "tag": self.tag, "receipts": self.fed,
            "feed_seconds": round(self.fed / self.cplan.rate, 1), "phases": self.phases,
            "longest_stall_chain_s": self.progress.longest_stall(2),
            "longest_stall_ingest_s": self.progress.longest_stall(1),
            "settle_s": settle_s, "broker_kills": self.cluster.kills,
            "broker_restarts": sum(n.restarts for n in self.cluster.nodes),
            "service_kills": dict(self.tally.kills), "unexpected_exits": dict(self.tally.unexpected_exits),
            "lost": check.pop("lost"), "doubled": check.pop("doubled"), "check": check, "failures": failures,
            "seconds": round(time.monotonic() - self.started, 1), "logs": str(self.system.log_dir),
        }
        (self.system.log_dir / "cluster-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        (self.system.log_dir / "progress.json").write_text(json.dumps(self.progress.samples))
        return report


def run_cluster(plan: ClusterPlan) -> dict:
    """One run; whatever happens, every process it started is stopped and its data removed (logs stay)."""
    return run_cleaning_up(ClusterRun(plan))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos.cluster", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=400.0, help="receipts/s offered (default 400)")
    p.add_argument("--max-receipts", type=int, default=200_000)
    p.add_argument("--down", type=float, default=30.0, help="seconds killed brokers stay down (default 30)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    a = p.parse_args(argv)
    phases = tuple(x for x in a.phases.split(",") if x)
    unknown = [x for x in phases if x not in PHASES]
    if unknown:
        p.error(f"unknown phase(s) {unknown}; known: {', '.join(PHASES)}")
    report = run_cluster(ClusterPlan(rate=a.rate, max_receipts=a.max_receipts, down_s=a.down, seed=a.seed,
                                     phases=phases, warmup_s=10, tail_s=10, settle_timeout_s=1800))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = not report["failures"] and report["lost"] == 0 and report["doubled"] == 0
    print(f"cluster chaos: {'PASS' if ok else 'FAIL'} — receipts {report['receipts']}, lost {report['lost']}, "
          f"doubled {report['doubled']}, longest stall of the chain {report['longest_stall_chain_s']} s; "
          + "; ".join(f"{r['phase']} stall {r['stall_chain_s']} s" for r in report["phases"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
