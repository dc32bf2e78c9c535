"""The smaller chaos tier that `make test` runs (the full one is `make chaos`, tests/chaos).

Private Kafka, PostgreSQL and Redis (never the shared stack), the five services, a
seeded ledger of receipts with every kind of defect, and one of each fault: every
service SIGKILLed and crashed at a named point, the broker killed, PostgreSQL stopped
immediately, Redis taken away, latency, resets and a black hole on the network.
Then the checker — and the negative control, which proves the checker can fail.
"""
from __future__ import annotations

import pytest

from tests.chaos.supervisor import SERVICES, Plan, run

pytestmark = pytest.mark.timeout(600)


def test_faults_lose_nothing_and_count_nothing_twice() -> None:
    report = run(Plan(receipts=1500, seed=11, kills_per_service=1, broker_kills=1, pg_stops=1, redis_outages=1,
                      network_episodes=1, settle_timeout_s=300))
    assert report["failures"] == [], report["failures"]
    assert report["lost"] == 0 and report["doubled"] == 0
    assert all(report["kills"][s] >= 1 for s in SERVICES), report["kills"]
    assert report["broker_kills"] == 1 and report["postgres_stops"] == 1 and report["redis_outages"] == 1
    assert report["unexpected_exits"] == {}
    assert len(report["crash_points"]) >= 3, (report["crash_points"], report["missed_points"])
    assert report["replay"]["same"], report["replay"]
    assert report["leaks"]["unmasked_ids"] == 0, report["leaks"]
    expected = report["check"]["expected"]
    payment = report["check"]["payment"]
    assert (payment["accepted"], payment["rejected"], payment["dead_lettered"], payment["duplicates_ignored"]) == (
        expected["accepted"], expected["rejected"], expected["dead_lettered"], expected["duplicate"])


def test_negative_control_offsets_committed_first_loses_receipts() -> None:
    """Same harness, offsets committed before processing (YIBAO_UNSAFE_ACK_FIRST): the checker must see losses."""
    report = run(Plan(receipts=1500, seed=11, kills_per_service=1, broker_kills=0, pg_stops=0, redis_outages=0,
                      network_episodes=0, ack_first=True, crash_probability=0.4, replay=False, settle_timeout_s=300))
    assert report["crash_points"].get("payment_ingest:random", 0) >= 1, report["crash_points"]
    assert report["lost"] > 0, report["check"]["payment"]
    assert report["failures"], "a run that lost receipts must fail its checks"
