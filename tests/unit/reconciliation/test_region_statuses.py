"""Statuses are kept per person and region: another region's list never replaces this region's (issue 13, point 9).

Each county's civil affairs bureau hands in its own 低保 list (seed 002 L14: 名单由县民政部门负责提供);
identity certification announces a person's set per region (`identity.status-changed` carries the
region). Reconciliation keeps the last set of each person and region, and a run of a region reads
that region's set only: the subsidy line of 怀远 needs 怀远's status.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reconciliation import ledgers
from services.reconciliation.domain.discrepancies import Due, Kind, Limits, Season, StatusSpan, SubsidyLine, reconcile
from services.reconciliation.domain.figures import vulnerable_groups
from services.reconciliation.usecases import record_statuses_changed
from shared.messages import CertifiedStatus, StatusChanged
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

HY, HQ, YEAR = "340321", "341522", 2025
NOW = datetime(2024, 11, 30, 8, 0, tzinfo=UTC)
WINDOW = (date(2024, 9, 1), date(2024, 12, 31))  # 怀远's collection period (seed 000 L119-121)
A = resident_id(HY, seq=41)


def changed(region: str, *statuses: tuple[str, str, str | None]) -> StatusChanged:
    return StatusChanged(message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, region=region, statuses=[
        CertifiedStatus(category=c, department="civil_affairs", certified_on=date.fromisoformat(on),
                        ended_on=date.fromisoformat(off) if off else None) for c, on, off in statuses])


async def test_each_region_keeps_its_own_set_the_last_of_each_region_winning(monkeypatch: pytest.MonkeyPatch):
    saved: list[StatusChanged] = []

    async def save(_conn: Any, events: list[StatusChanged], _now: datetime) -> None:
        saved.extend(events)

    monkeypatch.setattr(ledgers, "save_statuses", save)
    first, other = changed(HY, ("minimum_living", "2024-10-08", None)), changed(HQ, ("minimum_living", "2024-10-15", None))
    ended = changed(HY, ("minimum_living", "2024-10-08", "2024-11-20"))
    await record_statuses_changed(MemoryUnitOfWork(now=NOW), [first, other, ended])
    assert sorted((e.region, e.message_id) for e in saved) == sorted([(HY, ended.message_id), (HQ, other.message_id)])


def test_the_status_ledger_is_keyed_by_person_and_region_and_never_moves_a_row_to_another_region():
    sql = ledgers.PERSON_STATUS.sql
    assert "ON CONFLICT (person_id, region) DO UPDATE" in sql
    assert "region = EXCLUDED.region" not in sql


def _season(statuses: dict[str, list[StatusSpan]]) -> Season:
    return Season(region=HY, year=YEAR, receipts=[], bookings=[], settlement=[], agent_lines=[], refunds_ordered={},
                  dues=[Due(A, YEAR, 6000, "active", (SubsidyLine("minimum_living", 34000, "medical_assistance", "net"),))],
                  statuses=statuses)


def test_huaiyuans_subsidy_line_stands_on_huaiyuans_status_alone():
    """The run of 怀远 is given 怀远's set: held in the period, the line is backed; ended before it, it is not,
    whatever 霍邱's set says (which the run of 怀远 is not given)."""
    limits = Limits(settlement_lag_days=1, agent_deposit_days=1, status_window=WINDOW)
    held = {A: [StatusSpan("minimum_living", date(2024, 10, 8), None)]}
    ended_before = {A: [StatusSpan("minimum_living", date(2024, 3, 1), date(2024, 8, 31))]}
    assert reconcile(_season(held), date(2024, 11, 30), limits) == []
    [found] = reconcile(_season(ended_before), date(2024, 11, 30), limits)
    assert (found.kind, found.person_id, found.amount_fen) == (Kind.SUBSIDY_WITHOUT_STATUS, A, 34000)


def test_vulnerable_groups_count_the_regions_own_set():
    rows = [{"person_id": A, "statuses": json.dumps([{"category": "minimum_living", "certified_on": "2024-03-01",
                                                      "ended_on": "2024-08-31"}]),
             "township": "榴城镇", "village": "城关村", "name": None, "enrolled": False}]
    assert vulnerable_groups(rows, WINDOW) == []
    rows[0]["statuses"] = json.dumps([{"category": "minimum_living", "certified_on": "2024-10-08", "ended_on": None}])
    [group] = vulnerable_groups(rows, WINDOW)
    assert (group["category"], group["people"], group["enrolled"]) == ("minimum_living", 1, 0)
