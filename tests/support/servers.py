"""Where the tests' Kafka, PostgreSQL and Redis come from.

In this order, first that works:

1. the environment: YIBAO_KAFKA_BOOTSTRAP, YIBAO_PG_DSN, YIBAO_REDIS_URL (all three;
   `make test` sets them from `deploy/local/stack.py env`). Whoever set them has
   prepared the servers (topics, migrations).
2. testcontainers, when a Docker engine answers a ping: Kafka (KRaft), postgres:15,
   redis:7 containers for the session; topics and migrations are applied here.
3. the project's local stack: `deploy/local/stack.py up` (PostgreSQL, Redis and Kafka
   as loopback processes, topics created), then migrations.

Nothing is ever skipped: when no source works, `ServersUnavailable` says why each failed.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.py"
ENV_VARS = ("YIBAO_KAFKA_BOOTSTRAP", "YIBAO_PG_DSN", "YIBAO_REDIS_URL")


class ServersUnavailable(RuntimeError):
    """No source of servers worked; the message lists what was tried."""


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    pg_dsn: str
    redis_url: str
    source: str  # "env", "testcontainers" or "local-stack"

    def env(self) -> dict[str, str]:
        """The same addresses as YIBAO_* variables, e.g. for a subprocess."""
        return {
            "YIBAO_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "YIBAO_PG_DSN": self.pg_dsn,
            "YIBAO_REDIS_URL": self.redis_url,
        }


def from_env(environ: dict[str, str] | os._Environ = os.environ) -> Servers | None:
    """Servers named by the environment; None when none of the variables is set."""
    values = {k: environ.get(k, "").strip() for k in ENV_VARS}
    if not any(values.values()):
        return None
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise ServersUnavailable(
            f"{', '.join(missing)} not set while {', '.join(k for k in ENV_VARS if values[k])} is: "
            "set all three (e.g. `eval \"$(python3 deploy/local/stack.py env)\"`) or none"
        )
    return Servers(values["YIBAO_KAFKA_BOOTSTRAP"], values["YIBAO_PG_DSN"], values["YIBAO_REDIS_URL"], "env")


def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers a ping (the CLI alone is not enough)."""
    try:
        import docker  # installed with testcontainers
    except ImportError as exc:
        return False, f"docker SDK not importable: {exc}"
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return False, f"no Docker engine: {type(exc).__name__}: {exc}"
    return True, "docker ping ok"


def from_testcontainers(stack: ExitStack) -> Servers:
    """Start Kafka, PostgreSQL and Redis containers; they stop when `stack` closes."""
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer

    pg = stack.enter_context(
        PostgresContainer("postgres:15", username="yibao", password="yibao", dbname="yibao", driver=None)
    )
    redis = stack.enter_context(RedisContainer("redis:7"))
    kafka = stack.enter_context(KafkaContainer().with_kraft())
    redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(redis.port)}/0"
    servers = Servers(kafka.get_bootstrap_server(), pg.get_connection_url(driver=None), redis_url, "testcontainers")
    prepare(servers)
    return servers


def from_local_stack() -> Servers:
    """Start (or reuse) the project's local stack and use its addresses."""
    res = subprocess.run(
        [sys.executable, str(STACK), "up"], cwd=ROOT, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=600,
    )
    if res.returncode != 0:
        raise ServersUnavailable(f"`stack.py up` failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    out = subprocess.run([sys.executable, str(STACK), "env"], capture_output=True, text=True, check=True).stdout
    env = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines() if "=" in line)
    servers = from_env(env)
    assert servers is not None
    servers = Servers(servers.kafka_bootstrap, servers.pg_dsn, servers.redis_url, "local-stack")
    prepare(servers)
    return servers


def prepare(servers: Servers) -> None:
    """Make fresh servers look like `make up` leaves them: topics created, schemas migrated."""
    from shared.kafka_admin import ensure_topics

    asyncio.run(ensure_topics(servers.kafka_bootstrap))
    res = subprocess.run(
        [sys.executable, "-c", "from cli.main import app; app()", "migrate"],
        cwd=ROOT, env={**os.environ, **servers.env()}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300,
    )
    if res.returncode != 0:
        raise ServersUnavailable(f"`yibao migrate` failed on {servers.source} servers:\n{res.stdout}{res.stderr}")


def find_servers(stack: ExitStack) -> Servers:
    """The first source that works, in the documented order; never None."""
    servers = from_env()
    if servers is not None:
        return servers
    tried: list[str] = ["environment: YIBAO_* not set"]
    ok, why = docker_available()
    if ok:
        try:
            return from_testcontainers(stack)
        except Exception as exc:
            tried.append(f"testcontainers: {type(exc).__name__}: {exc}")
    else:
        tried.append(f"testcontainers: {why}")
    try:
        return from_local_stack()
    except Exception as exc:
        tried.append(f"local stack: {type(exc).__name__}: {exc}")
    raise ServersUnavailable(
        "no Kafka/PostgreSQL/Redis for the tests. Tried:\n  - " + "\n  - ".join(tried)
        + "\nRun `make up` (installs and starts the local stack) or start Docker."
    )
