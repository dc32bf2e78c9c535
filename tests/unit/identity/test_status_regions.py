"""A list is one region's, and so are the events it raises (issue 13, point 9), in memory.

Each county's civil affairs bureau hands in its own list (seed 002 L14: 名单由县民政部门负责提供). When
霍邱县 (341522) lists a person 怀远县 (340321) certified too, 霍邱's identity.status-changed carries 霍邱's
statuses of the person, under 霍邱 — the store is asked to write that region's events, and no other.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from services.identity_certification import usecases
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.usecases import Submission
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id
from tests.unit.identity.test_identity_decisions import FakeStore

HY, HQ = "340321", "341522"
NOW = datetime(2024, 11, 8, 2, tzinfo=UTC)
PERSON = resident_id(HY, seq=921)


def held(region: str, township: str) -> dict:
    """A status row as identity stores it: one region's."""
    return {"category": "minimum_living", "department": "civil_affairs", "region": region,
            "certified_on": date(2024, 10, 8), "ended_on": None, "submission_id": uuid4(), "township": township,
            "village": None}


class RegionalStore(FakeStore):
    """Holds each region's sets of the changed people; hands out only the region asked for."""

    def __init__(self, monkeypatch, by_region: dict[str, dict[str, list[dict]]]) -> None:
        super().__init__(monkeypatch, changed=by_region[HQ])
        self.by_region = by_region
        self.asked: list[str] = []

    async def write_status_events(self, _conn, topic, occurred_at, region, channel):
        self.asked.append(region)
        return len(self.by_region[region])


async def test_huoqius_list_announces_huoqius_statuses_under_huoqiu(monkeypatch):
    fake = RegionalStore(monkeypatch, {HY: {PERSON: [held(HY, "榴城镇")]}, HQ: {PERSON: [held(HQ, "城关镇")]}})
    listed = [SubmittedRow(1, PERSON, "minimum_living", date(2024, 10, 8), township="城关镇")]
    uow = MemoryUnitOfWork(now=NOW)
    what = Submission.of_rows("civil_affairs", HQ, "2024-10", "delta", "json", listed)
    result = await usecases.submit_list(uow, what, listed)
    # The events are written by SQL from the region's statuses only (their content against the real database:
    # tests/integration/test_identity_regions.py); here, that the store is asked for 霍邱's and nobody else's.
    assert (result.outcome, result.people_changed) == ("processed", 1) and fake.asked == [HQ]
