"""PostgreSQL failover: the primary is lost mid-run, its synchronous standby is promoted, the services reconnect.

    python -m tests.chaos.standby --receipts 20000        # `make chaos`
    python -m tests.chaos.standby --receipts 1500         # about what `make test` runs

A private primary and a streaming replica of it (tests/chaos/infra.py: Standby, made with
pg_basebackup -R from Debian's PostgreSQL), synchronous (synchronous_standby_names): the
primary answers COMMIT only once the standby has the transaction on disk. The services
connect with a two-host DSN (`host1:p1,host2:p2?target_session_attrs=read-write`): whichever
accepts writes. Their read-only APIs read from the standby (YIBAO_PG_READ_DSN).

The run: the chaos ledger's receipts are fed; once the chain is at work the primary is
stopped immediately (no checkpoint, as a lost machine), the standby promoted (pg_ctl
promote), the rest fed. The services are not restarted. The checker then counts against
the ledger: a transaction the services committed (and so acknowledged to Kafka) that the
standby did not have would show as a lost receipt. Before the failover, the bounded-lag
rule of the replica reads (shared/replica.py) is checked on this replica: with its replay
paused and the primary written to, reads go to the primary; resumed, back to the replica;
and enrollment's person record (a read-only API) is seen reading through its replica pool.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from services.enrollment import store as enrollment_store
from shared.db import create_pool
from shared.replica import ReplicaReads
from tests.chaos import checker
from tests.chaos.infra import HOST, Standby, pg_home
from tests.chaos.ledger import Ledger, generate
from tests.chaos.supervisor import ChaosSystem, Plan, Run, run_cleaning_up
from tests.support.servers import Servers
from tests.support.system import SERVICES, with_database


class StandbyRun(Run):
    def __init__(self, receipts: int, seed: int = 7, settle_timeout_s: float = 600.0) -> None:
        super().__init__(Plan(receipts=receipts, seed=seed, settle_timeout_s=settle_timeout_s, replay=False))
        self.standby = Standby(Path(f"{pg_home(self.tag)}-standby"), self.pg)
        self.failover: dict = {}
        self.failover_started = 0.0

    @property
    def both(self) -> str:
        """The services' DSN: both servers, the one that takes writes chosen at each connection."""
        return f"postgresql://yibao@{HOST}:{self.pg.port},{HOST}:{self.standby.port}/postgres"

    async def superuser(self, port: int) -> asyncpg.Connection:
        return await asyncpg.connect(f"postgresql://postgres@{HOST}:{port}/postgres")

    def start_servers(self) -> Servers:
        self.pg.start()
        self.standby.start()
        asyncio.run(self.make_synchronous())
        self.redis.start()
        self.kafka.start()
        self.kafka_proxy.start()
        return Servers(f"127.0.0.1:{self.kafka.advertised_port}", f"postgresql://yibao@{HOST}:{self.pg.port}/postgres",
                       self.redis.url, "chaos-standby")

    async def make_synchronous(self, timeout: float = 60) -> None:
        """Once the standby streams: COMMIT waits for it (and the services' role may read its WAL receiver)."""
        conn = await self.superuser(self.pg.port)
        try:
            deadline = time.monotonic() + timeout
            while not await conn.fetchval("SELECT count(*) FROM pg_stat_replication "
                                          "WHERE application_name = 'standby' AND state = 'streaming'"):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby is not streaming after {timeout}s")
                await asyncio.sleep(0.5)
            await conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
            await conn.execute("SELECT pg_reload_conf()")
            await conn.execute("GRANT pg_read_all_stats TO yibao")
        finally:
            await conn.close()

    async def new_system(self, servers: Servers) -> ChaosSystem:
        system = await super().new_system(servers)  # migrated on the primary (yoyo takes one host)
        database = urlsplit(system.pg_dsn).path
        system.pg_dsn = with_database(self.both, database[1:]) + "?target_session_attrs=read-write"
        system.servers = dataclasses.replace(servers, pg_dsn=self.both + "?target_session_attrs=read-write")
        system.common["YIBAO_PG_READ_DSN"] = f"postgresql://yibao@{HOST}:{self.standby.port}{database}"
        system.common["YIBAO_PG_READ_MAX_LAG_S"] = "2"
        return system

    def cleanup(self) -> None:
        super().cleanup()
        try:
            self.standby.stop()
        finally:
            shutil.rmtree(self.standby.home, ignore_errors=True)

    # ---------------------------------------------------------------- checks

    async def replica_reads(self) -> dict:
        """The bounded-lag rule on this replica: fresh -> replica; replay paused while the primary is written
        to -> primary; replay resumed -> replica again."""
        database = urlsplit(self.system.pg_dsn).path[1:]
        primary = await create_pool(with_database(f"postgresql://yibao@{HOST}:{self.pg.port}/x", database),
                                    "payment", min_size=0)
        replica = await create_pool(f"postgresql://yibao@{HOST}:{self.standby.port}/{database}", "payment", min_size=0)
        standby = await self.superuser(self.standby.port)
        reads = ReplicaReads(replica, max_lag_s=1.0, check_every_s=0.0)
        try:
            fresh = await reads.source(primary) is replica
            await standby.execute("SELECT pg_wal_replay_pause()")
            # a transaction replayed later than 1 s after it committed: the replica is behind
            await primary.execute("CREATE TABLE IF NOT EXISTS public.lag_probe (at timestamptz)")
            await asyncio.sleep(1.5)
            await primary.execute("INSERT INTO public.lag_probe VALUES (now())")
            await asyncio.sleep(1.5)
            paused = await reads.source(primary) is primary
            lag_paused = reads.lag_s
            await standby.execute("SELECT pg_wal_replay_resume()")
            deadline = time.monotonic() + 30
            while await reads.source(primary) is not replica and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            resumed = await reads.source(primary) is replica
        finally:
            await standby.close()
            await primary.close()
            await replica.close()
        return {"fresh_reads_replica": fresh, "lagging_reads_primary": paused, "lag_when_paused_s": lag_paused,
                "resumed_reads_replica": resumed, **await self.service_reads_replica(database)}

    async def service_reads_replica(self, database: str) -> dict:
        """Enrollment's person record (a read-only API) asked once: its answer comes through a connection of the
        service's replica pool (none before: the pool starts empty), seen in the standby's pg_stat_activity."""
        conn = await asyncpg.connect(with_database(f"postgresql://yibao@{HOST}:{self.pg.port}/x", database),
                                     server_settings={"search_path": "enrollment"})
        try:
            token = await enrollment_store.create_credential(conn, "340321", "agency", "chaos standby run")
        finally:
            await conn.close()
        standby = await self.superuser(self.standby.port)
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'yibao-enrollment' "
               "AND datname = $1")
        try:
            before = await standby.fetchval(sql, database)
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(self.system.url("enrollment", "/api/person-record"),
                                           json={"id": "340321196001010010"}, headers={"Authorization": f"Bearer {token}"})
            after = await standby.fetchval(sql, database)
        finally:
            await standby.close()
        return {"person_record_status": answer.status_code, "enrollment_replica_connections": [before, after]}

    async def counts(self, port: int) -> dict[str, int]:
        database = urlsplit(self.system.pg_dsn).path[1:]
        conn = await asyncpg.connect(f"postgresql://yibao@{HOST}:{port}/{database}")
        try:
            return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in
                    ("payment.receipt", "enrollment.enrollment", "subsidy.payment", "reconciliation.receipt")}
        finally:
            await conn.close()

    async def fail_over(self) -> None:
        """Stop the primary as a crash would, promote the standby; the services find it through their DSN."""
        before = await self.counts(self.pg.port)
        started = self.failover_started = time.monotonic()
        await asyncio.to_thread(self.pg.stop_immediately)
        await asyncio.to_thread(self.standby.promote)
        promoted_s = time.monotonic() - started
        after = await self.counts(self.standby.port)
        self.failover = {"committed_seen_before_stop": before, "on_promoted_standby": after,
                         "promoted_after_s": round(promoted_s, 1),
                         "nothing_committed_missing": all(after[t] >= n for t, n in before.items())}

    async def resumed(self, timeout: float = 300) -> None:
        """How long after the primary stopped payment ingest recorded a receipt again, on the promoted standby."""
        recorded = self.failover["on_promoted_standby"]["payment.receipt"]
        while (await self.counts(self.standby.port))["payment.receipt"] <= recorded:
            if time.monotonic() - self.failover_started > timeout:
                raise TimeoutError(f"payment ingest recorded nothing for {timeout}s after the failover")
            await asyncio.sleep(0.2)
        self.failover["chain_resumed_after_s"] = round(time.monotonic() - self.failover_started, 1)

    async def wait_for_work(self, minimum: int, timeout: float = 180) -> None:
        """Until payment ingest has recorded `minimum` receipts: the failover lands on a chain at work."""
        deadline = time.monotonic() + timeout
        while (await self.counts(self.pg.port))["payment.receipt"] < minimum:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the chain did not reach {minimum} receipts before the failover")
            await asyncio.sleep(0.5)

    # ---------------------------------------------------------------- the run

    async def execute(self) -> dict:
        started = time.monotonic()
        servers = await asyncio.to_thread(self.start_servers)
        self.system = await self.new_system(servers)
        try:
            ledger = await asyncio.to_thread(generate, self.plan.receipts, seed=self.plan.seed)
            await self.credentials()
            for service in SERVICES:
                self.system.start(service)
            await self.healthy()
            replica = await self.replica_reads()
            half = len(ledger.receipts) // 2
            await self.produce(ledger.receipts[:half])
            for submission in ledger.submissions[:3]:
                await self.post(submission)
            await self.wait_for_work(max(1, half // 10))
            pids = {s: p.pid for s, p in self.system.processes.items()}
            await self.fail_over()
            feeding = asyncio.create_task(self.produce(ledger.receipts[half:]))
            await self.resumed()
            await feeding
            for submission in ledger.submissions[3:]:
                await self.post(submission)
            settle_s = round(await self.settle(self.system), 1)
            return await self.report(ledger, replica, pids, settle_s, time.monotonic() - started)
        finally:
            await self.drop()

    async def drop(self) -> None:
        self.system.stop_all()  # the database goes with the servers' data at cleanup

    async def report(self, ledger: Ledger, replica: dict, pids: dict, settle_s: float, seconds: float) -> dict:
        check, failures = await checker.check(ledger, self.system.pg_dsn, self.read_topic, self.system.topic_prefix)
        restarted = sorted(s for s, pid in pids.items() if self.system.processes.get(s) is None
                           or self.system.processes[s].pid != pid)
        if restarted:
            failures.append(f"services restarted for the failover: {restarted}")
        if not self.failover.get("nothing_committed_missing"):
            failures.append(f"the promoted standby lacks rows the primary had committed: {self.failover}")
        if replica["enrollment_replica_connections"][1] < 1:
            failures.append(f"enrollment's person record was not read from the replica: {replica}")
        if not all(replica[k] for k in ("fresh_reads_replica", "lagging_reads_primary", "resumed_reads_replica")):
            failures.append(f"replica reads did not follow the lag bound: {replica}")
        report = {"receipts": len(ledger.receipts), "tag": self.tag, "failover": self.failover,
                  "replica_reads": replica, "settle_s": settle_s, "unexpected_exits": dict(self.tally.unexpected_exits),
                  "lost": check.pop("lost"), "doubled": check.pop("doubled"), "check": check, "failures": failures,
                  "seconds": round(seconds, 1), "logs": str(self.system.log_dir)}
        (self.system.log_dir / "standby-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        return report


def run_standby(receipts: int, seed: int = 7, settle_timeout_s: float = 600.0) -> dict:
    """One run; whatever happens, every process it started is stopped and its data removed (logs stay)."""
    return run_cleaning_up(StandbyRun(receipts, seed, settle_timeout_s))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos.standby", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--receipts", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args(argv)
    report = run_standby(a.receipts, a.seed, settle_timeout_s=1800)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = not report["failures"] and report["lost"] == 0 and report["doubled"] == 0
    print(f"standby chaos: {'PASS' if ok else 'FAIL'} — receipts {report['receipts']}, lost {report['lost']}, "
          f"doubled {report['doubled']}, promoted after {report['failover'].get('promoted_after_s')} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
