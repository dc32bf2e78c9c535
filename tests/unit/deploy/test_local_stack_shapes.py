"""The local stack's multi-node shapes, as configuration: the three-broker cluster and extra service instances.

The cluster itself runs in the fault tests (tests/e2e/test_cluster_faults.py, tests/chaos/cluster.py) on the
chaos harness's nodes; these hold the properties both write to what the cluster promises: every topic on
three brokers, a write acknowledged with acks=all on two, no unclean leader, and the ports and names of
`stack.py up --brokers 3` and `services-up --instances`.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.chaos.infra import cluster_properties as chaos_properties

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("local_stack", ROOT / "deploy" / "local" / "stack.py")
assert _spec and _spec.loader
stack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stack)


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


DURABLE = {"default.replication.factor": "3", "min.insync.replicas": "2", "offsets.topic.replication.factor": "3",
           "transaction.state.log.replication.factor": "3", "transaction.state.log.min.isr": "2",
           "unclean.leader.election.enable": "false", "process.roles": "broker,controller"}


def test_stack_cluster_node_is_durable_and_on_its_own_ports() -> None:
    p = props(stack.cluster_properties(2, 3))
    assert {k: p[k] for k in DURABLE} == DURABLE
    assert p["node.id"] == "2"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert p["log.dirs"].endswith("kafka/cluster/node-2/data")
    # node 1 answers where the single broker does, so the default bootstrap address reaches the cluster too
    assert stack.node_ports(1) == (stack.KAFKA_PORT, stack.KAFKA_CONTROLLER_PORT)


def test_chaos_cluster_node_is_as_durable() -> None:
    p = props(chaos_properties(3, 40001, 40002, "1@h:1,2@h:2,3@h:3", Path("/tmp/x"), 3))
    assert {k: p[k] for k in DURABLE} == DURABLE
    assert p["node.id"] == "3" and p["listeners"] == "CLIENT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002"


def test_extra_instances_get_their_own_port_and_pid_name() -> None:
    assert stack.parse_instances(["payment_ingest=2", "enrollment=3,subsidy=1"]) == {
        "payment_ingest": 2, "enrollment": 3, "subsidy": 1}
    assert stack.instance_port("payment_ingest", 1) == stack.SERVICES["payment_ingest"]
    assert stack.instance_port("payment_ingest", 3) == stack.SERVICES["payment_ingest"] + 200
    assert stack.instance_name("enrollment", 2) == "service-enrollment-2"
    assert stack.marker("service-enrollment-2") == "services.enrollment"
    assert stack.name_port("service-enrollment-2") == stack.SERVICES["enrollment"] + 100
    with pytest.raises(KeyError):
        stack.marker("service-nobody-2")


@pytest.mark.parametrize("spec", ["payment_ingest", "payment_ingest=0", "payment_ingest=two", "nobody=2",
                                  "payment_ingest=13"])
def test_a_bad_instances_option_is_refused_saying_how(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        stack.parse_instances([spec])
    err = capsys.readouterr().err
    assert repr(spec) in err and "SERVICE=N" in err


def test_the_standby_is_for_the_stacks_services_never_for_the_shell() -> None:
    """`stack.py env` feeds the tests, whose services use databases of their own: a replica of the database
    yibao must never reach them as YIBAO_PG_READ_DSN."""
    assert "YIBAO_PG_READ_DSN" not in stack.env()
    assert stack.name_port("postgres-standby") == stack.PG_STANDBY_PORT != stack.PG_PORT
    assert stack.marker("postgres-standby") == "postgres"
