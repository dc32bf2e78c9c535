"""The whole system for end-to-end tests: five service processes on the real servers.

Each `System` gets its own topic prefix, consumer groups and database, so tests
(and a `make run` on the same servers) never see each other's messages. The
services run as real processes (`python -m services.<name>`), as in production,
so a test can kill one and start it again.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from shared.kafka_admin import delete_topics_with_prefix, ensure_topics
from shared.migrate import ServiceSchema, migrate
from shared.topics import ALL_TOPICS
from tests.support.servers import Servers

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity_certification", "enrollment", "payment_ingest", "subsidy", "reconciliation")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@dataclass
class System:
    servers: Servers
    tag: str
    pg_dsn: str
    log_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def topic_prefix(self) -> str:
        return f"{self.tag}."

    def topic(self, name: str) -> str:
        return self.topic_prefix + name

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def env(self, service: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.servers.env(),
            "YIBAO_PG_DSN": self.pg_dsn,
            "YIBAO_TOPIC_PREFIX": self.topic_prefix,
            "YIBAO_GROUP_PREFIX": self.tag,
            "YIBAO_HTTP_PORT": str(self.ports[service]),
            "YIBAO_BATCH_TIMEOUT_MS": "20",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, service: str, instance: int = 1) -> str:
        """Start one process of `service`; returns its name: the service's for the first instance, `service#n`
        for the n-th (its own HTTP port and log, the same consumer groups)."""
        name = service if instance == 1 else f"{service}#{instance}"
        self.ports.setdefault(name, free_port())
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=self.env(name),
            stdout=log, stderr=subprocess.STDOUT,
        )
        return name

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(service)
        process.send_signal(sig)
        process.wait(timeout=30)

    async def wait_healthy(self, services: tuple[str, ...] = SERVICES, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            for service in services:
                while True:
                    process = self.processes[service]
                    if process.poll() is not None:
                        raise RuntimeError(f"{service} exited with {process.returncode}:\n{self.log_tail(service)}")
                    try:
                        if (await client.get(self.url(service, "/health"), timeout=2)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{service} not healthy after {timeout}s:\n{self.log_tail(service)}")
                    await asyncio.sleep(0.2)

    def log_tail(self, service: str, lines: int = 30) -> str:
        path = self.log_dir / f"{service}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop_all(self) -> None:
        for service in list(self.processes):
            self.kill(service, signal.SIGTERM)


def new_tag() -> str:
    """A system's name: its topic prefix, consumer-group prefix and database name."""
    return f"t{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def fresh_database(servers: Servers, label: str, *schemas: ServiceSchema) -> AsyncIterator[str]:
    """A new database named after `label`, migrated for `schemas` (none: empty), dropped afterwards; yields its DSN."""
    database = f"yibao_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        dsn = with_database(servers.pg_dsn, database)
        if schemas:
            await asyncio.to_thread(migrate, dsn, schemas)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def create_system(servers: Servers, log_root: Path, *, tag: str | None = None, kind: type[System] = System,
                        create_topics: bool = True) -> System:
    """Topics, a fresh database with every migration, and the log folder — services not started yet.

    (`create_topics=False` when the caller made them already, e.g. on a broker that needs credentials.)"""
    tag = tag or new_tag()
    database = f"yibao_{tag}"
    admin = await asyncpg.connect(servers.pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    system = kind(servers, tag, with_database(servers.pg_dsn, database), log_root / tag)
    system.log_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate, system.pg_dsn)
    if create_topics:
        await ensure_topics(servers.kafka_bootstrap,
                            [dataclasses.replace(t, name=system.topic(t.name)) for t in ALL_TOPICS])
    return system


async def drop_system(system: System, *, delete_topics: bool = True) -> None:
    """Stop its services, drop its database and delete its topics: a test run creates dozens of
    systems, and a broker keeping every one's partitions open ran out of file descriptors.
    (`delete_topics=False` for a system on a private broker that is thrown away whole.)"""
    system.stop_all()
    admin = await asyncpg.connect(system.servers.pg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(system.pg_dsn).path[1:]}" WITH (FORCE)')
    finally:
        await admin.close()
    if delete_topics:
        await delete_topics_with_prefix(system.servers.kafka_bootstrap, system.topic_prefix)


@asynccontextmanager
async def running(servers: Servers, log_root: Path, services: tuple[str, ...] = SERVICES) -> AsyncIterator[System]:
    """A fresh system with `services` started and healthy; torn down (database dropped) afterwards."""
    system = await create_system(servers, log_root)
    try:
        for service in services:
            system.start(service)
        await system.wait_healthy(services)
        yield system
    finally:
        await drop_system(system)
