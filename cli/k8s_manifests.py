"""Kubernetes manifests of the system, generated into deploy/k8s/*.yaml from its single definitions.

Each manifest takes its facts from where the rest of the system takes them:

- `KafkaTopic` (Strimzi): `shared.topics` — name, partitions, cleanup policy (that table sets no retention,
  so the brokers' default holds, as on every other broker the project runs); replicas and min.insync.replicas
  from the settings;
- `KafkaUser`: `shared.kafka_acls` — one per principal (`principals()`), with exactly its ACLs (`plan()`);
- `Deployment`, `Service`, the migration `Job`: `shared.contracts` (the services) and the services' settings
  classes (every variable is a field of the service's settings, checked here);
- `ScaledObject` (KEDA): the (topic, consumer group) of every subscriber each service registers, read from the
  broker as `python -m services.<name>` builds it, without connecting (as tests/unit/test_kafka_acl_plan.py does);
- `Kafka`/`KafkaNodePool` (Strimzi, KRaft) and the CloudNativePG `Cluster`: deploy/k8s/settings.toml, which
  also holds what no code knows (image, sizes, scaling bounds).

The output depends on these and on nothing else (not the caller's environment), so the committed files can be
compared with it: `yibao k8s manifests --check` and tests/unit/deploy/test_k8s_manifests.py.

Secrets are never written: each is a reference to a Secret the operators make (Strimzi's User Operator one per
KafkaUser with key `password`; CloudNativePG `<cluster>-app` with key `uri`) or that the installer makes (Redis).
"""
from __future__ import annotations

import hashlib
import inspect
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared import kafka_acls
from shared.contracts import NAMES, SERVICES, ServiceContract
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
SETTINGS_FILE = K8S / "settings.toml"

# The names the services run with in the cluster are their settings' defaults, written into every Deployment
# explicitly: the KafkaTopics, the ACLs and the KEDA triggers are generated for these names, and an image whose
# defaults changed must not quietly consume other topics than those.
TOPIC_PREFIX: str = ServiceSettings.model_fields["topic_prefix"].default
GROUP_PREFIX: str = ServiceSettings.model_fields["group_prefix"].default
HTTP_PORT: int = ServiceSettings.model_fields["http_port"].default
KAFKA_PORT = 9092
CONTAINER = "service"  # the container's name in every service pod (KEDA reads YIBAO_KAFKA_USERNAME from it)
RUN_AS = 10001  # the Dockerfile's user has no fixed uid; a numeric one lets the kubelet check runAsNonRoot

STRIMZI = "kafka.strimzi.io/v1beta2"
CNPG = "postgresql.cnpg.io/v1"
KEDA = "keda.sh/v1alpha1"

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


# ---------------------------------------------------------------------------------------------- settings

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # a misspelt key in settings.toml is an error


class KafkaSettings(_Model):
    cluster: str = "yibao"
    version: str = "3.9.0"
    nodes: int = Field(3, ge=1)
    replication_factor: int = Field(3, ge=1)
    min_insync_replicas: int = Field(2, ge=1)
    storage_size: str = "100Gi"
    storage_class: str = ""

    @model_validator(mode="after")
    def _replicas_fit(self) -> KafkaSettings:
        if not self.min_insync_replicas <= self.replication_factor <= self.nodes:
            raise ValueError("need min_insync_replicas <= replication_factor <= nodes")
        return self

    @property
    def bootstrap(self) -> str:
        return f"{self.cluster}-kafka-bootstrap:{KAFKA_PORT}"  # the Service Strimzi makes for the cluster


class PostgresSettings(_Model):
    cluster: str = "yibao-pg"
    instances: int = Field(3, ge=1)
    sync_replicas: int = Field(1, ge=0)
    image: str = "ghcr.io/cloudnative-pg/postgresql:15"
    database: str = "yibao"
    owner: str = "yibao"
    storage_size: str = "50Gi"
    storage_class: str = ""
    reserved_connections: int = Field(20, ge=0)

    @model_validator(mode="after")
    def _sync_fits(self) -> PostgresSettings:
        if self.sync_replicas >= self.instances:
            raise ValueError("sync_replicas must leave the primary: at most instances - 1")
        return self

    @property
    def app_secret(self) -> str:
        return f"{self.cluster}-app"  # made by CloudNativePG at bootstrap: username, password, uri, ...


class RedisSettings(_Model):
    secret: str = "yibao-redis"
    key: str = "url"


class Resources(_Model):
    cpu_request: str = "1"
    memory_request: str = "512Mi"
    memory_limit: str = "1Gi"


class ScalingOverride(_Model):
    min_replicas: int | None = Field(None, ge=1)
    max_replicas: int | None = Field(None, ge=1)
    lag_threshold: int | None = Field(None, ge=1)


@dataclass(frozen=True)
class ServiceScaling:
    min_replicas: int
    max_replicas: int
    lag_threshold: int


class Scaling(_Model):
    min_replicas: int = Field(2, ge=1)  # never 0: the services also answer HTTP and run the outbox relay
    max_replicas: int = Field(6, ge=1)
    lag_threshold: int = Field(30000, ge=1)
    polling_interval_s: int = Field(15, ge=1)
    scale_down_window_s: int = Field(300, ge=0)
    services: dict[str, ScalingOverride] = Field(default_factory=dict)

    def of(self, service: str) -> ServiceScaling:
        o = self.services.get(service, ScalingOverride())
        return ServiceScaling(
            o.min_replicas if o.min_replicas is not None else self.min_replicas,
            o.max_replicas if o.max_replicas is not None else self.max_replicas,
            o.lag_threshold if o.lag_threshold is not None else self.lag_threshold,
        )


class DeploySettings(_Model):
    image: str = "yibao:0.1.0"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    log_level: str = "INFO"
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    redis: RedisSettings = RedisSettings()
    resources: Resources = Resources()
    scaling: Scaling = Scaling()
    env: dict[str, dict[str, str]] = Field(default_factory=dict)  # service -> YIBAO_* -> value

    @model_validator(mode="after")
    def _known_services(self) -> DeploySettings:
        for table, names in (("scaling.services", self.scaling.services), ("env", self.env)):
            unknown = sorted(set(names) - set(NAMES))
            if unknown:
                raise ValueError(f"[{table}] names unknown services {unknown}; known: {', '.join(NAMES)}")
        for name in NAMES:
            s = self.scaling.of(name)
            if s.min_replicas > s.max_replicas:
                raise ValueError(f"{name}: min_replicas {s.min_replicas} > max_replicas {s.max_replicas}")
        return self


def load_settings(path: Path = SETTINGS_FILE) -> DeploySettings:
    with path.open("rb") as f:
        return DeploySettings.model_validate(tomllib.load(f))


# ---------------------------------------------------------------------------------------------- names

def dns_name(name: str) -> str:
    """A Kubernetes object name for a service or principal: `payment_ingest` -> `payment-ingest`."""
    out = name.replace("_", "-").lower()
    if not _DNS_LABEL.match(out):
        raise ValueError(f"{name!r} gives no valid Kubernetes name ({out!r})")
    return out


def kafka_user(principal: str) -> str:
    """The KafkaUser of a principal of shared.kafka_acls, and so the SASL username in the cluster.

    Strimzi names the user after the object, and an object name cannot hold `_`: `payment_ingest` logs in
    as `payment-ingest` here (as `payment_ingest` on docker-compose's broker). Its ACLs are the principal's.
    """
    return dns_name(principal)


def topic_object_name(topic_name: str) -> str:
    out = topic_name.replace("_", "-").lower()
    if not _DNS_SUBDOMAIN.match(out):
        raise ValueError(f"topic {topic_name!r} gives no valid Kubernetes name ({out!r})")
    return out


# ---------------------------------------------------------------------------------------------- the code's facts

@dataclass(frozen=True, order=True)
class Subscription:
    topic: str
    group: str


def subscriptions(service: str) -> tuple[Subscription, ...]:
    """Every (topic, consumer group) the service's subscribers read, from its broker as the service builds it."""
    from services.registry import spec as service_spec
    from shared.runtime import Runtime
    from shared.service import build_broker

    spec = service_spec(service)
    # Only what decides names and whether the broker can be built is fixed here; nothing is connected.
    settings = spec.settings(topic_prefix=TOPIC_PREFIX, group_prefix=GROUP_PREFIX,
                             kafka_security_protocol="PLAINTEXT")
    broker = build_broker(spec, Runtime(spec.name, spec.schema, settings))
    found = [Subscription(topic, sub.group_id)  # type: ignore[attr-defined]  # typed as the base subscriber; Kafka's has both
             for sub in broker.subscribers for topic in sub.topic_names]  # type: ignore[attr-defined]
    return tuple(sorted(found))


def pool_max_size() -> int:
    """Connections one service process may hold: `shared.db.create_pool`'s max_size, read so the two cannot differ."""
    from shared.db import create_pool

    size: int = inspect.signature(create_pool).parameters["max_size"].default
    return size


def settings_fields(service: str) -> dict[str, Any]:
    """The service's settings class fields by variable name (YIBAO_<FIELD>)."""
    from services.registry import spec as service_spec

    fields = service_spec(service).settings.model_fields
    return {"YIBAO_" + name.upper(): field for name, field in fields.items()}


# ---------------------------------------------------------------------------------------------- Kafka

def kafka_cluster(s: DeploySettings) -> list[dict[str, Any]]:
    k = s.kafka
    storage: dict[str, Any] = {"type": "persistent-claim", "size": k.storage_size, "deleteClaim": False}
    if k.storage_class:
        storage["class"] = k.storage_class
    pool = {
        "apiVersion": STRIMZI, "kind": "KafkaNodePool",
        "metadata": {"name": "dual-role", "labels": {"strimzi.io/cluster": k.cluster}},
        # Every node both controller and broker: three machines give a KRaft quorum that survives one loss and
        # room for three replicas of each partition.
        "spec": {"replicas": k.nodes, "roles": ["controller", "broker"], "storage": storage},
    }
    cluster = {
        "apiVersion": STRIMZI, "kind": "Kafka",
        "metadata": {"name": k.cluster,
                     "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}},
        "spec": {
            "kafka": {
                "version": k.version,
                # SCRAM-SHA-512 without TLS is what the services speak (YIBAO_KAFKA_SECURITY_PROTOCOL has
                # PLAINTEXT and SASL_PLAINTEXT only); the listener is internal to the cluster network.
                "listeners": [{"name": "scram", "port": KAFKA_PORT, "type": "internal", "tls": False,
                               "authentication": {"type": "scram-sha-512"}}],
                "authorization": {"type": "simple"},  # the ACLs of the KafkaUsers; nothing else allowed
                "config": {
                    "default.replication.factor": k.replication_factor,
                    "min.insync.replicas": k.min_insync_replicas,
                    "offsets.topic.replication.factor": k.replication_factor,
                    "transaction.state.log.replication.factor": k.replication_factor,
                    "transaction.state.log.min.isr": k.min_insync_replicas,
                    # Topics come from shared/topics.py only (partitions, compaction): never made by a client.
                    "auto.create.topics.enable": False,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    return [pool, cluster]


def kafka_topics(s: DeploySettings) -> list[dict[str, Any]]:
    return [{
        "apiVersion": STRIMZI, "kind": "KafkaTopic",
        "metadata": {"name": topic_object_name(TOPIC_PREFIX + t.name), "labels": {"strimzi.io/cluster": s.kafka.cluster}},
        "spec": {
            "topicName": TOPIC_PREFIX + t.name,
            "partitions": t.partitions,
            "replicas": s.kafka.replication_factor,
            "config": {**t.config(), "min.insync.replicas": s.kafka.min_insync_replicas},
        },
    } for t in ALL_TOPICS]


def _acl_rule(acl: kafka_acls.Acl) -> dict[str, Any]:
    return {
        "resource": {"type": acl.resource, "name": acl.name,
                     "patternType": "prefix" if acl.pattern == "prefixed" else "literal"},
        "operations": [acl.operation.capitalize()],
        "host": "*",
    }


def kafka_users(s: DeploySettings) -> list[dict[str, Any]]:
    plan = kafka_acls.plan(topic_prefix=TOPIC_PREFIX, group_prefix=GROUP_PREFIX)
    return [{
        "apiVersion": STRIMZI, "kind": "KafkaUser",
        "metadata": {"name": kafka_user(principal), "labels": {"strimzi.io/cluster": s.kafka.cluster}},
        "spec": {
            # The User Operator makes the password and keeps it in a Secret of the user's name (key `password`).
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": [_acl_rule(a) for a in plan if a.principal == principal]},
        },
    } for principal in kafka_acls.principals()]


# ---------------------------------------------------------------------------------------------- PostgreSQL

def max_connections(s: DeploySettings) -> int:
    """Every replica of every service at its scaling maximum with a full pool, plus the reserve."""
    return sum(s.scaling.of(name).max_replicas for name in NAMES) * pool_max_size() + s.postgres.reserved_connections


def postgres_cluster(s: DeploySettings) -> list[dict[str, Any]]:
    p = s.postgres
    storage: dict[str, Any] = {"size": p.storage_size}
    if p.storage_class:
        storage["storageClass"] = p.storage_class
    spec: dict[str, Any] = {
        "instances": p.instances,
        "imageName": p.image,
        "primaryUpdateStrategy": "unsupervised",
        # A service commits its Kafka offsets right after its database commit: a failover to a replica that
        # lacked the commit would lose those records for good. A commit therefore waits for sync_replicas.
        "minSyncReplicas": p.sync_replicas,
        "maxSyncReplicas": p.sync_replicas,
        "enableSuperuserAccess": False,
        "postgresql": {"parameters": {
            "max_connections": str(max_connections(s)),
            # Analyze the batch-written tables soon after big loads, as docker-compose and the local stack do.
            "autovacuum_naptime": "5s",
        }},
        # No secret given: CloudNativePG makes <cluster>-app (the owner's password and a `uri` to <cluster>-rw).
        "bootstrap": {"initdb": {"database": p.database, "owner": p.owner}},
        "storage": storage,
    }
    return [{"apiVersion": CNPG, "kind": "Cluster", "metadata": {"name": p.cluster}, "spec": spec}]


# ---------------------------------------------------------------------------------------------- services

def _labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "yibao",
            "app.kubernetes.io/component": component}


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret_env(s: DeploySettings, service: str) -> dict[str, tuple[str, str]]:
    """The variables that carry a secret: name -> (Secret, key)."""
    return {
        "YIBAO_KAFKA_PASSWORD": (kafka_user(service), "password"),
        "YIBAO_PG_DSN": (s.postgres.app_secret, "uri"),
        "YIBAO_REDIS_URL": (s.redis.secret, s.redis.key),
    }


def plain_env(s: DeploySettings, service: str) -> dict[str, str]:
    """The other variables of a service's container, each checked against the service's settings fields."""
    env = {
        "YIBAO_KAFKA_BOOTSTRAP": s.kafka.bootstrap,
        "YIBAO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "YIBAO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "YIBAO_KAFKA_USERNAME": kafka_user(service),
        "YIBAO_TOPIC_PREFIX": TOPIC_PREFIX,
        "YIBAO_GROUP_PREFIX": GROUP_PREFIX,
        "YIBAO_HTTP_HOST": "0.0.0.0",  # reachable from the kubelet's probes and the Service, not loopback only
        "YIBAO_HTTP_PORT": str(HTTP_PORT),
        "YIBAO_LOG_LEVEL": s.log_level,
    }
    fields = settings_fields(service)
    for name, value in s.env.get(service, {}).items():
        if name not in fields:
            raise ValueError(f"[env.{service}] {name}: not a setting of {service} (known: {', '.join(sorted(fields))})")
        if name in env or name in secret_env(s, service) or fields[name].annotation is SecretStr:
            raise ValueError(f"[env.{service}] {name} is set by the generator or is a secret: not settable here")
        env[name] = value
    return env


def _env(s: DeploySettings, service: str) -> list[dict[str, Any]]:
    plain = [{"name": k, "value": v} for k, v in plain_env(s, service).items()]
    secrets = [_secret_env(k, *ref) for k, ref in secret_env(s, service).items()]
    unknown = {e["name"] for e in plain + secrets} - set(settings_fields(service))
    if unknown:
        raise ValueError(f"{service}: {sorted(unknown)} are no settings of the service")
    return plain + secrets


def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}}


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _resources(s: DeploySettings) -> dict[str, Any]:
    r = s.resources
    return {"requests": {"cpu": r.cpu_request, "memory": r.memory_request}, "limits": {"memory": r.memory_limit}}


def _probe(period_s: int, failures: int) -> dict[str, Any]:
    # /health answers 200 when PostgreSQL, Kafka and Redis answer, 503 otherwise (shared/http.py).
    return {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": period_s, "timeoutSeconds": 5,
            "failureThreshold": failures}


def deployment(s: DeploySettings, c: ServiceContract) -> dict[str, Any]:
    name = dns_name(c.name)
    labels = _labels(name, "service")
    container = {
        "name": CONTAINER,
        "image": s.image,
        "imagePullPolicy": s.image_pull_policy,
        "command": ["python", "-m", c.module],
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "env": _env(s, c.name),
        "resources": _resources(s),
        # Start-up opens the pool, Redis and the Kafka clients before the port answers: up to 5 minutes.
        "startupProbe": _probe(5, 60),
        "readinessProbe": _probe(10, 3),
        # /health also fails while a dependency is down, which a restart does not cure: only a process that
        # stays unhealthy for 3 minutes is restarted.
        "livenessProbe": _probe(20, 9),
        "securityContext": _container_security(),
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        # No `replicas`: the ScaledObject's HPA owns it, and an apply must not reset what it chose.
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "yibao"}},
            # Never below the running count during a rollout: a consumer leaving costs a group rebalance anyway.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels,
                    # Prometheus scrapes by annotation (no Prometheus Operator CRDs needed). /metrics/ with the
                    # slash: the exporter is mounted there and /metrics answers with a redirect.
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(HTTP_PORT),
                                    "prometheus.io/path": "/metrics/"},
                },
                "spec": {
                    "automountServiceAccountToken": False,  # the services never call the Kubernetes API
                    # Room for the batch in hand to commit (offsets after the database) before SIGKILL.
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": _pod_security(),
                    "containers": [container],
                },
            },
        },
    }


def service_object(c: ServiceContract) -> dict[str, Any]:
    name = dns_name(c.name)
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": _labels(name, "service")},
        "spec": {"selector": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "yibao"},
                 "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}]},
    }


def migrate_job(s: DeploySettings) -> list[dict[str, Any]]:
    # A Job's pod template cannot change once created: the name follows the image, so a new release is a new
    # Job (the migrations it carries are applied once; applying them again changes nothing).
    digest = hashlib.sha256(s.image.encode()).hexdigest()[:8]
    labels = _labels("yibao-migrate", "migrate")
    return [{
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"yibao-migrate-{digest}", "labels": labels},
        "spec": {
            "backoffLimit": 10,  # retried while the database cluster is still being created
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": _pod_security(),
                    "containers": [{
                        "name": "migrate", "image": s.image, "imagePullPolicy": s.image_pull_policy,
                        "command": ["yibao", "migrate"],
                        "env": [_secret_env("YIBAO_PG_DSN", s.postgres.app_secret, "uri"),
                                {"name": "YIBAO_LOG_LEVEL", "value": s.log_level}],
                        "resources": _resources(s),
                        "securityContext": _container_security(),
                    }],
                },
            },
        },
    }]


def services(s: DeploySettings) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for c in SERVICES:
        docs += [deployment(s, c), service_object(c)]
    return docs


# ---------------------------------------------------------------------------------------------- KEDA

def autoscaling(s: DeploySettings) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for c in SERVICES:
        subs = subscriptions(c.name)
        if not subs:
            continue  # a service that consumes nothing has no lag to scale on
        name = dns_name(c.name)
        scaling = s.scaling.of(c.name)
        auth = f"{name}-kafka"
        docs.append({
            "apiVersion": KEDA, "kind": "TriggerAuthentication",
            "metadata": {"name": auth, "labels": _labels(name, "autoscaling")},
            # KEDA reads the lag as the service itself: its password from the User Operator's Secret, its
            # username from the Deployment's own variable, so the two cannot disagree.
            "spec": {
                "secretTargetRef": [{"parameter": "password", "name": kafka_user(c.name), "key": "password"}],
                "env": [{"parameter": "username", "name": "YIBAO_KAFKA_USERNAME", "containerName": CONTAINER}],
            },
        })
        docs.append({
            "apiVersion": KEDA, "kind": "ScaledObject",
            "metadata": {"name": name, "labels": _labels(name, "autoscaling")},
            "spec": {
                "scaleTargetRef": {"name": name},
                "minReplicaCount": scaling.min_replicas,
                "maxReplicaCount": scaling.max_replicas,
                "pollingInterval": s.scaling.polling_interval_s,
                "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                    "scaleDown": {"stabilizationWindowSeconds": s.scaling.scale_down_window_s}}}},
                "triggers": [{
                    "type": "kafka",
                    # KEDA's trigger metadata is a map of strings.
                    "metadata": {
                        "bootstrapServers": s.kafka.bootstrap,
                        "consumerGroup": sub.group,
                        "topic": sub.topic,
                        "lagThreshold": str(scaling.lag_threshold),
                        # The subscribers start a new group at the earliest offset: count its lag from there.
                        "offsetResetPolicy": "earliest",
                        "sasl": "scram_sha512",
                        "tls": "disable",
                    },
                    "authenticationRef": {"name": auth},
                } for sub in subs],
            },
        })
    return docs


# ---------------------------------------------------------------------------------------------- files

SOURCES: dict[str, tuple[str, Any]] = {  # file -> (what it is generated from, builder)
    "kafka.yaml": ("deploy/k8s/settings.toml [kafka]", kafka_cluster),
    "kafka-topics.yaml": ("shared/topics.py", kafka_topics),
    "kafka-users.yaml": ("shared/kafka_acls.py", kafka_users),
    "postgres.yaml": ("deploy/k8s/settings.toml [postgres], [scaling] (max_connections)", postgres_cluster),
    "migrate.yaml": ("deploy/k8s/settings.toml (image)", migrate_job),
    "services.yaml": ("shared/contracts.py, the services' settings classes", services),
    "autoscaling.yaml": ("the services' Kafka subscribers (topic, consumer group), [scaling]", autoscaling),
}


def documents(s: DeploySettings) -> dict[str, list[dict[str, Any]]]:
    return {file: builder(s) for file, (_, builder) in SOURCES.items()}


GENERATED = "# GENERATED by `yibao k8s manifests`"


class _Dumper(yaml.SafeDumper):
    """Writes an object shared by two places (labels, say) out twice: anchors and aliases confuse readers and diffs."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(s: DeploySettings) -> dict[str, str]:
    """Each file's text: a header naming its sources, then its objects as YAML documents."""
    out = {}
    for file, docs in documents(s).items():
        header = (f"{GENERATED} from {SOURCES[file][0]}.\n"
                  "# Do not edit: change the source (or deploy/k8s/settings.toml) and run the command again.\n")
        out[file] = header + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return out


def stale(s: DeploySettings, folder: Path = K8S) -> list[str]:
    """The files in `folder` that differ from what the definitions generate now: changed, missing, or left over
    (a *.yaml the generator no longer writes would still be applied by `kubectl apply -f deploy/k8s/`)."""
    texts = render(s)
    changed = [f for f, text in texts.items() if not (folder / f).exists() or (folder / f).read_text() != text]
    return changed + sorted(p.name for p in folder.glob("*.yaml") if p.name not in texts)


def committed(folder: Path = K8S) -> dict[str, list[dict[str, Any]]]:
    """The objects of each manifest file in `folder` (every *.yaml there, generated or not), as written."""
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d is not None] for p in sorted(folder.glob("*.yaml"))}


def write(s: DeploySettings, folder: Path = K8S) -> list[Path]:
    """Write every file; remove the generated files the generator no longer writes (never a hand-written one)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = render(s)
    for old in folder.glob("*.yaml"):
        if old.name not in texts and old.read_text().startswith(GENERATED):
            old.unlink()
    paths = []
    for file, text in texts.items():
        (folder / file).write_text(text)
        paths.append(folder / file)
    return paths


__all__ = [
    "K8S", "SETTINGS_FILE", "SOURCES", "DeploySettings", "Subscription", "committed", "documents", "dns_name", "kafka_user",
    "load_settings", "max_connections", "plain_env", "pool_max_size", "render", "secret_env",
    "settings_fields", "stale", "subscriptions", "write",
]
