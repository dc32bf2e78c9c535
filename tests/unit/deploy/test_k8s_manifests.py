"""The committed Kubernetes manifests (deploy/k8s/*.yaml) are what the generator makes now, and agree with the code.

The first tests hold the files to the generator (`yibao k8s manifests`), so they cannot drift from
shared/topics.py, shared/kafka_acls.py, shared/contracts.py or deploy/k8s/settings.toml. The others read
the committed files, not the generator's output, and compare them with the repository's definitions
taken independently: every topic has its KafkaTopic, every ACL principal its KafkaUser with the same
ACLs, every (topic, consumer group) a service's broker really subscribes a KEDA trigger, every variable
a setting of the service, and no secret is written anywhere. Schemas: test_k8s_schemas.py.
"""
from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cli import k8s_manifests as gen
from cli.main import app
from shared import kafka_acls
from shared.contracts import SERVICES, contract
from shared.runtime import Runtime
from shared.service import build_broker
from shared.topics import ALL_TOPICS

SETTINGS = gen.load_settings()
FILES = gen.committed()
DOCS = [d for docs in FILES.values() for d in docs]


def objects(kind: str) -> dict[str, dict[str, Any]]:
    found = [d for d in DOCS if d["kind"] == kind]
    by_name = {d["metadata"]["name"]: d for d in found}
    assert len(by_name) == len(found), f"two {kind} objects share a name"
    return by_name


def container(service: str) -> dict[str, Any]:
    [c] = objects("Deployment")[gen.dns_name(service)]["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c["env"]}


# ---------------------------------------------------------------------------------------------- no drift

def test_committed_files_are_what_the_generator_makes_now():
    rendered = gen.render(SETTINGS)
    assert sorted(FILES) == sorted(rendered), "deploy/k8s/*.yaml are not the generator's files: run `yibao k8s manifests`"
    for file, text in rendered.items():
        assert (gen.K8S / file).read_text() == text, f"deploy/k8s/{file} is out of date: run `yibao k8s manifests`"


def test_the_check_command_passes_now_and_fails_on_a_changed_file(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["k8s", "manifests", "--check"])
    assert ok.exit_code == 0, ok.output
    copy = tmp_path / "k8s"
    shutil.copytree(gen.K8S, copy)
    users = copy / "kafka-users.yaml"
    users.write_text(users.read_text().replace("- Write", "- All", 1))  # a widened ACL, edited by hand
    (copy / "left-over.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    bad = runner.invoke(app, ["k8s", "manifests", "--check", "--out", str(copy)])
    assert bad.exit_code == 1
    assert "kafka-users.yaml" in bad.output and "left-over.yaml" in bad.output


def test_write_replaces_generated_files_and_keeps_hand_written_ones(tmp_path):
    (tmp_path / "old.yaml").write_text(gen.GENERATED + " from nowhere.\n")
    (tmp_path / "mine.yaml").write_text("# written by hand\n")
    gen.write(SETTINGS, tmp_path)
    assert not (tmp_path / "old.yaml").exists() and (tmp_path / "mine.yaml").exists()
    assert gen.stale(SETTINGS, tmp_path) == ["mine.yaml"]


def test_the_output_does_not_depend_on_the_environment(monkeypatch):
    for name in ("YIBAO_TOPIC_PREFIX", "YIBAO_GROUP_PREFIX", "YIBAO_KAFKA_SECURITY_PROTOCOL"):
        monkeypatch.setenv(name, {"YIBAO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}.get(name, "t9."))
    assert gen.stale(SETTINGS) == []


# ---------------------------------------------------------------------------------------------- Kafka

def test_kafka_is_three_kraft_nodes_each_controller_and_broker_rf3_min_isr2():
    [cluster] = objects("Kafka").values()
    [pool] = objects("KafkaNodePool").values()
    assert cluster["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster["metadata"]["name"]
    assert pool["spec"]["replicas"] == 3 and sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    assert "zookeeper" not in cluster["spec"]
    config = cluster["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3 and config["transaction.state.log.min.isr"] == 2
    assert config["auto.create.topics.enable"] is False
    assert cluster["spec"]["kafka"]["authorization"] == {"type": "simple"}
    assert cluster["spec"]["entityOperator"] == {"topicOperator": {}, "userOperator": {}}


def test_the_services_speak_what_the_listener_expects():
    [cluster] = objects("Kafka").values()
    [listener] = cluster["spec"]["kafka"]["listeners"]
    assert listener["authentication"] == {"type": "scram-sha-512"} and listener["tls"] is False
    bootstrap = f"{cluster['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    for c in SERVICES:
        env = env_of(container(c.name))
        assert env["YIBAO_KAFKA_BOOTSTRAP"]["value"] == bootstrap
        assert env["YIBAO_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_PLAINTEXT"
        assert env["YIBAO_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"


def test_every_topic_has_its_kafka_topic_as_shared_topics_defines_it():
    topics = {d["spec"]["topicName"]: d for d in objects("KafkaTopic").values()}
    assert set(topics) == {t.name for t in ALL_TOPICS}
    [cluster] = objects("Kafka")
    for t in ALL_TOPICS:
        spec = topics[t.name]["spec"]
        assert topics[t.name]["metadata"]["labels"] == {"strimzi.io/cluster": cluster}
        assert spec["partitions"] == t.partitions
        assert spec["replicas"] == 3
        assert spec["config"]["cleanup.policy"] == t.cleanup
        assert spec["config"]["min.insync.replicas"] == 2
        assert {k: str(v) for k, v in spec["config"].items() if k != "min.insync.replicas"} == t.config()


def acls_of(user: dict[str, Any], principal: str) -> set[kafka_acls.Acl]:
    out = set()
    for rule in user["spec"]["authorization"]["acls"]:
        assert rule.get("type", "allow") == "allow" and rule["host"] == "*"
        for op in rule["operations"]:
            r = rule["resource"]
            out.add(kafka_acls.Acl(principal, r["type"], r["name"],
                                   "prefixed" if r["patternType"] == "prefix" else "literal", op.lower()))
    return out


def test_every_principal_has_a_kafka_user_with_exactly_its_acls():
    users = objects("KafkaUser")
    principals = kafka_acls.principals()
    assert len({gen.kafka_user(p) for p in principals}) == len(principals), "two principals map to one KafkaUser"
    assert set(users) == {gen.kafka_user(p) for p in principals}
    plan = kafka_acls.plan()
    for principal in principals:
        user = users[gen.kafka_user(principal)]
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        assert acls_of(user, principal) == {a for a in plan if a.principal == principal}, principal


def test_acl_comparison_sees_a_widened_rule():
    """Guards the check above: one extra operation on one rule is a difference."""
    user = objects("KafkaUser")[gen.kafka_user("tax_gateway")]
    widened = {"spec": {"authorization": {"acls": [
        {**rule, "operations": [*rule["operations"], "Read"]} for rule in user["spec"]["authorization"]["acls"]]}}}
    assert acls_of(widened, "tax_gateway") != {a for a in kafka_acls.plan() if a.principal == "tax_gateway"}


# ---------------------------------------------------------------------------------------------- KEDA

def registered(service: str) -> set[tuple[str, str]]:
    """(topic, group) of every subscriber, as `python -m services.<name>` builds its broker (not connected)."""
    spec = importlib.import_module(f"services.{service}.app").SPEC
    settings = spec.settings(topic_prefix="", group_prefix="yibao", kafka_security_protocol="PLAINTEXT")
    broker = build_broker(spec, Runtime(spec.name, spec.schema, settings))
    return {(topic, sub.group_id) for sub in broker.subscribers for topic in sub.topic_names}


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_every_consumer_group_is_a_lag_trigger_of_its_service(service):
    scaled = objects("ScaledObject")[gen.dns_name(service)]["spec"]
    triggers = scaled["triggers"]
    assert {t["type"] for t in triggers} == {"kafka"}
    found = {(t["metadata"]["topic"], t["metadata"]["consumerGroup"]) for t in triggers}
    assert len(found) == len(triggers)
    assert found == registered(service)
    assert {topic for topic, _ in found} == {t.name for t in contract(service).consumes}
    assert all(group.startswith(f"yibao.{service}.") for _, group in found)  # under its PREFIXED group ACL
    assert scaled["scaleTargetRef"]["name"] in objects("Deployment")


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_scaling_bounds_and_lag_threshold_are_the_settings(service):
    scaled = objects("ScaledObject")[gen.dns_name(service)]["spec"]
    want = SETTINGS.scaling.of(service)
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (want.min_replicas, want.max_replicas)
    assert 1 <= want.min_replicas <= want.max_replicas
    # More consumers than the busiest topic's partitions would idle (and KEDA would not ask for them).
    assert want.max_replicas <= max(t.partitions for t in contract(service).consumes)
    for trigger in scaled["triggers"]:
        metadata = trigger["metadata"]
        assert metadata["lagThreshold"] == str(want.lag_threshold)
        assert metadata["offsetResetPolicy"] == "earliest"  # as the subscribers start a new group
        assert (metadata["sasl"], metadata["tls"]) == ("scram_sha512", "disable")
        assert metadata["bootstrapServers"] == env_of(container(service))["YIBAO_KAFKA_BOOTSTRAP"]["value"]


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_keda_reads_the_lag_as_the_service_itself(service):
    scaled = objects("ScaledObject")[gen.dns_name(service)]["spec"]
    [auth_name] = {t["authenticationRef"]["name"] for t in scaled["triggers"]}
    auth = objects("TriggerAuthentication")[auth_name]["spec"]
    c = container(service)
    env = env_of(c)
    [password] = auth["secretTargetRef"]
    assert password["parameter"] == "password"
    assert {"name": password["name"], "key": password["key"]} == env["YIBAO_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
    [username] = auth["env"]
    assert username == {"parameter": "username", "name": "YIBAO_KAFKA_USERNAME", "containerName": c["name"]}
    assert env["YIBAO_KAFKA_USERNAME"]["value"] == password["name"] == gen.kafka_user(service)


# ---------------------------------------------------------------------------------------------- services

def test_one_deployment_and_one_service_per_service_and_nothing_else():
    names = {gen.dns_name(c.name) for c in SERVICES}
    assert set(objects("Deployment")) == names and set(objects("Service")) == names
    assert set(objects("ScaledObject")) == {gen.dns_name(c.name) for c in SERVICES if c.consumes}


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_deployment_runs_the_service_with_its_own_settings(service):
    c = container(service)
    assert c["command"] == ["python", "-m", contract(service).module]
    assert c["image"] == SETTINGS.image
    fields = gen.settings_fields(service)
    env = env_of(c)
    assert len(env) == len(c["env"]), "a variable set twice"
    assert set(env) <= set(fields), f"not settings of {service}: {sorted(set(env) - set(fields))}"
    assert env["YIBAO_HTTP_HOST"]["value"] == "0.0.0.0"
    assert env["YIBAO_TOPIC_PREFIX"]["value"] == "" and env["YIBAO_GROUP_PREFIX"]["value"] == "yibao"
    assert env["YIBAO_KAFKA_USERNAME"]["value"] in objects("KafkaUser")


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_probes_and_metrics_are_on_the_services_http_port(service):
    deployment = objects("Deployment")[gen.dns_name(service)]
    c = container(service)
    port = int(env_of(c)["YIBAO_HTTP_PORT"]["value"])
    assert c["ports"] == [{"name": "http", "containerPort": port}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics/"}
    assert "replicas" not in deployment["spec"]  # the ScaledObject's HPA owns it
    service_obj = objects("Service")[gen.dns_name(service)]["spec"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service_obj["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service_obj["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]


async def test_the_paths_probed_and_scraped_answer_in_the_service_app():
    """/health and /metrics/ as a service's app serves them (not started: /health then says 503, degraded)."""
    import httpx

    from shared.http import build_http_app

    spec = importlib.import_module("services.subsidy.app").SPEC
    runtime = Runtime(spec.name, spec.schema, spec.settings(kafka_security_protocol="PLAINTEXT"))
    app = build_http_app(runtime, build_broker(spec, runtime), title="t")
    # ASGITransport runs no lifespan: nothing connects.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        health = await client.get("/health")
        assert health.status_code == 503 and health.json()["service"] == "subsidy"
        metrics = await client.get("/metrics/")
        assert metrics.status_code == 200 and "# HELP" in metrics.text
        assert (await client.get("/metrics")).status_code in (301, 307)  # why the scrape path ends in /


# ---------------------------------------------------------------------------------------------- PostgreSQL

def test_postgres_is_a_primary_and_two_synchronous_capable_replicas():
    [pg] = objects("Cluster").values()
    spec = pg["spec"]
    assert spec["instances"] == 3
    assert spec["minSyncReplicas"] == spec["maxSyncReplicas"] == 1
    assert spec["storage"]["size"]
    assert spec["bootstrap"]["initdb"] == {"database": "yibao", "owner": "yibao"}
    assert all(isinstance(v, str) for v in spec["postgresql"]["parameters"].values())
    # Every replica at the scaling maxima with a full pool still finds a connection.
    pools = sum(SETTINGS.scaling.of(c.name).max_replicas for c in SERVICES) * gen.pool_max_size()
    assert int(spec["postgresql"]["parameters"]["max_connections"]) >= pools


def test_every_database_user_reads_the_dsn_cloudnative_pg_makes():
    [name] = objects("Cluster")
    refs = [env_of(container(c.name))["YIBAO_PG_DSN"] for c in SERVICES]
    [job] = objects("Job").values()
    refs.append(env_of(job["spec"]["template"]["spec"]["containers"][0])["YIBAO_PG_DSN"])
    assert {(r["valueFrom"]["secretKeyRef"]["name"], r["valueFrom"]["secretKeyRef"]["key"]) for r in refs} == {
        (f"{name}-app", "uri")}
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["yibao", "migrate"]


# ---------------------------------------------------------------------------------------------- secrets

SECRET_WORDS = ("PASSWORD", "DSN", "REDIS_URL", "SECRET", "TOKEN")


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, node


def literal_values(doc: dict[str, Any]) -> list[str]:
    """Paths in `doc` where a secret's value would be written out."""
    return [path for path, value in walk(doc)
            if path.rsplit(".", 1)[-1].lower() in {"password", "passwd", "stringdata", "data"} or "dev-only" in str(value)]


def literal_secret_env(c: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    """Variables of a container that carry a secret (a SecretStr setting, or by name) without a Secret reference."""
    return [e["name"] for e in c["env"]
            if (fields[e["name"]].annotation is SecretStr or any(w in e["name"] for w in SECRET_WORDS))
            and not (set(e) == {"name", "valueFrom"} and set(e["valueFrom"]) == {"secretKeyRef"})]


def test_no_secret_is_written_literally():
    assert not objects("Secret"), "a Secret in the manifests would put its value in git"
    for doc in DOCS:
        assert literal_values(doc) == [], f"{doc['kind']} {doc['metadata']['name']}"
    for user in objects("KafkaUser").values():
        assert set(user["spec"]["authentication"]) == {"type"}  # the User Operator makes the password


@pytest.mark.parametrize("service", [c.name for c in SERVICES])
def test_every_secret_setting_comes_from_a_secret_reference(service):
    c = container(service)
    assert literal_secret_env(c, gen.settings_fields(service)) == []
    assert {"YIBAO_KAFKA_PASSWORD", "YIBAO_PG_DSN", "YIBAO_REDIS_URL"} <= {e["name"] for e in c["env"] if "valueFrom" in e}


def test_the_secret_checks_see_literal_values():
    """Guards the two checks above on doctored copies."""
    c = container("subsidy")
    doctored = {**c, "env": [*c["env"], {"name": "YIBAO_KAFKA_PASSWORD", "value": "s3cret"},
                             {"name": "YIBAO_PG_DSN", "value": "postgresql://yibao:s3cret@pg/yibao"}]}
    assert literal_secret_env(doctored, gen.settings_fields("subsidy")) == ["YIBAO_KAFKA_PASSWORD", "YIBAO_PG_DSN"]
    user = objects("KafkaUser")["subsidy"]
    with_password = {**user, "spec": {**user["spec"], "authentication": {"type": "scram-sha-512", "password": "x"}}}
    assert literal_values(with_password) == [".spec.authentication.password"]
    assert literal_values({"kind": "Secret", "stringData": {"url": "redis://:dev-only-x@redis"}}) != []


# ---------------------------------------------------------------------------------------------- settings

def settings_with(**changes: Any) -> gen.DeploySettings:
    return gen.DeploySettings.model_validate({**SETTINGS.model_dump(), **changes})


def test_extra_variables_must_be_settings_of_the_service_and_not_secrets():
    ok = settings_with(env={"reconciliation": {"YIBAO_SCHEDULE_AT": "22:00"}})
    assert gen.plain_env(ok, "reconciliation")["YIBAO_SCHEDULE_AT"] == "22:00"
    with pytest.raises(ValueError, match="not a setting of subsidy"):
        gen.plain_env(settings_with(env={"subsidy": {"YIBAO_SCHEDULE_AT": "22:00"}}), "subsidy")
    with pytest.raises(ValueError, match="secret"):
        gen.plain_env(settings_with(env={"subsidy": {"YIBAO_KAFKA_PASSWORD": "x"}}), "subsidy")
    with pytest.raises(ValueError, match="secret"):
        gen.plain_env(settings_with(env={"subsidy": {"YIBAO_PG_DSN": "postgresql://u:p@h/db"}}), "subsidy")


def test_settings_refuse_what_cannot_work():
    with pytest.raises(ValueError, match="unknown services"):
        settings_with(env={"billing": {}})
    with pytest.raises(ValueError, match="min_replicas"):
        settings_with(scaling={**SETTINGS.scaling.model_dump(), "services": {"subsidy": {"min_replicas": 7,
                                                                                         "max_replicas": 3}}})
    with pytest.raises(ValueError, match="min_insync_replicas"):
        settings_with(kafka={**SETTINGS.kafka.model_dump(), "min_insync_replicas": 4})
    with pytest.raises(ValueError):
        settings_with(imagee="typo")  # a misspelt key is an error, not a silent default
