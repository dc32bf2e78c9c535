"""A throw-away Kafka broker with SASL and ACLs, started from the local stack's jars, for the security tests.

It is configured like docker-compose.yml's Kafka (`SECURITY_PROPERTIES`, compared
with the compose file by tests/unit/test_compose.py): a SCRAM listener for the
services and departments (CLIENT), an internal PLAIN listener for the broker
itself and the admin principal (BROKER), a PLAIN controller listener,
StandardAuthorizer with `allow.everyone.if.no.acl.found=false`, super users
`admin` and `broker`. It runs on its own free loopback ports and its own
temporary folder, never touching the shared stack's broker (19092/19093), and is
killed (by its own pid) when the context ends.
"""
from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The same loopback host, jars and port helpers as the chaos harness's private broker.
from tests.chaos.infra import HOST, KAFKA_LIBS, free_port, port_open

ADMIN_PASSWORD = "test-admin-secret"
BROKER_PASSWORD = "test-broker-secret"

# The security part of the broker's configuration, the same keys and values as docker-compose.yml's Kafka.
SECURITY_PROPERTIES: dict[str, str] = {
    "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
    "inter.broker.listener.name": "BROKER",
    "controller.listener.names": "CONTROLLER",
    "sasl.mechanism.inter.broker.protocol": "PLAIN",
    "sasl.mechanism.controller.protocol": "PLAIN",
    "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256",
    "listener.name.broker.sasl.enabled.mechanisms": "PLAIN",
    "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "false",
    "super.users": "User:admin;User:broker",
}


def jaas(admin_password: str, broker_password: str) -> str:
    """The broker's JAAS file: PLAIN users broker and admin (static), SCRAM users from the metadata log."""
    return (
        "KafkaServer {\n"
        "  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
        f'    username="broker" password="{broker_password}"\n'
        f'    user_broker="{broker_password}" user_admin="{admin_password}";\n'
        "  org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
        "};\n"
    )


def cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what `random-uuid` prints)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass(frozen=True)
class SecureKafka:
    client: str  # SCRAM listener: services, departments, gateway
    internal: str  # PLAIN listener: the admin principal
    log: Path


def _java(workdir: Path, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
    java = shutil.which("java")
    assert java, "java not installed: `python3 deploy/local/stack.py install`"
    return [java, heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
            f"-Djava.security.auth.login.config={workdir / 'jaas.conf'}",
            f"-Dlog4j.configuration=file:{workdir / 'log4j.properties'}",
            "-cp", f"{KAFKA_LIBS}/*", main, *args]


@contextmanager
def secure_kafka(workdir: Path, *, start_timeout_s: float = 90.0) -> Iterator[SecureKafka]:
    """Format and start the broker in `workdir`; yield its addresses once its listeners accept; kill it after."""
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"no Kafka jars in {KAFKA_LIBS}: run `python3 deploy/local/stack.py install`")
    client, internal, controller = free_port(), free_port(), free_port()
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller}",
        "listeners": f"CLIENT://{HOST}:{client},BROKER://{HOST}:{internal},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"CLIENT://{HOST}:{client},BROKER://{HOST}:{internal}",
        **SECURITY_PROPERTIES,
        "log.dirs": str(workdir / "data"),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.cleaner.dedupe.buffer.size": "16777216",
        "num.network.threads": "1",
        "num.io.threads": "2",
    }
    (workdir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    (workdir / "jaas.conf").write_text(jaas(ADMIN_PASSWORD, BROKER_PASSWORD))
    log = workdir / "kafka.log"
    (workdir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, file\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={log}\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
    )
    fmt = subprocess.run(
        _java(workdir, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c",
              str(workdir / "server.properties")),
        capture_output=True, text=True, timeout=120,
    )
    if fmt.returncode != 0:
        raise RuntimeError(f"kafka-storage format failed:\n{fmt.stdout}{fmt.stderr}")
    with open(workdir / "stdout.log", "wb") as out:
        proc = subprocess.Popen(_java(workdir, "kafka.Kafka", str(workdir / "server.properties"), heap="-Xmx384m"),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not (port_open(client) and port_open(internal)):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
                raise RuntimeError(f"the SASL test broker did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.3)
        yield SecureKafka(f"{HOST}:{client}", f"{HOST}:{internal}", log)
    finally:
        proc.kill()  # only our own child, by its pid
        proc.wait(timeout=30)
