"""Private Kafka, PostgreSQL and Redis for a chaos run: the harness may kill these, never the shared stack.

Each runs as a plain process on loopback with its own free ports and its data under
`.local/chaos/<run>/` (PostgreSQL's under /var/tmp when the `postgres` user cannot
reach .local). Kafka uses the shared stack's jars (deploy/local/stack.py installs
them) but its own properties and log file. Kafka has two client listeners: SERVICE,
advertised at the proxy's port so that every service connection goes through the
fault proxy, and DIRECT, for the harness itself (feeding, lag, replay).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAOS_HOME = ROOT / ".local" / "chaos"
KAFKA_LIBS = ROOT / ".local" / "kafka" / "libs"
HOST = "127.0.0.1"
IS_ROOT = os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(what: str, check, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: exited with {process.returncode}\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout}s\n{_tail(log)}")
        time.sleep(0.2)


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL server not installed: run `python3 deploy/local/stack.py install`")
    return found[-1].parent


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd


@dataclass
class Kafka:
    """A single KRaft node; kill() is SIGKILL, start() again reuses the same log directory."""

    home: Path
    service_port: int = field(default_factory=free_port)   # behind the proxy
    advertised_port: int = field(default_factory=free_port)  # the proxy's port
    direct_port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    kills: int = 0

    @property
    def direct(self) -> str:
        return f"{HOST}:{self.direct_port}"

    @property
    def log(self) -> Path:
        return self.home / "kafka.log"

    def _java(self, main: str, *args: str, heap: tuple[str, ...] = ("-Xmx128m",)) -> list[str]:
        java = shutil.which("java")
        if not java or not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
            raise RuntimeError("java or the Kafka jars are missing: run `python3 deploy/local/stack.py install`")
        return [java, *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true",
                f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}", "-cp", f"{KAFKA_LIBS}/*", main, *args]

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
            f"log4j.appender.file.File={self.log}\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        props = self.home / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@{HOST}:{self.controller_port}",
            f"listeners=SERVICE://{HOST}:{self.service_port},DIRECT://{HOST}:{self.direct_port},"
            f"CONTROLLER://{HOST}:{self.controller_port}",
            f"advertised.listeners=SERVICE://{HOST}:{self.advertised_port},DIRECT://{HOST}:{self.direct_port}",
            "listener.security.protocol.map=SERVICE:PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER", "inter.broker.listener.name=DIRECT",
            f"log.dirs={self.home / 'data'}", "num.partitions=1", "default.replication.factor=1",
            "min.insync.replicas=1", "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=2", "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false", "log.cleaner.dedupe.buffer.size=16777216",
            "num.network.threads=2", "num.io.threads=2", "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1", "",
        ]))
        return props

    def start(self) -> None:
        props = self._write_config()
        if not (self.home / "data" / "meta.properties").exists():
            cluster = subprocess.run(self._java("kafka.tools.StorageTool", "random-uuid"), capture_output=True,
                                     text=True, check=True).stdout.strip().splitlines()[-1]
            subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(props),
                                      "--ignore-formatted"), capture_output=True, check=True)
        out = open(self.home / "kafka.stdout", "ab")
        self.process = subprocess.Popen(self._java("kafka.Kafka", str(props), heap=("-Xmx384m", "-Xms128m")),
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until("chaos Kafka", lambda: port_open(self.direct_port), 120, self.process, self.log)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, the next start recovers the log directory."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.kills += 1
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class Postgres:
    """A private cluster; stop_immediately() is `pg_ctl stop -m immediate` (no checkpoint: crash recovery)."""

    home: Path
    port: int = field(default_factory=free_port)
    stops: int = 0

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://yibao@{HOST}:{self.port}/postgres"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(_as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.data), *args]),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self) -> None:
        bindir = _pg_bin()
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, mode=0o700)
            if IS_ROOT:
                shutil.chown(self.home, "postgres", "postgres")
                shutil.chown(self.data, "postgres", "postgres")
            subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                         "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]),
                           capture_output=True, check=True)
        options = (f"-c listen_addresses={HOST} -c port={self.port} -c unix_socket_directories={self.home} "
                   "-c max_connections=200 -c fsync=on -c shared_buffers=64MB -c autovacuum_naptime=5s")
        result = self._ctl("start", "-w", "-t", "60", "-l", str(self.home / "postgres.log"), "-o", options)
        if result.returncode != 0:
            raise RuntimeError(f"chaos PostgreSQL did not start: {result.stdout}{result.stderr}\n"
                               f"{_tail(self.home / 'postgres.log')}")
        psql = _as_postgres([str(bindir / "psql"), "-X", "-q", "-h", HOST, "-p", str(self.port), "-U", "postgres",
                             "-d", "postgres", "-c"])
        subprocess.run(psql + ["DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yibao') "
                               "THEN CREATE ROLE yibao LOGIN CREATEDB; END IF; END $$;"], capture_output=True, check=True)
        # as on the local stack: DROP DATABASE … WITH (FORCE) must be able to end an autovacuum worker
        subprocess.run(psql + ["GRANT pg_signal_backend TO yibao"], capture_output=True, check=True)

    def stop_immediately(self) -> None:
        self._ctl("stop", "-m", "immediate", "-w", "-t", "30")
        self.stops += 1

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast", "-w", "-t", "30")


@dataclass
class Redis:
    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    outages: int = 0

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server not installed: run `python3 deploy/local/stack.py install`")
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([exe, "--bind", HOST, "--port", str(self.port), "--save", "",
                                         "--appendonly", "no", "--dir", str(self.home)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until("chaos Redis", lambda: port_open(self.port), 30, self.process)

    def take_away(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.outages += 1
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def run_home(tag: str) -> Path:
    """Where a run keeps its servers' data: .local/chaos/<tag> (PostgreSQL may need /var/tmp, see Postgres)."""
    home = CHAOS_HOME / tag
    home.mkdir(parents=True, exist_ok=True)
    return home


def pg_home(tag: str) -> Path:
    """The `postgres` user must be able to walk down to its data folder; /var/tmp always works."""
    return Path("/var/tmp") / f"yibao-chaos-{tag}" if IS_ROOT else run_home(tag) / "pg"
