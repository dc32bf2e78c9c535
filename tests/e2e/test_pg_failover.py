"""PostgreSQL failover under the chain (tests/chaos/standby.py; `make chaos` runs it larger).

A private primary with a synchronous streaming standby (pg_basebackup -R), the services on a two-host DSN
(target_session_attrs=read-write) and reading their read-only APIs from the standby within a lag bound.
The primary is stopped immediately while receipts flow, the standby promoted; the services reconnect by
themselves, and the chaos checker finds nothing lost that was committed, nothing doubled.
"""
from __future__ import annotations

import pytest

from tests.chaos.standby import run_standby

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def report() -> dict:
    return run_standby(1500, seed=11, settle_timeout_s=300)


def test_promoted_standby_keeps_every_commit_and_the_services_reconnect(report: dict) -> None:
    assert report["failures"] == [], report["failures"]
    assert report["lost"] == 0 and report["doubled"] == 0
    assert report["unexpected_exits"] == {}
    failover = report["failover"]
    assert failover["nothing_committed_missing"], failover
    assert failover["committed_seen_before_stop"]["payment.receipt"] > 0, failover  # it landed on a chain at work
    assert failover["chain_resumed_after_s"] > 0, failover  # recorded again on the promoted standby, no restart
    expected, payment = report["check"]["expected"], report["check"]["payment"]
    assert (payment["accepted"], payment["rejected"]) == (expected["accepted"], expected["rejected"])


def test_reads_leave_a_lagging_replica_for_the_primary(report: dict) -> None:
    """The bounded-lag rule, measured on the run's replica before the failover (its replay paused, then resumed)."""
    reads = report["replica_reads"]
    assert reads["fresh_reads_replica"] and reads["lagging_reads_primary"] and reads["resumed_reads_replica"], reads
    assert reads["lag_when_paused_s"] > 1.0, reads
    # and a service's read-only API reads through its replica pool (empty until then)
    assert reads["enrollment_replica_connections"][0] == 0 < reads["enrollment_replica_connections"][1], reads
    assert reads["person_record_status"] in (200, 404), reads
