"""Refused registrations and event dates in the stores, on the real PostgreSQL (issue 13, points 8 and 4).

* enrollment: `register` keeps each refusal (its own row, migration 0004) in the unit of work's
  transaction — kept and counted once committed, neither when it rolls back — and the person's
  record shows it;
* subsidy: `record_enrollments` keeps the kind's event date and registration day (migration 0005),
  an ending keeps them, and the due is judged from the event on (seed 003 L51: 双清区 employee
  insurance lapse, cover from the lapse).
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.enrollment import store as enrollment_store
from services.enrollment import usecases as enrollment
from services.subsidy import store as subsidy_store
from services.subsidy import usecases as subsidy
from shared.access import Caller
from shared.db import create_pool
from shared.messages import EnrollmentEnded, EnrollmentRegistered
from shared.metrics import REGISTRATIONS
from shared.migrate import ServiceSchema
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

SQ = "430502"
NOW = datetime(2025, 3, 5, 2, tzinfo=UTC)   # 10:00 on 2025-03-05 in China
OFFICE = Caller(SQ, "agency", "双清区医保中心")


@pytest.fixture
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    """A fresh database with enrollment's and subsidy's schemas; the pool sees enrollment first."""
    async with fresh_database(servers, "evt", ServiceSchema("enrollment", "enrollment"),
                              ServiceSchema("subsidy", "subsidy")) as dsn:
        opened = await create_pool(dsn, "enrollment", max_size=2)
        try:
            yield opened
        finally:
            await opened.close()


def refused_count(code: str) -> float:
    return REGISTRATIONS.labels(SQ, "refused", code)._value.get()


async def test_a_refusal_is_kept_and_counted_with_its_commit_and_shows_in_the_record(pool):
    stranger = resident_id(SQ)
    asked = enrollment.Application(person_id=stranger, year=2025, registered_on=date(2024, 11, 5))
    before = refused_count("place_unknown")

    with pytest.raises(RuntimeError, match="rolled back"):
        async with unit_of_work(pool, schema="enrollment", topic_prefix="", now=NOW) as uow:
            await enrollment.register(uow, OFFICE, [asked])
            raise RuntimeError("rolled back")
    assert await pool.fetchval("SELECT count(*) FROM registration_refusal") == 0
    assert refused_count("place_unknown") == before

    async with unit_of_work(pool, schema="enrollment", topic_prefix="", now=NOW) as uow:
        [answer] = await enrollment.register(uow, OFFICE, [asked])
    assert answer.decision.reason_code == "place_unknown"
    assert refused_count("place_unknown") == before + 1

    async with pool.acquire() as conn:
        record = await enrollment_store.person_record(conn, stranger, SQ)
        elsewhere = await enrollment_store.person_record(conn, stranger, "340321")
    [kept] = record["refused_registrations"]
    assert (kept["year"], kept["kind"], kept["line_no"], kept["reason_code"], kept["reasons"], kept["requested_by"],
            kept["registered_on"], kept["refused_at"]) == (
        2025, "general", 1, "place_unknown", list(answer.decision.reasons), "双清区医保中心", date(2024, 11, 5), NOW)
    assert elsewhere["refused_registrations"] == []      # another region's office does not see it


async def test_the_event_date_and_registration_day_are_kept_through_an_ending_and_judge_the_due(pool):
    person = resident_id(SQ)

    def registered() -> EnrollmentRegistered:
        return EnrollmentRegistered(message_id=uuid.uuid4(), occurred_at=NOW, person_id=person, region=SQ, year=2025,
                                    kind="employee_lapse", event_date=date(2025, 2, 10),
                                    registered_on=date(2025, 3, 5))

    async with unit_of_work(pool, schema="subsidy", topic_prefix="", now=NOW) as uow:
        await uow.conn.execute("SET LOCAL search_path = subsidy")
        await subsidy.record_enrollments(uow, [registered()])
        due = await subsidy_store.current_due(uow.conn, person, 2025)
        assert due is not None and due["due_fen"] == 40000
        assert any(r.startswith("待遇享受期：2025-02-10 至 2025-12-31") for r in due["reasons"])

        await subsidy.record_enrollments(uow, [EnrollmentEnded(
            message_id=uuid.uuid4(), occurred_at=NOW, person_id=person, region=SQ, year=2025, reason="death",
            ended_on=date(2025, 3, 20))])
        row = await uow.conn.fetchrow("SELECT kind, state, event_date, registered_on FROM enrollment "
                                      "WHERE person_id = $1", person)
    assert tuple(row) == ("employee_lapse", "ended", date(2025, 2, 10), date(2025, 3, 5))
