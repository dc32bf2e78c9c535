#!/usr/bin/env python3
"""The local stack: PostgreSQL, Redis and Apache Kafka as plain processes on loopback.

For machines without a Docker engine (CI included). Standard library only, so it
runs with the system python3 before the project's virtualenv exists.

    python3 deploy/local/stack.py install        # apt packages + Kafka jars (idempotent)
    python3 deploy/local/stack.py up             # start PG, Redis, Kafka; create topics
    python3 deploy/local/stack.py services-up    # the five services, waited on /health
    python3 deploy/local/stack.py status | env | services-down | down

    python3 deploy/local/stack.py up --brokers 3                          # Kafka as a 3-node KRaft cluster
    python3 deploy/local/stack.py services-up --instances payment_ingest=2  # N processes of a service

Everything lives under .local/ in the repository: data (.local/pg, .local/redis,
.local/kafka/data), pid files (.local/run/<name>.pid) and logs
(.local/log/<name>.log). Processes are only ever stopped by the pid in their pid
file, and only after checking that the pid still belongs to that program.

Ports (chosen away from the defaults so a system PostgreSQL/Redis/Kafka can coexist):
PostgreSQL 15432, Redis 16379, Kafka 19092 (controller 19093), services 18001-18005.

`up --brokers 3` runs Kafka as a three-node KRaft cluster instead (each node broker and
controller; node n on 19092+2(n-1), its controller on the port after it: 19092/19093,
19094/19095, 19096/19097; data under .local/kafka/cluster/node-<n>, pid files kafka,
kafka-2, kafka-3, logs kafka-server-<n>.log), every topic replicated on the three
brokers with min.insync.replicas=2: a write acknowledged with acks=all is on two brokers,
and the cluster keeps working with one of them down. `env` then lists the three nodes
as the bootstrap servers. The single broker stays the default; `up` with the other
shape running refuses and says how to switch (`down`, then `up` with the shape wanted).

`up --pg-standby` adds a streaming replica of PostgreSQL on 15433 (pg_basebackup -R from
the primary, asynchronous, hot standby; data next to the primary's in pg-standby, pid file
postgres-standby): `services-up` then gives the services YIBAO_PG_READ_DSN, and their
read-only APIs read from it while it lags at most YIBAO_PG_READ_MAX_LAG_S (shared/replica.py).

`services-up --instances NAME=N` (repeatable) runs N processes of a service in the same
consumer groups (Kafka shares the partitions among them). Instance 1 keeps the service's
port; instance n listens on the service's port + 100 x (n-1) (payment_ingest: 18003,
18103, 18203), pid file service-<name>-<n>, log service-<name>-<n>.log, so each answers
/health and /metrics on its own port.
"""
from __future__ import annotations

import argparse
import glob
import grp
import hashlib
import os
import pwd
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
RUN = LOCAL / "run"
LOG = LOCAL / "log"
VENV_BIN = ROOT / ".venv" / "bin"

HOST = "127.0.0.1"
PG_PORT = 15432
PG_STANDBY_PORT = 15433
REDIS_PORT = 16379
KAFKA_PORT = 19092
KAFKA_CONTROLLER_PORT = 19093

PG_DB = "yibao"
PG_USER = "yibao"

ENV = {
    "YIBAO_KAFKA_BOOTSTRAP": f"{HOST}:{KAFKA_PORT}",
    "YIBAO_PG_DSN": f"postgresql://{PG_USER}@{HOST}:{PG_PORT}/{PG_DB}",
    "YIBAO_REDIS_URL": f"redis://{HOST}:{REDIS_PORT}/0",
}

# The five services in start order, with their HTTP (health/metrics) ports: from shared/contracts.py,
# which like shared/topics.py needs only the standard library (this script runs before the venv exists).
sys.path.insert(0, str(ROOT))
from shared.contracts import SERVICES as _CONTRACTS  # noqa: E402

SERVICES = {c.name: c.http_port for c in _CONTRACTS}

KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_HOME = LOCAL / "kafka"
KAFKA_LIBS = KAFKA_HOME / "libs"
KAFKA_STAMP = KAFKA_HOME / "libs.pom.sha256"
KAFKA_DATA = KAFKA_HOME / "data"

PG_DATA = LOCAL / "pg"
REDIS_DIR = LOCAL / "redis"

IS_ROOT = os.geteuid() == 0


# ---------------------------------------------------------------- helpers


def say(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def die(msg: str, code: int = 1) -> NoReturn:
    print(f"[stack] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def run(cmd: list[str], *, check: bool = True, capture: bool = False, env=None, **kw):
    """Run a command, echoing it; on failure show its output and stop."""
    res = subprocess.run(
        cmd,
        check=False,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        env=env,
        **kw,
    )
    if check and res.returncode != 0:
        out = (res.stdout or "").strip()
        die(f"command failed ({res.returncode}): {' '.join(cmd)}" + (f"\n{out}" if out else ""))
    return res


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def pid_file(name: str) -> Path:
    return RUN / f"{name}.pid"


def log_file(name: str) -> Path:
    return LOG / f"{name}.log"


# Each managed process is recognised by a marker in its command line, so a stale
# pid file whose pid was reused by some other program is never acted on.
MARKERS = {
    "postgres": "postgres",
    "postgres-standby": "postgres",
    "redis": "redis-server",
    "kafka": "kafka.Kafka",
    "kafka-2": "kafka.Kafka",
    "kafka-3": "kafka.Kafka",
    **{f"service-{name}": f"services.{name}" for name in SERVICES},
}


def marker(name: str) -> str:
    """The command-line marker of a managed process; extra instances (service-<name>-<n>) share their service's."""
    if name in MARKERS:
        return MARKERS[name]
    base, _, n = name.rpartition("-")
    if base in MARKERS and base.startswith("service-") and n.isdigit():
        return MARKERS[base]
    raise KeyError(name)


def read_pid(name: str) -> int | None:
    """The pid from the pid file if that process is alive and is the expected program."""
    try:
        pid = int(pid_file(name).read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # zombie: exited, not yet reaped
        return None
    return pid if marker(name) in cmdline else None


def spawn(name: str, cmd: list[str], *, env=None, cwd: Path = ROOT, user: str | None = None) -> int:
    """Start a long-running process in its own session, output appended to its log."""
    LOG.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    log = open(log_file(name), "ab")
    log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(cmd)}\n".encode())
    log.flush()
    kw = {}
    if user:
        # Exec directly as that user (no runuser wrapper), so the pid is the server's own.
        kw = {"user": user, "group": user, "extra_groups": []}
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
        **kw,
    )
    log.close()
    pid_file(name).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(name: str, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> bool:
    """Stop one process by the pid in its pid file: signal, wait, SIGKILL after timeout."""
    pid = read_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)  # stale or absent
        return False
    say(f"stopping {name} (pid {pid})")
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pid_file(name).unlink(missing_ok=True)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.2)
    else:
        say(f"{name} (pid {pid}) did not stop within {timeout:.0f}s; sending SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
    pid_file(name).unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap if it is our own child
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_for(what: str, check, *, timeout: float, name: str | None = None, interval: float = 0.3) -> None:
    """Poll `check()` until true; on timeout (or the process dying) show the log and stop."""
    # Judge "died" by the pid alone: right after start the command line can be
    # mid-rewrite (redis retitles itself), so the marker check would misfire.
    try:
        pid = int(pid_file(name).read_text().split()[0]) if name else None
    except (FileNotFoundError, ValueError, IndexError):
        pid = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        if pid is not None and not _alive(pid):
            die(f"{what}: the process exited during start-up. Last lines of {log_file(name)}:\n{tail(log_file(name))}")
        time.sleep(interval)
    extra = f" Last lines of {log_file(name)}:\n{tail(log_file(name))}" if name else ""
    die(f"{what} not ready after {timeout:.0f}s.{extra}")


# ---------------------------------------------------------------- install


def pg_bin_dir() -> Path | None:
    """The newest PostgreSQL server bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def java_major() -> int | None:
    java = shutil.which("java")
    if not java:
        return None
    res = subprocess.run([java, "-version"], capture_output=True, text=True)
    out = res.stderr + res.stdout
    # 'openjdk version "17.0.15" ...' or 'java version "1.8.0_392"'
    for token in out.split('"')[1:2]:
        parts = token.split(".")
        try:
            major = int(parts[0])
            return int(parts[1]) if major == 1 else major
        except (ValueError, IndexError):
            return None
    return None


def missing_packages() -> list[str]:
    """Debian packages needed by the stack that are not installed yet."""
    need: list[str] = []
    if pg_bin_dir() is None:
        need.append("postgresql")
    if not shutil.which("redis-server"):
        need.append("redis-server")
    major = java_major()
    if major is None or major < 17:
        need.append("openjdk-17-jre-headless")
    if not shutil.which("mvn"):
        need.append("maven")
    if not shutil.which("make"):
        need.append("make")
    # The ops console is tested in a real headless browser; the font lets its screenshots show Chinese.
    if not shutil.which("chromium") or not shutil.which("chromedriver") or not glob.glob("/usr/share/fonts/*/wqy/*"):
        need += ["chromium", "chromium-driver", "fonts-wqy-microhei"]
    # Debian's python3 ships without ensurepip; `python3 -m venv` needs pythonX.Y-venv.
    if subprocess.run([sys.executable, "-c", "import ensurepip"], capture_output=True).returncode != 0:
        need.append(f"python{sys.version_info.major}.{sys.version_info.minor}-venv")
    return need


def apt_command(packages: list[str], simulate: bool = False) -> list[list[str]]:
    prefix: list[str] = []
    if not IS_ROOT:
        if not shutil.which("sudo"):
            die(f"need root (or sudo) to install: {' '.join(packages)}")
        prefix = ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]
    install = prefix + ["apt-get", "install", "-y", "--no-install-recommends"]
    if simulate:
        install.append("-s")
    return [prefix + ["apt-get", "update"], install + packages]


def cmd_install(args) -> None:
    t0 = time.monotonic()
    need = missing_packages()
    if need:
        if not shutil.which("apt-get"):
            die(f"missing {', '.join(need)} and no apt-get: install them by hand")
        update, install = apt_command(need, simulate=args.simulate)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        say(f"apt-get install {' '.join(need)}")
        if not args.simulate:
            run(update, env=env)
        run(install, env=env)
    else:
        say("system packages: all present")
    if args.simulate:
        return
    fetch_kafka()
    say(f"install done in {time.monotonic() - t0:.1f}s")


def fetch_kafka() -> None:
    """Copy the broker jars from Maven Central, only when deploy/kafka/pom.xml changed."""
    want = sha256(KAFKA_POM)
    have = KAFKA_STAMP.read_text().strip() if KAFKA_STAMP.exists() else ""
    if have == want and any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        say(f"kafka jars: up to date ({len(list(KAFKA_LIBS.glob('*.jar')))} jars)")
        return
    mvn = shutil.which("mvn")
    if not mvn:
        die("mvn not found; run `stack.py install` as root so apt can install maven")
    say("kafka jars: fetching from Maven Central (pom.xml changed or first run)")
    if KAFKA_LIBS.exists():
        shutil.rmtree(KAFKA_LIBS)  # a changed pom must not leave old jar versions behind
    KAFKA_LIBS.mkdir(parents=True)
    run([mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(KAFKA_POM), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={KAFKA_LIBS}"], capture=True)  # output shown only on failure
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        die(f"maven finished but no kafka_2.13 jar in {KAFKA_LIBS}")
    KAFKA_STAMP.write_text(want + "\n")
    say(f"kafka jars: {len(list(KAFKA_LIBS.glob('*.jar')))} jars in {KAFKA_LIBS.relative_to(ROOT)}")


# ---------------------------------------------------------------- PostgreSQL


def _pg_user() -> str | None:
    """Who runs PostgreSQL: `postgres` when we are root (it refuses root), else ourselves."""
    return "postgres" if IS_ROOT else None


def _as_pg(cmd: list[str]) -> list[str]:
    user = _pg_user()
    return ["runuser", "-u", user, "--"] + cmd if user else cmd


def _pg_can_reach(path: Path) -> bool:
    """Whether the PostgreSQL user may search every folder from / down to `path`."""
    user = _pg_user()
    if not user:
        return True
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        die(f"no `{user}` user: is the PostgreSQL server installed? run `stack.py install`")
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == pw.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid in gids:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def pg_dirs() -> tuple[Path, Path]:
    """(data folder, unix socket folder) for PostgreSQL.

    Normally .local/pg and .local/run/pg. When the `postgres` user cannot walk down to
    .local (a clone under root's 0700 home, say), both go to /var/tmp/yibao-<hash of
    the repository path> instead. Socket paths are limited to 107 bytes, so a very
    deep checkout also moves the socket folder.
    """
    tag = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    LOCAL.mkdir(parents=True, exist_ok=True)
    if _pg_can_reach(LOCAL):
        data, sock = PG_DATA, RUN / "pg"
    else:
        outside = Path("/var/tmp") / f"yibao-{tag}"
        data, sock = outside / "pg", outside / "run"
    if len(str(sock / f".s.PGSQL.{PG_PORT}")) > 100:
        sock = Path("/tmp") / f"yibao-pg-{tag}"
    return data, sock


def pg_up() -> bool:
    if read_pid("postgres"):
        return False
    bindir = pg_bin_dir()
    if bindir is None:
        die("PostgreSQL server not installed; run `stack.py install`")
    if port_open(PG_PORT):
        die(f"port {PG_PORT} is taken by a process this stack did not start")
    user = _pg_user()
    data, sock = pg_dirs()
    if data != PG_DATA:
        say(f"user {user} cannot search {LOCAL}: PostgreSQL data lives in {data}")
    for d in (data.parent, sock):
        d.mkdir(parents=True, exist_ok=True)
    if not (data / "PG_VERSION").exists():
        say(f"initdb {data}")
        if data.exists():
            shutil.rmtree(data)  # a half-made cluster from an interrupted initdb
        data.mkdir(mode=0o700)
        if user:
            shutil.chown(data, user, user)
        run(_as_pg([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth-local=trust", "--auth-host=trust", "--encoding=UTF8", "--no-locale"]),
            capture=True)
    if user:
        shutil.chown(sock, user, user)
        # A stale postmaster.pid (e.g. after a machine crash) is handled by postgres itself.
    spawn("postgres", [
        str(bindir / "postgres"), "-D", str(data),
        "-c", f"listen_addresses={HOST}",
        "-c", f"port={PG_PORT}",
        "-c", f"unix_socket_directories={sock}",
        "-c", "max_connections=200",
        # Look for tables to analyze every 5 s, not every minute: a receipt table that grows by
        # hundreds of thousands of rows a minute without statistics gets sequential-scan plans for
        # its batch look-ups (measured: 10k receipts/s offered, p50 15 s -> 0.9 s).
        "-c", "autovacuum_naptime=5s",
        "-c", "logging_collector=off",
        # The December peak writes ~10 KB of WAL per receipt across the five schemas. With the defaults
        # (1 GB of WAL between checkpoints, 128 MB of buffers) a checkpoint came every ~15 s of the chain
        # and each one made the next write of every page a full-page image; lz4 compresses those images.
        "-c", "shared_buffers=1GB",
        "-c", "wal_buffers=64MB",
        "-c", "max_wal_size=8GB",
        "-c", "checkpoint_timeout=15min",
        "-c", "wal_compression=lz4",
        # Per-statement figures for the benchmarks (the view pg_stat_statements in the database yibao).
        "-c", "shared_preload_libraries=pg_stat_statements",
    ], user=user)
    wait_for("PostgreSQL", lambda: run([str(bindir / "pg_isready"), "-q", "-h", HOST, "-p", str(PG_PORT),
                                               "-U", "postgres", "-d", "postgres"],
                                        check=False, capture=True).returncode == 0,
             timeout=60, name="postgres")
    psql = [str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(PG_PORT),
            "-U", "postgres", "-d", "postgres"]
    run(psql + ["-c", f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_USER}') THEN
            CREATE ROLE {PG_USER} LOGIN CREATEDB;
          END IF; END $$;"""], capture=True)
    # Tests drop their databases WITH (FORCE); an autovacuum worker busy in one has no role the
    # owner belongs to, so without pg_signal_backend the drop fails now and then after big loads.
    run(psql + ["-c", f"GRANT pg_signal_backend TO {PG_USER}"], capture=True)
    exists = run(psql + ["-tA", "-c", f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'"],
                 capture=True).stdout.strip()
    if exists != "1":
        run(psql + ["-c", f"CREATE DATABASE {PG_DB} OWNER {PG_USER}"], capture=True)
    return True


def pg_standby_up() -> bool:
    """A hot standby of the primary on PG_STANDBY_PORT, streaming asynchronously (a dead standby must not stop
    the primary's commits on a development machine; the fault harness's standby is synchronous)."""
    if read_pid("postgres-standby"):
        return False
    bindir = pg_bin_dir()
    if bindir is None:
        die("PostgreSQL server not installed; run `stack.py install`")
    if port_open(PG_STANDBY_PORT):
        die(f"port {PG_STANDBY_PORT} is taken by a process this stack did not start")
    user = _pg_user()
    primary, sock = pg_dirs()
    data = primary.parent / "pg-standby"
    if not (data / "PG_VERSION").exists():
        say(f"pg_basebackup of the primary into {data}")
        if data.exists():
            shutil.rmtree(data)  # a half-made copy from an interrupted pg_basebackup
        data.mkdir(parents=True, mode=0o700)  # pg_basebackup fills an empty folder its user owns
        if user:
            shutil.chown(data, user, user)
        run(_as_pg([str(bindir / "pg_basebackup"), "-h", HOST, "-p", str(PG_PORT), "-U", "postgres", "-D", str(data),
                    "-R", "-X", "stream", "-c", "fast", "-d",
                    f"host={HOST} port={PG_PORT} user=postgres application_name=standby"]), capture=True)
    spawn("postgres-standby", [
        str(bindir / "postgres"), "-D", str(data),
        "-c", f"listen_addresses={HOST}", "-c", f"port={PG_STANDBY_PORT}", "-c", f"unix_socket_directories={sock}",
        # a hot standby refuses to start with fewer connections than its primary allows
        "-c", "max_connections=200", "-c", "hot_standby=on", "-c", "hot_standby_feedback=on",
        "-c", "logging_collector=off",
    ], user=user)
    wait_for("PostgreSQL standby", lambda: run([str(bindir / "pg_isready"), "-q", "-h", HOST, "-p",
                                                 str(PG_STANDBY_PORT), "-U", "postgres", "-d", "postgres"],
                                                check=False, capture=True).returncode == 0,
             timeout=120, name="postgres-standby")
    # the lag check reads the standby's WAL receiver (shared/replica.py), which needs this role
    run([str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(PG_PORT), "-U", "postgres",
         "-d", "postgres", "-c", f"GRANT pg_read_all_stats TO {PG_USER}"], capture=True)
    return True


# ---------------------------------------------------------------- Redis


def redis_ping() -> bool:
    with socket.create_connection((HOST, REDIS_PORT), timeout=1) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(64).startswith(b"+PONG")


def redis_up() -> bool:
    if read_pid("redis"):
        return False
    exe = shutil.which("redis-server")
    if not exe:
        die("redis-server not installed; run `stack.py install`")
    if port_open(REDIS_PORT):
        die(f"port {REDIS_PORT} is taken by a process this stack did not start")
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    spawn("redis", [
        exe, "--bind", HOST, "--port", str(REDIS_PORT), "--daemonize", "no",
        "--dir", str(REDIS_DIR),  # no --pidfile: our own pid file is the one that counts
        "--save", "", "--appendonly", "no", "--logfile", "",
    ])
    wait_for("Redis", redis_ping, timeout=30, name="redis")
    return True


# ---------------------------------------------------------------- Kafka


SERVER_PROPERTIES = f"""\
# Written by deploy/local/stack.py on every `up`; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={KAFKA_DATA}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# The cleaner allocates this buffer at start; the default 128 MiB does not fit a 512 MiB heap.
log.cleaner.dedupe.buffer.size=33554432
num.network.threads=2
num.io.threads=4
log.retention.hours=168
"""

LOG4J_PROPERTIES = f"""\
# Written by deploy/local/stack.py. Broker logs go to .local/log/kafka-server.log.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={LOG}/kafka-server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
"""


def java_cmd(main: str, *args: str, heap: list[str] | None = None, log4j: Path | None = None) -> list[str]:
    java = shutil.which("java")
    if not java:
        die("java not installed; run `stack.py install`")
    return [java, *(heap or ["-Xmx256m"]), "-XX:+UseG1GC", "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dlog4j.configuration=file:{log4j or KAFKA_HOME / 'log4j.properties'}",
            f"-Dkafka.logs.dir={LOG}",
            "-cp", f"{KAFKA_LIBS}/*", main, *args]


def kafka_metadata_ready(port: int = KAFKA_PORT, brokers: int = 1) -> bool:
    """A raw Kafka Metadata v1 request: ready when `brokers` brokers and a controller are listed."""
    client = b"yibao-stack"
    body = struct.pack(">hhih", 3, 1, 1, len(client)) + client + struct.pack(">i", -1)
    with socket.create_connection((HOST, port), timeout=2) as s:
        s.settimeout(5)
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv(s, 4))[0]
        data = _recv(s, size)
    pos = 4  # correlation id
    (n_brokers,) = struct.unpack_from(">i", data, pos)
    pos += 4
    for _ in range(n_brokers):
        pos += 4  # node id
        (hlen,) = struct.unpack_from(">h", data, pos)
        pos += 2 + hlen + 4  # host, port
        (rlen,) = struct.unpack_from(">h", data, pos)
        pos += 2 + max(rlen, 0)  # rack (nullable)
    (controller,) = struct.unpack_from(">i", data, pos)
    return n_brokers >= brokers and controller >= 0


def _recv(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def kafka_admin_ready(bootstrap: str = f"{HOST}:{KAFKA_PORT}") -> bool:
    """Confirm with aiokafka's admin client (what the services use), when the venv exists."""
    py = VENV_BIN / "python"
    if not py.exists():
        return True
    code = (
        "import asyncio,sys\n"
        "from aiokafka.admin import AIOKafkaAdminClient\n"
        "async def m():\n"
        f"    a = AIOKafkaAdminClient(bootstrap_servers='{bootstrap}', request_timeout_ms=5000)\n"
        "    await a.start()\n"
        "    try: await a.list_topics()\n"
        "    finally: await a.close()\n"
        "asyncio.run(m())\n"
    )
    return subprocess.run([str(py), "-c", code], capture_output=True, timeout=30).returncode == 0


def kafka_up() -> bool:
    if read_pid("kafka"):
        if running_brokers() != 1:
            die(f"Kafka runs as a {running_brokers()}-broker cluster; `up` without --brokers wants the single "
                "broker. Use `up --brokers 3`, or `down` then `up` to switch back.")
        return False
    if any(read_pid(f"kafka-{n}") for n in (2, 3)):
        die("nodes of a Kafka cluster are running without node 1; `down` first")
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        die(f"no Kafka jars in {KAFKA_LIBS}; run `stack.py install`")
    for port in (KAFKA_PORT, KAFKA_CONTROLLER_PORT):
        if port_open(port):
            die(f"port {port} is taken by a process this stack did not start")
    KAFKA_HOME.mkdir(parents=True, exist_ok=True)
    LOG.mkdir(parents=True, exist_ok=True)
    props = KAFKA_HOME / "server.properties"
    props.write_text(SERVER_PROPERTIES)
    (KAFKA_HOME / "log4j.properties").write_text(LOG4J_PROPERTIES)
    if not (KAFKA_DATA / "meta.properties").exists():
        id_file = KAFKA_HOME / "cluster.id"
        if not id_file.exists():
            cid = run(java_cmd("kafka.tools.StorageTool", "random-uuid"), capture=True).stdout.strip().splitlines()[-1]
            id_file.write_text(cid + "\n")
        cid = id_file.read_text().strip()
        say(f"formatting Kafka storage (cluster {cid})")
        run(java_cmd("kafka.tools.StorageTool", "format", "-t", cid, "-c", str(props), "--ignore-formatted"),
            capture=True)
    # A broker holds files open for every partition's segments and indexes; test runs create many
    # topics, and the common default soft limit (1024) runs out. The child inherits the raised limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    spawn("kafka", java_cmd("kafka.Kafka", str(props), heap=["-Xmx512m", "-Xms256m"]))
    KAFKA_SHAPE.write_text("1\n")
    wait_for("Kafka port", lambda: port_open(KAFKA_PORT), timeout=120, name="kafka")
    wait_for("Kafka metadata", kafka_metadata_ready, timeout=120, name="kafka")
    wait_for("Kafka admin client", kafka_admin_ready, timeout=60, name="kafka", interval=1)
    return True


# ---------------------------------------------------------------- Kafka as a cluster (up --brokers 3)

KAFKA_CLUSTER = KAFKA_HOME / "cluster"
KAFKA_SHAPE = KAFKA_HOME / "brokers"  # how many brokers the running Kafka has: 1 or 3


def node_name(node: int) -> str:
    return "kafka" if node == 1 else f"kafka-{node}"


def node_ports(node: int) -> tuple[int, int]:
    """(client port, controller port) of cluster node `node` (1-based): node 1 keeps the single broker's."""
    return KAFKA_PORT + 2 * (node - 1), KAFKA_CONTROLLER_PORT + 2 * (node - 1)


def running_brokers() -> int:
    """How many brokers the Kafka of this stack was started with (1 when it never ran as a cluster)."""
    try:
        return int(KAFKA_SHAPE.read_text().strip() or 1)
    except (FileNotFoundError, ValueError):
        return 1


def kafka_bootstrap() -> str:
    brokers = running_brokers() if read_pid("kafka") else 1
    return ",".join(f"{HOST}:{node_ports(n)[0]}" for n in range(1, brokers + 1))


def cluster_properties(node: int, brokers: int) -> str:
    """server.properties of cluster node `node`: broker and controller, `brokers` voters, every topic on
    three brokers (replication factor 3) and acks=all answered once two have a write (min.insync.replicas=2)."""
    port, controller = node_ports(node)
    voters = ",".join(f"{n}@{HOST}:{node_ports(n)[1]}" for n in range(1, brokers + 1))
    replicas = min(brokers, 3)
    min_isr = 2 if replicas > 1 else 1
    return f"""\
# Written by deploy/local/stack.py on every `up --brokers {brokers}`; edit the script, not this file.
process.roles=broker,controller
node.id={node}
controller.quorum.voters={voters}
listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller}
advertised.listeners=PLAINTEXT://{HOST}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={KAFKA_CLUSTER / f"node-{node}" / "data"}
num.partitions=1
default.replication.factor={replicas}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replicas}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_isr}
transaction.state.log.num.partitions=10
# A replica that was not in sync never becomes leader: that would drop writes already acknowledged.
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.cleaner.dedupe.buffer.size=33554432
num.network.threads=2
num.io.threads=4
log.retention.hours=168
"""


def kafka_cluster_up(brokers: int) -> bool:
    """Start (or find running) a `brokers`-node KRaft cluster; node 1 answers where the single broker would."""
    names = [node_name(n) for n in range(1, brokers + 1)]
    running = [n for n in names if read_pid(n)]
    if running and running_brokers() != brokers:
        die(f"Kafka runs as {running_brokers()} broker(s), not {brokers}: `down` first, then `up --brokers {brokers}`")
    if len(running) == brokers:
        return False
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        die(f"no Kafka jars in {KAFKA_LIBS}; run `stack.py install`")
    for node in range(1, brokers + 1):
        if read_pid(node_name(node)):
            continue
        for port in node_ports(node):
            if port_open(port):
                die(f"port {port} (Kafka node {node}) is taken by a process this stack did not start")
    KAFKA_CLUSTER.mkdir(parents=True, exist_ok=True)
    id_file = KAFKA_CLUSTER / "cluster.id"
    if not id_file.exists():
        cid = run(java_cmd("kafka.tools.StorageTool", "random-uuid"), capture=True).stdout.strip().splitlines()[-1]
        id_file.write_text(cid + "\n")
    cid = id_file.read_text().strip()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    for node in range(1, brokers + 1):
        if read_pid(node_name(node)):
            continue
        home = KAFKA_CLUSTER / f"node-{node}"
        home.mkdir(parents=True, exist_ok=True)
        props, log4j = home / "server.properties", home / "log4j.properties"
        props.write_text(cluster_properties(node, brokers))
        log4j.write_text(LOG4J_PROPERTIES.replace(f"{LOG}/kafka-server.log", f"{LOG}/kafka-server-{node}.log"))
        if not (home / "data" / "meta.properties").exists():
            say(f"formatting Kafka node {node} (cluster {cid})")
            run(java_cmd("kafka.tools.StorageTool", "format", "-t", cid, "-c", str(props), "--ignore-formatted",
                         log4j=log4j), capture=True)
        # Three JVMs share the machine: a small heap each (the single broker has the same).
        spawn(node_name(node), java_cmd("kafka.Kafka", str(props), heap=["-Xmx512m", "-Xms128m"], log4j=log4j))
    KAFKA_SHAPE.write_text(f"{brokers}\n")
    for node in range(1, brokers + 1):
        port = node_ports(node)[0]
        wait_for(f"Kafka node {node} port", lambda p=port: port_open(p), timeout=180, name=node_name(node))
    wait_for(f"Kafka metadata ({brokers} brokers)", lambda: kafka_metadata_ready(KAFKA_PORT, brokers),
             timeout=180, name="kafka")
    wait_for("Kafka admin client", lambda: kafka_admin_ready(kafka_bootstrap()), timeout=60, name="kafka",
             interval=1)
    return True


def create_topics() -> None:
    yibao = VENV_BIN / "yibao"
    if not yibao.exists():
        say("no .venv yet: skipping topic creation (`make up` creates the venv first)")
        return
    if running_brokers() == 1:
        run([str(yibao), "topics", "create"], env=dict(os.environ, **ENV))
        return
    # `yibao topics create` makes single-replica topics; on the cluster each is kept on three brokers.
    code = ("import asyncio,sys\n"
            "from shared.kafka_admin import ensure_topics\n"
            "made = asyncio.run(ensure_topics(sys.argv[1], replication_factor=3))\n"
            "print(f'created {len(made)} topic(s), replication factor 3, on {sys.argv[1]}')\n")
    run([str(VENV_BIN / "python"), "-c", code, kafka_bootstrap()], env=dict(os.environ, **env()))


def env(*, replica: bool = False) -> dict[str, str]:
    """The YIBAO_* addresses: the Kafka bootstrap list names every node when Kafka runs as a cluster. With
    `replica` (for the stack's own services) the standby's DSN too, when it runs. Never in `stack.py env`: the
    tests start services on databases of their own, which a replica of the database yibao is not."""
    replica_dsn = ({"YIBAO_PG_READ_DSN": f"postgresql://{PG_USER}@{HOST}:{PG_STANDBY_PORT}/{PG_DB}"}
                   if replica and read_pid("postgres-standby") else {})
    return {**ENV, "YIBAO_KAFKA_BOOTSTRAP": kafka_bootstrap(), **replica_dsn}


# ---------------------------------------------------------------- commands


def cmd_up(args) -> None:
    t0 = time.monotonic()
    timings = []
    brokers = args.brokers
    kafka = kafka_up if brokers == 1 else (lambda: kafka_cluster_up(brokers))
    steps = [("postgres", pg_up), ("redis", redis_up), ("kafka", kafka)]
    if args.pg_standby:
        steps.insert(1, ("postgres standby", pg_standby_up))
    for name, fn in steps:
        t = time.monotonic()
        started = fn()
        timings.append(f"{name} {'started' if started else 'already running'} ({time.monotonic() - t:.1f}s)")
    if not args.no_topics:
        create_topics()
    say("; ".join(timings))
    say(f"up in {time.monotonic() - t0:.1f}s: PostgreSQL {HOST}:{PG_PORT} (db {PG_DB}, user {PG_USER}), "
        f"Redis {HOST}:{REDIS_PORT}, Kafka {kafka_bootstrap()}"
        + (f" ({brokers} brokers, topics replicated 3 times, min.insync.replicas=2)" if brokers > 1 else "")
        + f"; logs in {LOG.relative_to(ROOT)}/")


def cmd_down(args) -> None:
    cmd_services_down(args)
    # The nodes of a cluster are told to stop together: the last one alone would wait for a quorum of
    # controllers to hand its partitions over to, and there would be none.
    nodes = [node_name(n) for n in (3, 2, 1)]
    for name in nodes:
        pid = read_pid(name)
        if pid:
            os.kill(pid, signal.SIGTERM)
    for name in nodes:
        stop(name, timeout=60)
    stop("redis", timeout=20)
    # PostgreSQL's SIGTERM is "smart" shutdown (waits for every client to leave);
    # SIGINT is its fast shutdown, which is what a stop should be.
    stop("postgres-standby", sig=signal.SIGINT, timeout=60)
    stop("postgres", sig=signal.SIGINT, timeout=60)
    say("down")


def all_names() -> list[str]:
    nodes = [node_name(n) for n in range(2, running_brokers() + 1)]
    standby = ["postgres-standby"] if pid_file("postgres-standby").exists() else []
    return ["postgres", *standby, "redis", "kafka", *nodes] + [f"service-{n}" for n in SERVICES] + extra_instances()


def instance_name(service: str, instance: int) -> str:
    return f"service-{service}" if instance == 1 else f"service-{service}-{instance}"


def instance_port(service: str, instance: int) -> int:
    """Instance 1 on the service's port, instance n on that port + 100 x (n-1)."""
    return SERVICES[service] + 100 * (instance - 1)


def extra_instances() -> list[str]:
    """Pid-file names of the running or recorded extra instances (service-<name>-<n>), in order."""
    found = []
    for path in sorted(RUN.glob("service-*-*.pid")):
        try:
            marker(path.stem)
        except KeyError:
            continue
        found.append(path.stem)
    return sorted(found, key=lambda n: (n.rpartition("-")[0], int(n.rpartition("-")[2])))


def name_port(name: str) -> int:
    if name.startswith("kafka"):
        return node_ports(1 if name == "kafka" else int(name.rpartition("-")[2]))[0]
    if name.startswith("service-"):
        base, _, n = name.removeprefix("service-").rpartition("-")
        if base in SERVICES and n.isdigit():
            return instance_port(base, int(n))
        return SERVICES[name.removeprefix("service-")]
    return {"postgres": PG_PORT, "postgres-standby": PG_STANDBY_PORT, "redis": REDIS_PORT}[name]


def cmd_status(args) -> None:
    running = 0
    for name in all_names():
        pid = read_pid(name)
        running += pid is not None
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"{name:32} {state:24} {HOST}:{name_port(name)}")
    # exit 0: the stack (PG, Redis, Kafka) is up; 3: nothing is running; 1: partly.
    core = sum(read_pid(n) is not None for n in ("postgres", "redis", "kafka"))
    sys.exit(0 if core == 3 else 3 if running == 0 else 1)


def cmd_env(args) -> None:
    for key, value in env().items():
        print(f"export {key}={value}")


def health_ok(port: int) -> bool:
    with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as resp:
        return resp.status == 200


def parse_instances(specs: list[str]) -> dict[str, int]:
    """`--instances payment_ingest=2 --instances enrollment=3` (or comma-separated) -> {service: N}."""
    wanted: dict[str, int] = {}
    for spec in ",".join(specs).split(","):
        if not spec.strip():
            continue
        name, sep, count = spec.strip().partition("=")
        if not sep or name not in SERVICES or not count.isdigit() or not 1 <= int(count) <= 12:
            die(f"--instances {spec!r}: write SERVICE=N with N from 1 to 12 and SERVICE one of {', '.join(SERVICES)}")
        wanted[name] = int(count)
    return wanted


def cmd_services_up(args) -> None:
    t0 = time.monotonic()
    py = VENV_BIN / "python"
    if not py.exists():
        die("no .venv; run `make venv` first")
    names = args.names or list(SERVICES)
    for name in names:
        if name not in SERVICES:
            die(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    counts = {name: 1 for name in names} | parse_instances(args.instances)
    # Scaling down: instances above the count asked for stop first (their partitions go to the others).
    for name in extra_instances():
        service, _, n = name.removeprefix("service-").rpartition("-")
        if service in counts and int(n) > counts[service]:
            stop(name, timeout=20)
    started, waited = [], []
    for name, count in counts.items():
        for instance in range(1, count + 1):
            key, port = instance_name(name, instance), instance_port(name, instance)
            waited.append((key, port))
            if read_pid(key):
                continue
            if port_open(port):
                die(f"port {port} for {key} is taken by a process this stack did not start")
            service_env = dict(os.environ, **env(replica=True), YIBAO_HTTP_PORT=str(port), PYTHONUNBUFFERED="1")
            spawn(key, [str(py), "-m", f"services.{name}"], env=service_env)
            started.append(key.removeprefix("service-"))
    for key, port in waited:
        wait_for(f"{key} (GET http://{HOST}:{port}/health)", lambda p=port: health_ok(p),
                 timeout=60, name=key, interval=0.5)
    say(f"services healthy in {time.monotonic() - t0:.1f}s: "
        + ", ".join(f"{k.removeprefix('service-')} :{p}" for k, p in waited)
        + (f" (started {', '.join(started)})" if started else " (all were running)"))


def cmd_services_down(args) -> None:
    for name in reversed(extra_instances()):
        stop(name, timeout=20)
    for name in reversed(list(SERVICES)):
        stop(f"service-{name}", timeout=20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("install", help="apt packages when missing, Kafka jars when the pom changed")
    p.add_argument("--simulate", action="store_true", help="only show what apt-get would do (apt-get -s)")
    p.set_defaults(fn=cmd_install)
    p = sub.add_parser("up", help="start PostgreSQL, Redis and Kafka, create topics")
    p.add_argument("--no-topics", action="store_true", help="do not run `yibao topics create`")
    p.add_argument("--brokers", type=int, choices=(1, 3), default=1,
                   help="Kafka as one broker (default) or a 3-node KRaft cluster (replication 3, min.insync 2)")
    p.add_argument("--pg-standby", action="store_true",
                   help=f"also a streaming replica of PostgreSQL on {PG_STANDBY_PORT} (read by the services services-up starts)")
    p.set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop services and the stack").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="what is running").set_defaults(fn=cmd_status)
    sub.add_parser("env", help="print the YIBAO_* variables as shell exports").set_defaults(fn=cmd_env)
    p = sub.add_parser("services-up", help="start the five services and wait for /health")
    p.add_argument("names", nargs="*", help="only these services")
    p.add_argument("--instances", action="append", default=[], metavar="SERVICE=N",
                   help="run N processes of SERVICE in its consumer groups (instance n on its port + 100 x (n-1)); "
                        "fewer than are running stops the extra ones")
    p.set_defaults(fn=cmd_services_up)
    sub.add_parser("services-down", help="stop the five services").set_defaults(fn=cmd_services_down)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
