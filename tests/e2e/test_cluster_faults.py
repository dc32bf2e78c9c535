"""The smaller tier of the cluster fault run (the full one is `make chaos-cluster`: python -m tests.chaos.cluster,
ten times the rate, brokers down 30 s, three services rebalanced).

A private three-broker KRaft cluster (replication factor 3, min.insync.replicas=2), PostgreSQL and Redis,
the five services unchanged, and receipts offered at a steady rate the whole time while one broker is
SIGKILLed and brought back, then two at once, then the three restarted in turn (an upgrade), then a second
instance of payment ingest joins its consumer groups and the first is SIGKILLed. The chaos checker counts
lost and doubled receipts against what was fed.
"""
from __future__ import annotations

import pytest

from tests.chaos.cluster import ClusterPlan, run_cluster

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def report() -> dict:
    return run_cluster(ClusterPlan(rate=40, max_receipts=20_000, seed=13, down_s=5,
                                   phases=("one_broker", "two_brokers", "rolling_restart", "rebalance"),
                                   rebalance_services=("payment_ingest",), warmup_s=5, tail_s=5,
                                   settle_timeout_s=300))


def phase(report: dict, name: str) -> dict:
    return next(p for p in report["phases"] if p["phase"] == name)


def test_nothing_lost_or_doubled_through_every_fault(report: dict) -> None:
    assert report["failures"] == [], report["failures"]
    assert report["lost"] == 0 and report["doubled"] == 0
    assert report["unexpected_exits"] == {}
    expected, payment = report["check"]["expected"], report["check"]["payment"]
    assert expected["records"] == report["receipts"] > 0
    assert (payment["accepted"], payment["rejected"], payment["dead_lettered"], payment["duplicates_ignored"]) == (
        expected["accepted"], expected["rejected"], expected["dead_lettered"], expected["duplicate"])


def test_one_broker_killed_the_services_go_on_without_a_restart(report: dict) -> None:
    one = phase(report, "one_broker")
    assert len(one["killed"]) == 1 and one["service_restarts"] == []
    # the chain stops only while the dead broker's partitions get new leaders (its session times out: 9 s)
    assert one["stall_chain_s"] < 45, one


def test_two_brokers_killed_nothing_is_acknowledged_then_the_chain_catches_up(report: dict) -> None:
    two = phase(report, "two_brokers")
    assert len(two["killed"]) == 2 and two["service_restarts"] == []
    assert two["probe"]["acknowledged"] is False, two["probe"]
    assert report["broker_kills"] == 3 and report["broker_restarts"] == 6  # 3 after kills, 3 rolled


def test_a_rolling_restart_under_load_waits_for_each_broker_in_sync(report: dict) -> None:
    rolling = phase(report, "rolling_restart")
    assert rolling["restarted"] == [1, 2, 3] and rolling["service_restarts"] == []
    assert set(rolling["in_sync_after_s"]) == {1, 2, 3}
    # a controlled shutdown hands the leaderships over before the broker goes: no failover wait
    assert rolling["stall_chain_s"] < 30, rolling


def test_an_instance_added_and_one_killed_rebalance_without_loss(report: dict) -> None:
    rebalance = phase(report, "rebalance")
    assert rebalance["added"] == ["payment_ingest#2"]
    assert rebalance["members_after_join"] and all(n >= 2 for n in rebalance["members_after_join"].values()), rebalance
    assert report["service_kills"] == {"payment_ingest": 1}
