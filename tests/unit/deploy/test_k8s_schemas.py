"""Every object in deploy/k8s/*.yaml is well-formed for the API that will receive it, checked offline.

Built-in kinds (Deployment, Service, Job) are validated with `kubernetes-validate` (a dev dependency
that bundles the Kubernetes OpenAPI schemas as JSON schemas), in strict mode (an unknown field is an
error), against the newest Kubernetes it knows and an older one still common in production.

The custom resources (Strimzi, CloudNativePG, KEDA) have no schema package on the registries this
project uses, so their CRDs are not vendored: the schemas below are written here from the operators'
API references, for the fields these manifests use — what each CRD requires, the enumerations and
types it declares (a KEDA trigger's metadata and PostgreSQL parameters are maps of strings, say), and
no field besides those (a field added to the generator must be added here, checked against the CRD).
Which operator versions: Strimzi >= 0.42 (KafkaNodePool with KRaft, v1beta2), CloudNativePG >= 1.22
(postgresql.cnpg.io/v1), KEDA >= 2.15 (`sasl`/`tls` in a kafka trigger's metadata).
"""
from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from cli import k8s_manifests as gen

DOCS = [(file, d) for file, docs in gen.committed().items() for d in docs]
BUILTIN = {"Deployment", "Service", "Job"}
KUBERNETES = [kubernetes_validate.latest_version(), "1.29.0"]


def ident(item: tuple[str, dict[str, Any]]) -> str:
    return f"{item[0]}:{item[1]['kind']}/{item[1]['metadata']['name']}"


def of_kinds(kinds: set[str]) -> list[tuple[str, dict[str, Any]]]:
    return [item for item in DOCS if item[1]["kind"] in kinds]


# ---------------------------------------------------------------------------------------------- built-in kinds

@pytest.mark.parametrize("version", KUBERNETES)
@pytest.mark.parametrize("item", of_kinds(BUILTIN), ids=ident)
def test_builtin_kinds_validate_against_the_kubernetes_schemas(item, version):
    kubernetes_validate.validate(item[1], version, strict=True)


def test_kubernetes_validation_rejects_a_broken_deployment():
    """Guards the guard: the bundled schemas really check (a misspelt field, a port as text)."""
    [(_, deployment)] = [i for i in of_kinds({"Deployment"}) if i[1]["metadata"]["name"] == "subsidy"]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES[0], strict=True)
    port_as_text = copy.deepcopy(deployment)
    port_as_text["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(port_as_text, KUBERNETES[0], strict=True)


@pytest.mark.parametrize("item", of_kinds({"ScaledObject"}), ids=ident)
def test_keda_hpa_behavior_is_a_valid_kubernetes_hpa_behavior(item):
    """KEDA passes `advanced.horizontalPodAutoscalerConfig.behavior` to the HPA it makes: validate it as one."""
    spec = item[1]["spec"]
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec["scaleTargetRef"]["name"]},
                    "minReplicas": spec["minReplicaCount"], "maxReplicas": spec["maxReplicaCount"],
                    "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]}}
    kubernetes_validate.validate(hpa, KUBERNETES[0], strict=True)


# ---------------------------------------------------------------------------------------------- custom resources

def obj(required: list[str] | None = None, /, **properties: Any) -> dict[str, Any]:
    """An object with exactly these properties, `required` among them."""
    return {"type": "object", "properties": properties, "required": required or [], "additionalProperties": False}


STRING = {"type": "string", "minLength": 1}
ANY_STRING = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SCALAR_MAP = {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean", "number"]}}
DNS_SUBDOMAIN = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"}
DNS_LABEL = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"}


def resource(api_version: str, kind: str, spec: dict[str, Any], *, name: dict[str, Any] = DNS_SUBDOMAIN,
             labels: dict[str, Any] | None = None, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or STRING_MAP}
    if annotations:
        metadata["annotations"] = annotations
    return obj(["apiVersion", "kind", "metadata", "spec"], apiVersion={"const": api_version}, kind={"const": kind},
               metadata=obj(["name"], **metadata), spec=spec)


STRIMZI_CLUSTER_LABEL = obj(["strimzi.io/cluster"], **{"strimzi.io/cluster": STRING})
PERSISTENT_CLAIM = obj(["type", "size"], type={"enum": ["persistent-claim"]}, size=STRING, deleteClaim=BOOL,
                       **{"class": STRING})

SCHEMAS: dict[str, dict[str, Any]] = {
    # Strimzi kafka.strimzi.io/v1beta2 (KRaft: node pools, no ZooKeeper section, no replicas/storage on the Kafka).
    "KafkaNodePool": resource("kafka.strimzi.io/v1beta2", "KafkaNodePool", labels=STRIMZI_CLUSTER_LABEL, spec=obj(
        ["replicas", "roles", "storage"], replicas={"type": "integer", "minimum": 0},
        roles={"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["controller", "broker"]}},
        storage=PERSISTENT_CLAIM)),
    "Kafka": resource("kafka.strimzi.io/v1beta2", "Kafka", annotations=obj(
        ["strimzi.io/node-pools", "strimzi.io/kraft"],
        **{"strimzi.io/node-pools": {"const": "enabled"}, "strimzi.io/kraft": {"const": "enabled"}}), spec=obj(
        ["kafka"],
        kafka=obj(["listeners"], version=STRING, config=SCALAR_MAP,
                  authorization=obj(["type"], type={"enum": ["simple"]}),
                  listeners={"type": "array", "minItems": 1, "items": obj(
                      ["name", "port", "type", "tls"], name={"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
                      port={"type": "integer", "minimum": 9092}, tls=BOOL,
                      type={"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},
                      authentication=obj(["type"], type={"enum": ["tls", "scram-sha-512", "oauth", "custom"]}))}),
        entityOperator=obj([], topicOperator=obj(), userOperator=obj()))),
    "KafkaTopic": resource("kafka.strimzi.io/v1beta2", "KafkaTopic", labels=STRIMZI_CLUSTER_LABEL, spec=obj(
        [], topicName=STRING, partitions={"type": "integer", "minimum": 1},
        replicas={"type": "integer", "minimum": 1, "maximum": 32767}, config=SCALAR_MAP)),
    "KafkaUser": resource("kafka.strimzi.io/v1beta2", "KafkaUser", labels=STRIMZI_CLUSTER_LABEL, spec=obj(
        [], authentication=obj(["type"], type={"enum": ["tls", "tls-external", "scram-sha-512"]}),
        authorization=obj(["type", "acls"], type={"enum": ["simple"]}, acls={"type": "array", "items": obj(
            ["resource", "operations"], type={"enum": ["allow", "deny"]}, host=STRING,
            resource=obj(["type"], type={"enum": ["topic", "group", "cluster", "transactionalId"]}, name=STRING,
                         patternType={"enum": ["literal", "prefix"]}),
            operations={"type": "array", "minItems": 1, "items": {"enum": [
                "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                "DescribeConfigs", "IdempotentWrite", "All"]}})}))),
    # CloudNativePG postgresql.cnpg.io/v1.
    "Cluster": resource("postgresql.cnpg.io/v1", "Cluster", name=DNS_LABEL, spec=obj(
        ["instances", "storage"], instances={"type": "integer", "minimum": 1}, imageName=STRING,
        primaryUpdateStrategy={"enum": ["unsupervised", "supervised"]},
        minSyncReplicas={"type": "integer", "minimum": 0}, maxSyncReplicas={"type": "integer", "minimum": 0},
        enableSuperuserAccess=BOOL, postgresql=obj(["parameters"], parameters=STRING_MAP),
        bootstrap=obj(["initdb"], initdb=obj([], database=STRING, owner=STRING, secret=obj(["name"], name=STRING))),
        storage=obj(["size"], size=STRING, storageClass=STRING))),
    # KEDA keda.sh/v1alpha1.
    "ScaledObject": resource("keda.sh/v1alpha1", "ScaledObject", spec=obj(
        ["scaleTargetRef", "triggers"], scaleTargetRef=obj(["name"], name=STRING, kind=STRING, apiVersion=STRING),
        minReplicaCount={"type": "integer", "minimum": 0}, maxReplicaCount={"type": "integer", "minimum": 1},
        pollingInterval={"type": "integer", "minimum": 1},
        advanced=obj([], horizontalPodAutoscalerConfig=obj([], behavior={"type": "object"})),
        triggers={"type": "array", "minItems": 1, "items": obj(
            ["type", "metadata"], type=STRING, metadata=STRING_MAP, authenticationRef=obj(["name"], name=STRING))})),
    "TriggerAuthentication": resource("keda.sh/v1alpha1", "TriggerAuthentication", spec=obj(
        [], secretTargetRef={"type": "array", "items": obj(["parameter", "name", "key"], parameter=STRING,
                                                             name=STRING, key=STRING)},
        env={"type": "array", "items": obj(["parameter", "name"], parameter=STRING, name=STRING,
                                           containerName=ANY_STRING)})),
}

# The KEDA kafka scaler's own parameters (its trigger metadata): names and allowed values.
KAFKA_TRIGGER = obj(["bootstrapServers", "consumerGroup", "topic", "lagThreshold"], bootstrapServers=STRING,
                    consumerGroup=STRING, topic=STRING, lagThreshold={"type": "string", "pattern": "^[1-9][0-9]*$"},
                    offsetResetPolicy={"enum": ["earliest", "latest"]},
                    sasl={"enum": ["none", "plaintext", "scram_sha256", "scram_sha512", "gssapi", "oauthbearer"]},
                    tls={"enum": ["enable", "disable"]})


def errors(schema: dict[str, Any], doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_every_kind_in_the_manifests_is_validated():
    kinds = {d["kind"] for _, d in DOCS}
    assert kinds == BUILTIN | set(SCHEMAS), f"kinds without a schema here: {sorted(kinds - BUILTIN - set(SCHEMAS))}"
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("item", of_kinds(set(SCHEMAS)), ids=ident)
def test_custom_resources_have_the_fields_their_crd_requires(item):
    assert errors(SCHEMAS[item[1]["kind"]], item[1]) == []


@pytest.mark.parametrize("item", of_kinds({"ScaledObject"}), ids=ident)
def test_kafka_triggers_use_the_scalers_parameters(item):
    for trigger in item[1]["spec"]["triggers"]:
        assert trigger["type"] == "kafka"
        assert errors(KAFKA_TRIGGER, trigger["metadata"]) == []


@pytest.mark.parametrize("item", of_kinds({"ScaledObject", "TriggerAuthentication"}), ids=ident)
def test_keda_objects_refer_to_objects_that_exist(item):
    names = {(d["kind"], d["metadata"]["name"]) for _, d in DOCS}
    spec = item[1]["spec"]
    if item[1]["kind"] == "ScaledObject":
        assert ("Deployment", spec["scaleTargetRef"]["name"]) in names
        for trigger in spec["triggers"]:
            assert ("TriggerAuthentication", trigger["authenticationRef"]["name"]) in names
    else:  # the secrets the User Operator makes are named after KafkaUsers
        for ref in spec["secretTargetRef"]:
            assert ("KafkaUser", ref["name"]) in names


def doctored(kind: str, change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(next(d for _, d in DOCS if d["kind"] == kind))
    change(doc)
    return doc


@pytest.mark.parametrize(("kind", "change"), [
    ("ScaledObject", lambda d: d["spec"]["triggers"][0]["metadata"].update(lagThreshold=30000)),  # not a string
    ("ScaledObject", lambda d: d["spec"].pop("scaleTargetRef")),
    ("KafkaUser", lambda d: d["spec"]["authorization"]["acls"][0].update(operations=["read"])),
    ("KafkaUser", lambda d: d["spec"]["authorization"]["acls"][0]["resource"].update(patternType="prefixed")),
    ("KafkaNodePool", lambda d: d["spec"].update(roles=["broker", "worker"])),
    ("Kafka", lambda d: d["metadata"]["annotations"].pop("strimzi.io/kraft")),
    ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].update(name="scram-listener")),
    ("KafkaTopic", lambda d: d["spec"].update(replicas=0)),
    ("Cluster", lambda d: d["spec"]["postgresql"]["parameters"].update(max_connections=308)),  # not a string
    ("Cluster", lambda d: d["spec"].update(instances="3")),
    ("TriggerAuthentication", lambda d: d["spec"]["secretTargetRef"][0].pop("key")),
])
def test_the_custom_schemas_reject_broken_objects(kind, change):
    """Guards the guard: each hand-written schema refuses a typical mistake."""
    assert errors(SCHEMAS[kind], doctored(kind, change)) != []


def test_the_trigger_check_rejects_an_unknown_sasl_mode():
    assert errors(KAFKA_TRIGGER, {"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t",
                                  "lagThreshold": "5", "sasl": "SCRAM-SHA-512"}) != []
