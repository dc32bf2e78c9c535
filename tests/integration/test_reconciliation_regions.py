"""Reconciliation's status ledger on PostgreSQL: one set per person and region, and every read of a region's.

The events go through the consumed topics' use cases as the subscribers record them; the reads are
the use cases behind the API, the console and the exports, and a run. A person 怀远县 (340321)
certified 低保 and 霍邱县 (341522) lists too (each county's civil affairs hands in its own list,
seed 002 L14) stays in 怀远's group and backs 怀远's subsidy line; once 怀远's status ended before
the collection period (seed 000 L119-121) only 霍邱's group counts them, and 怀远's line is
资助无认定身份支撑 (issue 13, point 9).
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reconciliation import usecases
from services.reconciliation.settings import Settings
from shared.db import schema_connection
from shared.messages import CertifiedStatus, DueAssessed, PersonBaselined, StatusChanged, SubsidyLine
from shared.migrate import SERVICE_SCHEMAS
from shared.resident_id import mask
from shared.uow import UnitOfWork, unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

SCHEMA = "reconciliation"
HY, HQ, YEAR = "340321", "341522", 2025
NOW = datetime(2024, 11, 30, 8, 0, tzinfo=UTC)
A = resident_id(HY, seq=51)


@pytest.fixture(scope="module")
async def dsn(servers) -> AsyncIterator[str]:
    async with fresh_database(servers, "recon_regions", *(s for s in SERVICE_SCHEMAS if s.schema == SCHEMA)) as found:
        yield found


def changed(region: str, certified_on: str, ended_on: str | None = None) -> StatusChanged:
    return StatusChanged(message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, region=region, township="榴城镇",
                         statuses=[CertifiedStatus(category="minimum_living", department="civil_affairs",
                                                   certified_on=date.fromisoformat(certified_on),
                                                   ended_on=date.fromisoformat(ended_on) if ended_on else None)])


def hy_due() -> DueAssessed:
    return DueAssessed(message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, region=HY, year=YEAR, standard_fen=40000,
                       subsidy_fen=34000, due_fen=6000, revision=1, lines=[SubsidyLine(
                           category="minimum_living", amount_fen=34000, funding_source="medical_assistance",
                           mode="net")])


async def _record(dsn: str, record: Callable[[UnitOfWork, Sequence[Any]], Awaitable[None]],
                  events: Sequence[Any]) -> None:
    async with schema_connection(dsn, SCHEMA) as conn, unit_of_work(conn, schema=SCHEMA, topic_prefix="", now=NOW) as uow:
        await record(uow, events)


async def _reads(dsn: str, region: str) -> dict[str, Any]:
    """What the region's API, console, export and a run show of A."""
    async with schema_connection(dsn, SCHEMA) as conn, unit_of_work(conn, schema=SCHEMA, topic_prefix="", now=NOW) as uow:
        groups = (await usecases.vulnerable(uow, region, YEAR))["groups"]
        console = await usecases.console_figures(uow, region, YEAR)
        export = await usecases.export_table(uow, "not-enrolled", region, YEAR)
        record = await usecases.person_record(uow, A, region)
        run = await usecases.run_reconciliation(uow, Settings(pg_dsn=dsn, topic_prefix="", schedule_enabled=False),
                                                region=region, year=YEAR, day=date(2024, 11, 30), trigger="test")
        found = await usecases.list_discrepancies(uow, region, YEAR, kind="subsidy_without_status")
    listed = [p["person"] for g in groups if g["category"] == "minimum_living" for p in g["not_enrolled"]]
    return {"group": listed, "console": [p["person"] for g in console.vulnerable for p in g["not_enrolled"]],
            "export": any(mask(A) in [str(c) for c in row] for row in export.rows),
            "statuses": [(s["certified_on"], s["ended_on"]) for s in record["statuses"]],
            "without_status": [(d["person"], d["amount_fen"]) for d in found], "run": run["counts"]}


async def test_the_status_ledger_is_keyed_by_person_and_region(dsn: str) -> None:
    async with schema_connection(dsn, SCHEMA) as conn:
        key = await conn.fetch(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'person_status'::regclass AND i.indisprimary ORDER BY a.attname")
    assert [r["attname"] for r in key] == ["person_id", "region"]


async def test_each_region_reads_its_own_status_of_a_person_both_list(dsn: str) -> None:
    await _record(dsn, usecases.record_baseline, [PersonBaselined(
        message_id=uuid.uuid4(), occurred_at=NOW, person_id=A, region=HY, township="榴城镇", village="城关村",
        source="test")])
    await _record(dsn, usecases.record_dues_assessed, [hy_due()])
    await _record(dsn, usecases.record_statuses_changed, [changed(HY, "2024-10-08")])
    await _record(dsn, usecases.record_statuses_changed, [changed(HQ, "2024-10-15")])  # 霍邱 lists A afterwards

    hy, hq = await _reads(dsn, HY), await _reads(dsn, HQ)
    assert hy["group"] == hy["console"] == [mask(A)] and hy["export"]
    assert hy["statuses"] == [("2024-10-08", None)] and hy["without_status"] == []
    assert hq["group"] == [mask(A)] and hq["statuses"] == [("2024-10-15", None)]

    # 怀远 ends its status as of 2024-08-31 (before the collection period); 霍邱's stays.
    await _record(dsn, usecases.record_statuses_changed, [changed(HY, "2024-03-01", "2024-08-31")])
    hy, hq = await _reads(dsn, HY), await _reads(dsn, HQ)
    assert hy["group"] == hy["console"] == [] and not hy["export"]
    assert hy["statuses"] == [("2024-03-01", "2024-08-31")]
    assert hy["without_status"] == [(mask(A), 34000)]
    assert hq["group"] == [mask(A)] and hq["statuses"] == [("2024-10-15", None)]
