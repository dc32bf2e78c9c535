"""Private Kafka, PostgreSQL and Redis for a chaos run: the harness may kill these, never the shared stack.

Each runs as a plain process on loopback with its own free ports and its data under
`.local/chaos/<run>/` (PostgreSQL's under /var/tmp when the `postgres` user cannot
reach .local). Kafka uses the shared stack's jars (deploy/local/stack.py installs
them) but its own properties and log file. Kafka has two client listeners: SERVICE,
advertised at the proxy's port so that every service connection goes through the
fault proxy, and DIRECT, for the harness itself (feeding, lag, replay).

`KafkaCluster` is three such nodes as one KRaft cluster (each broker and controller, one
client listener each, no proxy; every topic replicated 3 times, min.insync.replicas=2),
for tests/chaos/cluster.py; `Standby` a synchronous streaming replica of a `Postgres`,
for tests/chaos/standby.py.
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


# ---------------------------------------------------------------- a three-broker cluster and a standby


def cluster_properties(node_id: int, port: int, controller_port: int, voters: str, data: Path, brokers: int) -> str:
    """server.properties of one node of a KRaft cluster in combined mode (broker and controller, as the
    local stack's `up --brokers 3`): every topic kept on every broker (replication factor `brokers`, at most 3)
    and a write acknowledged with acks=all only once it is on two of them (min.insync.replicas=2)."""
    replicas = min(brokers, 3)
    min_isr = 2 if replicas >= 2 else 1
    return "\n".join([
        "process.roles=broker,controller", f"node.id={node_id}", f"controller.quorum.voters={voters}",
        f"listeners=CLIENT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        f"advertised.listeners=CLIENT://{HOST}:{port}",
        "listener.security.protocol.map=CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=CLIENT",
        f"log.dirs={data}", "num.partitions=1",
        f"default.replication.factor={replicas}", f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={replicas}", "offsets.topic.num.partitions=4",
        f"transaction.state.log.replication.factor={replicas}", f"transaction.state.log.min.isr={min_isr}",
        "transaction.state.log.num.partitions=2",
        f"share.coordinator.state.topic.replication.factor={replicas}",
        f"share.coordinator.state.topic.min.isr={min_isr}",
        # a replica that was not in sync never becomes leader: that would drop acknowledged records
        "unclean.leader.election.enable=false",
        "group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=false",
        "log.cleaner.dedupe.buffer.size=16777216", "num.network.threads=2", "num.io.threads=2", "",
    ])


@dataclass
class KafkaNode:
    """One node of a KafkaCluster: kill() is SIGKILL, stop() a controlled shutdown (SIGTERM), start() reuses its logs."""

    home: Path
    node_id: int
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    kills: int = 0
    restarts: int = 0

    @property
    def log(self) -> Path:
        return self.home / "kafka.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def java(self, main: str, *args: str, heap: tuple[str, ...] = ("-Xmx128m",)) -> list[str]:
        java = shutil.which("java")
        if not java or not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
            raise RuntimeError("java or the Kafka jars are missing: run `python3 deploy/local/stack.py install`")
        return [java, *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true",
                f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}", "-cp", f"{KAFKA_LIBS}/*", main, *args]

    def configure(self, voters: str, brokers: int, cluster_id: str) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
            f"log4j.appender.file.File={self.log}\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        props = self.home / "server.properties"
        props.write_text(cluster_properties(self.node_id, self.port, self.controller_port, voters,
                                            self.home / "data", brokers))
        if not (self.home / "data" / "meta.properties").exists():
            subprocess.run(self.java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props),
                                     "--ignore-formatted"), capture_output=True, check=True)

    def start(self) -> None:
        """Start the JVM (a small heap: three of them share the machine); ready once its client port answers."""
        out = open(self.home / "kafka.stdout", "ab")
        self.process = subprocess.Popen(self.java("kafka.Kafka", str(self.home / "server.properties"),
                                                  heap=("-Xmx512m", "-Xms128m")),
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(f"Kafka node {self.node_id}", lambda: port_open(self.port), 180, self.process, self.log)

    def kill(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.kills += 1
        self.process = None

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM: a controlled shutdown, the node hands its leaderships over first (what an upgrade does)."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class KafkaCluster:
    """`size` KRaft nodes on loopback, each broker and controller (a quorum of `size` voters)."""

    home: Path
    size: int = 3
    nodes: list[KafkaNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes = [KafkaNode(self.home / f"node-{i}", i) for i in range(1, self.size + 1)]

    @property
    def direct(self) -> str:
        """The bootstrap list: every node, so a client finds the cluster whichever nodes are down."""
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    @property
    def kills(self) -> int:
        return sum(n.kills for n in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start(self) -> None:
        voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in self.nodes)
        first = self.nodes[0]
        first.home.mkdir(parents=True, exist_ok=True)
        cluster_id = subprocess.run(first.java("kafka.tools.StorageTool", "random-uuid"), capture_output=True,
                                    text=True, check=True).stdout.strip().splitlines()[-1]
        for node in self.nodes:
            node.configure(voters, self.size, cluster_id)
        for node in self.nodes:
            node.process = None
        # all at once: a node waits for a quorum of voters before it serves
        outs = [open(n.home / "kafka.stdout", "ab") for n in self.nodes]
        for node, out in zip(self.nodes, outs):
            node.process = subprocess.Popen(node.java("kafka.Kafka", str(node.home / "server.properties"),
                                                      heap=("-Xmx512m", "-Xms128m")),
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        for node in self.nodes:
            wait_until(f"Kafka node {node.node_id}", lambda n=node: port_open(n.port), 180, node.process, node.log)

    def restart(self, node_id: int) -> None:
        node = self.node(node_id)
        node.start()
        node.restarts += 1

    def stop(self) -> None:
        """At the end of a run (the data are thrown away): SIGKILL, not a controlled shutdown, which the last
        node could only finish with a quorum of controllers alive."""
        for node in self.nodes:
            if node.running:
                node.process.send_signal(signal.SIGKILL)
                node.process.wait(timeout=30)
            node.process = None


@dataclass
class Standby:
    """A streaming replica of a `Postgres` (pg_basebackup -R: standby.signal and primary_conninfo written), named
    `standby` to the primary, which tests/chaos/standby.py then makes synchronous (synchronous_standby_names): the
    primary reports a commit only once the standby has it on disk, so promoting the standby after the primary
    is lost keeps every committed transaction."""

    home: Path
    primary: Postgres
    port: int = field(default_factory=free_port)
    promoted: bool = False

    @property
    def data(self) -> Path:
        return self.home / "data"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(_as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.data), *args]),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.home.mkdir(parents=True, exist_ok=True)
            if IS_ROOT:
                shutil.chown(self.home, "postgres", "postgres")
            result = subprocess.run(_as_postgres([
                str(_pg_bin() / "pg_basebackup"), "-h", HOST, "-p", str(self.primary.port), "-U", "postgres",
                "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
                "-d", f"host={HOST} port={self.primary.port} user=postgres application_name=standby"]),
                capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise RuntimeError(f"pg_basebackup failed: {result.stdout}{result.stderr}")
        options = (f"-c listen_addresses={HOST} -c port={self.port} -c unix_socket_directories={self.home} "
                   "-c max_connections=200 -c hot_standby=on -c hot_standby_feedback=on")
        result = self._ctl("start", "-w", "-t", "60", "-l", str(self.home / "postgres.log"), "-o", options)
        if result.returncode != 0:
            raise RuntimeError(f"standby did not start: {result.stdout}{result.stderr}\n"
                               f"{_tail(self.home / 'postgres.log')}")

    def promote(self) -> None:
        result = self._ctl("promote", "-w", "-t", "60")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl promote failed: {result.stdout}{result.stderr}")
        self.promoted = True

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast", "-w", "-t", "30")
