"""The Kafka ACL plan (shared/kafka_acls.py) matches what the services really do, and grants nothing more.

The consumed topics are compared with the subscribers each service registers
(built exactly as `python -m services.<name>` builds them, without connecting), so
the plan cannot drift from the code. Applying the plan to a real broker:
tests/integration/test_kafka_security.py.
"""
from __future__ import annotations

import importlib

import pytest
from pydantic import SecretStr

from shared import kafka_acls
from shared.codes import Department
from shared.kafka_security import KafkaSecurityError, aiokafka_options, confluent_config, faststream_security
from shared.runtime import Runtime
from shared.service import build_broker
from shared.settings import ServiceSettings
from shared.topics import ALL_TOPICS, DEAD_LETTER, DEPARTMENT_RECORDS, RECEIPT_RECEIVED, SHARED_RECORDS


def registered(service: str):
    spec = importlib.import_module(f"services.{service}.app").SPEC
    settings = spec.settings(topic_prefix="", group_prefix="yibao")
    return build_broker(spec, Runtime(spec.name, spec.schema, settings))


@pytest.mark.parametrize("service", kafka_acls.SERVICES)
def test_consumes_is_what_the_service_subscribes_to(service):
    broker = registered(service)
    subscribed = {name for sub in broker.subscribers for name in sub.topic_names}
    assert subscribed == {t.name for t in kafka_acls.CONSUMES[service]}
    for sub in broker.subscribers:  # every group lies under the service's PREFIXED group ACL
        assert sub.group_id.startswith(f"yibao.{service}.")


@pytest.mark.parametrize("service", kafka_acls.SERVICES)
def test_a_service_may_write_only_what_it_owns_and_dead_letters(service):
    writes = {a.name for a in kafka_acls.plan() if a.principal == service and a.operation == "write"}
    assert writes == {t.name for t in ALL_TOPICS if t.owner == service} | {DEAD_LETTER.name}
    declared = {p.topic for p in registered(service).publishers}  # the AsyncAPI publishers
    assert declared <= writes


@pytest.mark.parametrize("department", list(Department))
def test_a_department_writes_its_own_list_topic_and_nothing_else(department):
    acls = [a for a in kafka_acls.plan() if a.principal == kafka_acls.department_principal(department)]
    assert [(a.resource, a.name, a.operation) for a in acls] == [("topic", DEPARTMENT_RECORDS[department].name, "write")]
    assert DEPARTMENT_RECORDS[department].owner == kafka_acls.department_principal(department)


@pytest.mark.parametrize("prefix", ["", "t42."])
def test_only_its_department_may_write_a_list_topic_and_identity_reads_them_all(prefix):
    """The topic a list came from proves its department only if no other principal can write there."""
    acls = kafka_acls.plan(topic_prefix=prefix)
    for department, topic in DEPARTMENT_RECORDS.items():
        writers = {a.principal for a in acls if a.name == prefix + topic.name and a.operation == "write"}
        assert writers == {kafka_acls.department_principal(department)}, topic.name
        readers = {a.principal for a in acls if a.name == prefix + topic.name and a.operation == "read"}
        assert readers == {"identity_certification"}, topic.name
    assert len({t.name for t in DEPARTMENT_RECORDS.values()}) == len(Department)


def test_nobody_writes_the_retired_shared_list_topic_and_identity_still_reads_it():
    on_it = {(a.principal, a.operation) for a in kafka_acls.plan() if a.name == SHARED_RECORDS.name}
    assert on_it == {("identity_certification", "read")}


def test_the_tax_gateway_only_writes_receipts():
    acls = [a for a in kafka_acls.plan() if a.principal == kafka_acls.TAX_GATEWAY]
    assert [(a.name, a.operation) for a in acls] == [(RECEIPT_RECEIVED.name, "write")]


def test_one_principal_each_and_no_acl_for_the_admin():
    names = kafka_acls.principals()
    assert len(names) == len(set(names)) == len(kafka_acls.SERVICES) + 1 + len(Department)
    assert kafka_acls.ADMIN not in names
    assert {a.principal for a in kafka_acls.plan()} == set(names)
    assert len({kafka_acls.password_env_var(n) for n in names}) == len(names)


def test_prefixes_follow_the_settings():
    acls = kafka_acls.plan(topic_prefix="t42.", group_prefix="g")
    assert all(a.name.startswith("t42.") for a in acls if a.resource == "topic")
    assert {a.name for a in acls if a.resource == "group"} == {f"g.{s}." for s in kafka_acls.SERVICES}


def test_missing_passwords_are_all_named():
    with pytest.raises(KeyError) as caught:
        kafka_acls.passwords_from_env(["payment_ingest", "dept-veterans"], {"YIBAO_KAFKA_PASSWORD__PAYMENT_INGEST": "x"})
    assert "YIBAO_KAFKA_PASSWORD__DEPT_VETERANS" in caught.value.args[0]
    assert "PAYMENT_INGEST" not in caught.value.args[0]


def test_plaintext_adds_no_client_options():
    settings = ServiceSettings()
    assert aiokafka_options(settings) == {}
    assert faststream_security(settings) is None
    assert confluent_config(settings)["security.protocol"] == "PLAINTEXT"


def test_sasl_options_are_the_same_for_every_client():
    settings = ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="subsidy",
                               kafka_password=SecretStr("s3cret"))
    assert aiokafka_options(settings) == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                                          "sasl_plain_username": "subsidy", "sasl_plain_password": "s3cret"}
    security = faststream_security(settings)
    assert (type(security).__name__, security.username, security.password) == ("SASLScram512", "subsidy", "s3cret")
    assert confluent_config(settings)["sasl.username"] == "subsidy"
    assert "s3cret" not in repr(settings)  # a SecretStr: never in a log line or an error


def test_sasl_without_a_principal_says_what_to_set():
    with pytest.raises(KafkaSecurityError, match="YIBAO_KAFKA_USERNAME and YIBAO_KAFKA_PASSWORD"):
        aiokafka_options(ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT"))


def test_apply_without_the_passwords_names_them_and_touches_no_broker(monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app

    for name in kafka_acls.principals():
        monkeypatch.delenv(kafka_acls.password_env_var(name), raising=False)
    monkeypatch.setenv(kafka_acls.password_env_var("subsidy"), "x")
    result = CliRunner().invoke(app, ["kafka-acls", "apply"])
    assert result.exit_code == 2
    assert "YIBAO_KAFKA_PASSWORD__DEPT_CIVIL_AFFAIRS" in result.output
    assert "YIBAO_KAFKA_PASSWORD__SUBSIDY" not in result.output
